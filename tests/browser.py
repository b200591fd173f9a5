"""The headless browser the real-browser tests drive: Debian's Chromium (Playwright cannot download its
own browser offline), started offline and quiet. Shared by tests/ui and tests/reporting."""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Offline and quiet: no GPU, no QUIC, no first-run, update, sync or background traffic to Google.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    """Fail (not skip) with what to run when the browser is missing."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's browser with `apt-get update && apt-get install -y "
            "chromium` (`.ci/run` and `make test` do it when they run as root)",
            pytrace=False,
        )
