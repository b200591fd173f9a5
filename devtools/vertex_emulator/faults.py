"""Per-request fault injection: requests-per-minute quota (429) and a seeded share of 503s.

The quota's window is ``quota_window_seconds`` (60 s as on Vertex; tests shorten it). The windows live
here, apart from the config: a quota change through ``POST /_emulator/quota`` keeps the calls already
admitted, as a real quota lowered mid-run would (they count against the new limit).
"""

from __future__ import annotations

import math
import random
from collections import defaultdict, deque

from devtools.vertex_emulator.config import EmulatorConfig
from devtools.vertex_emulator.errors import ApiError


class FaultInjector:
    """Decides, at a request's arrival, whether it is rejected with 429 or 503.

    The quota is a sliding ``quota_window_seconds`` window per method key that counts admitted requests.
    The 503s come from a ``random.Random(error_seed)`` sequence drawn once per in-scope request that
    passed the quota, so the same traffic after a reset (or after ``error_rate_503``/``error_seed``
    change) sees the same errors.
    """

    def __init__(self, config: EmulatorConfig):
        self._admitted: dict[str, deque[float]] = defaultdict(deque)
        self._random = random.Random(config.error_seed)

    def restart(self, config: EmulatorConfig) -> None:
        """Forget the quota windows and restart the 503 sequence from the configured seed."""
        self._admitted.clear()
        self._random = random.Random(config.error_seed)

    def check(self, method: str, config: EmulatorConfig, now: float) -> ApiError | None:
        """The error to answer for this request, or None to serve it. ``now`` is a monotonic time."""
        if not config.faults_apply_to(method):
            return None
        if config.requests_per_minute is not None:
            window = self._admitted[method]
            while window and window[0] <= now - config.quota_window_seconds:
                window.popleft()
            if len(window) >= config.requests_per_minute:
                retry_after = max(1, math.ceil(window[0] + config.quota_window_seconds - now))
                # Vertex's 429 carries no Retry-After and no RetryInfo (gemini-cli #14811, python-genai #2001):
                # clients must back off on their own. The header is a fault option.
                return ApiError(
                    429,
                    "RESOURCE_EXHAUSTED",
                    "Resource exhausted. Please try again later. Please refer to "
                    "https://cloud.google.com/vertex-ai/generative-ai/docs/error-code-429 for more details. "
                    f"(Emulator quota for {method}: {config.requests_per_minute} requests per "
                    f"{config.quota_window_seconds:g} s.)",
                    headers={"Retry-After": str(retry_after)} if config.retry_after_on_429 else None,
                )
            window.append(now)
        if config.error_rate_503 > 0 and self._random.random() < config.error_rate_503:
            return ApiError(
                503,
                "UNAVAILABLE",
                f"The service is currently unavailable (emulator fault injection for {method}, "
                f"error_rate_503={config.error_rate_503}). Retry the request.",
            )
        return None
