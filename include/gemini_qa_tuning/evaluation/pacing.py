"""Request pacing: the workers' shared gate, applying :class:`~.adaptive_limit.AdaptiveRateLimit`.

Every attempt of every worker passes :meth:`RequestPacer.acquire` (a slot among the requests allowed in
flight, and its turn at the allowed rate) and reports how it went with :meth:`RequestPacer.release`. A
429 slows everyone down (the controller's multiplicative decrease); a ``Retry-After`` or ``RetryInfo``
from the server, when there is one, pauses every worker until then. No quota needs to be known; a known
one (``requests_per_minute``) is a ceiling the controller never exceeds.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from typing import Literal

from gemini_qa_tuning.evaluation.adaptive_limit import AdaptiveRateLimit, RateLimitSettings

__all__ = ["AttemptOutcome", "RequestPacer"]

#: How an attempt ended, for the controller: answered, rejected by the quota (429), anything else.
AttemptOutcome = Literal["ok", "quota", "other"]


class RequestPacer:
    """Spaces request starts at the controller's rate and keeps in-flight requests within its concurrency."""

    def __init__(
        self,
        max_concurrency: int,
        requests_per_minute: int | None = None,
        *,
        limit_settings: RateLimitSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        settings = limit_settings or RateLimitSettings()
        settings = dataclasses.replace(
            settings,
            max_concurrency=max_concurrency,
            max_rate=requests_per_minute / 60.0 if requests_per_minute else settings.max_rate,
        )
        if settings.max_rate is not None:  # a quota the user knows: start there, 429s still lower it
            settings = dataclasses.replace(
                settings, initial_rate=settings.max_rate, min_rate=min(settings.min_rate, settings.max_rate)
            )
        self._clock = clock
        self.limit = AdaptiveRateLimit(settings, clock())
        self._next_start = 0.0
        self._resume_at = 0.0
        self._in_flight = 0
        self._turn = asyncio.Lock()
        self._slot_freed = asyncio.Condition()

    @property
    def interval_seconds(self) -> float:
        """The current spacing between request starts."""
        return self.limit.interval()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def acquire(self) -> None:
        """Return when this worker may start a request: a slot is free and it is its turn."""
        async with self._slot_freed:
            await self._slot_freed.wait_for(lambda: self._in_flight < self.limit.concurrency())
            self._in_flight += 1
        try:
            async with self._turn:
                while True:
                    now = self._clock()
                    start = max(self._next_start, self._resume_at)
                    if start <= now:
                        break
                    await asyncio.sleep(start - now)
                # From the scheduled start, so that a late wake-up is made up for (a loaded event loop
                # otherwise loses its sleep overshoot on every request); after an idle gap longer than
                # an interval, from now: the gap is not saved up as a burst.
                interval = self.limit.interval()
                self._next_start = (start if now - start < interval else now) + interval
        except BaseException:
            await self._free_slot()
            raise

    async def release(
        self, outcome: AttemptOutcome, latency_seconds: float = 0.0, retry_after_seconds: float | None = None
    ) -> None:
        """The attempt that :meth:`acquire` admitted is over; ``retry_after_seconds`` pauses everyone."""
        now = self._clock()
        if outcome == "ok":
            self.limit.on_success(now, latency_seconds)
        elif outcome == "quota":
            self.limit.on_rejected(now)
        if retry_after_seconds is not None and retry_after_seconds > 0:
            self._resume_at = max(self._resume_at, now + retry_after_seconds)
        await self._free_slot()

    async def _free_slot(self) -> None:
        async with self._slot_freed:
            self._in_flight -= 1
            self._slot_freed.notify_all()
