"""Request pacing: spaces request starts to a known quota and backs the whole pool off after a 429.

What changes this module: how the runner shares a per-minute quota between its workers (issue 13's
adaptive rate for an unknown quota belongs here).
"""

from __future__ import annotations

import asyncio
import time

__all__ = ["RequestPacer"]


class RequestPacer:
    """Spaces request starts: a fixed interval for a known quota, widened for a while after each 429.

    After a 429 every worker waits for the server's Retry-After, then requests restart one at a time
    with a spacing that doubles on each 429 and shrinks by 5 % per success, so a saturated quota sees
    a trickle rather than the whole pool at once.
    """

    def __init__(self, requests_per_minute: int | None, cap_seconds: float) -> None:
        self._base_interval = 60.0 / requests_per_minute if requests_per_minute else 0.0
        self._interval = self._base_interval
        self._cap = max(cap_seconds, self._base_interval)
        self._next_start = 0.0
        self._resume_at = 0.0
        self._lock = asyncio.Lock()

    @property
    def interval_seconds(self) -> float:
        """The current spacing between request starts (0 when unpaced and no 429 was seen lately)."""
        return self._interval

    async def wait_turn(self) -> None:
        """Return when this worker may start its next request."""
        async with self._lock:
            while True:
                now = time.monotonic()
                start = max(self._next_start, self._resume_at)
                if start <= now:
                    break
                await asyncio.sleep(start - now)
            self._next_start = now + self._interval

    def quota_exceeded(self, wait_seconds: float) -> None:
        """A 429 arrived: pause every worker for ``wait_seconds`` and widen the spacing."""
        now = time.monotonic()
        if now >= self._resume_at:
            # Widen once per pause: the other 429s of the same burst were already in flight. Without a
            # known quota the interval is 0, so doubling starts from 50 ms.
            self._interval = min(max(self._interval * 2.0, self._base_interval, 0.05), self._cap)
        self._resume_at = max(self._resume_at, now + wait_seconds)

    def succeeded(self) -> None:
        """A request was answered: narrow a widened spacing back towards the quota's."""
        if self._interval > self._base_interval:
            self._interval = max(self._base_interval, self._interval * 0.95)
            if self._interval < 0.01:  # a 10 ms spacing no longer protects anything: back to the base
                self._interval = self._base_interval
