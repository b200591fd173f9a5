"""The headless browser the real-browser tests drive: Debian's Chromium (Playwright cannot download its
own browser offline), started offline and quiet. Shared by tests/ui and tests/reporting."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


@contextlib.contextmanager
def fresh_page(width: int = 1400, height: int = 1000, timeout_ms: float | None = None) -> Iterator[Any]:
    """A page of a fresh headless Chromium profile (nothing remembered from an earlier run)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": width, "height": height},
        )
        if timeout_ms is not None:
            context.set_default_timeout(timeout_ms)
        try:
            yield context.new_page()
        finally:
            context.close()
