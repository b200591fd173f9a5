"""How fast to ask when nobody says how fast one may: a request-rate controller fed by the 429s it sees.

Vertex AI quotas are per minute and project; users rarely know theirs (shared dynamic quota, per-model
limits), and a 429 from Vertex normally carries no ``Retry-After``. :class:`AdaptiveRateLimit` finds the
rate from the answers alone:

* **probe**: until the first 429 nothing but ``max_concurrency`` limits the requests (the quota may be
  far above what the pool can send); the first 429 sets the rate to ``decrease_factor`` times the rate
  answered over the last ``probe_seconds`` (at least ``initial_rate``). From then on the rate grows additively by
  ``increase_share`` of itself (at least ``min_increase_per_second``) per second of 429-free traffic;
* **back off**: a 429 multiplies the rate by ``decrease_factor``, at most once per ``decrease_holdoff_seconds``
  (the other 429s of that burst were already in flight when the first came back);
* **never below what the quota admitted**: the rate never drops below the admitted requests of the last
  quota period (``quota_period_seconds``, 60 s on Vertex) divided by that period. That count can never
  exceed the quota, so the floor never overshoots it, and it keeps a saturated quota saturated: without
  it, a window that is full for a while (every request rejected, the quota admits nothing) would collapse
  the rate far below the quota, and the next window would be wasted;
* **no growth beyond use**: the rate does not grow past twice what ``max_concurrency`` requests in
  flight can carry at the latency seen, so an idle allowance never turns into a burst;
* **concurrency follows the rate** (Little's law): requests in flight are limited to what the allowed
  rate needs at the latency seen (``rate x latency``, with headroom), between 1 and ``max_concurrency``.

The class is pure: every method takes the current time, nothing sleeps or reads a clock, so the unit tests
drive it with a simulated quota. :class:`~gemini_qa_tuning.evaluation.pacing.RequestPacer` applies it.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

__all__ = ["AdaptiveRateLimit", "RateLimitSettings"]


@dataclass(frozen=True)
class RateLimitSettings:
    """Tuning of :class:`AdaptiveRateLimit`. ``max_rate`` (requests/s) is a known ceiling (a quota the user
    does know, the Param ``eval_requests_per_minute``); ``None``: only the 429s limit the rate."""

    max_concurrency: int = 8
    max_rate: float | None = None
    initial_rate: float = 2.0  # the rate reported before the first 429 (the pacer then spaces nothing)
    min_rate: float = 1.0 / 60.0  # one request per minute: the smallest quota worth running against
    probe_seconds: float = 1.0
    increase_share: float = 0.05
    min_increase_per_second: float = 0.05
    decrease_factor: float = 0.8
    decrease_holdoff_seconds: float = 1.0
    quota_period_seconds: float = 60.0
    concurrency_headroom: float = 1.5

    def __post_init__(self) -> None:
        problems = []
        if self.max_concurrency < 1:
            problems.append(f"max_concurrency must be >= 1 (got {self.max_concurrency})")
        if self.max_rate is not None and self.max_rate <= 0:
            problems.append(f"max_rate must be > 0 or None (got {self.max_rate})")
        if not 0 < self.min_rate <= self.initial_rate:
            problems.append(f"need 0 < min_rate <= initial_rate (got {self.min_rate}, {self.initial_rate})")
        if not 0 < self.decrease_factor < 1:
            problems.append(f"decrease_factor must lie in (0, 1) (got {self.decrease_factor})")
        if self.probe_seconds <= 0 or self.quota_period_seconds <= 0 or self.decrease_holdoff_seconds < 0:
            problems.append("probe_seconds and quota_period_seconds must be > 0, decrease_holdoff_seconds >= 0")
        if self.increase_share < 0 or self.min_increase_per_second < 0 or self.concurrency_headroom < 1:
            problems.append("increase_share and min_increase_per_second must be >= 0, concurrency_headroom >= 1")
        if problems:
            raise ValueError("Invalid RateLimitSettings: " + "; ".join(problems))


class AdaptiveRateLimit:
    """The allowed request rate and concurrency, adjusted by each answer's outcome (see the module doc)."""

    def __init__(self, settings: RateLimitSettings, now: float) -> None:
        self.settings = settings
        self._rate = self._clamp(settings.initial_rate)
        self._probing = True  # slow start until the first 429
        self._last_change = now
        self._last_decrease = -math.inf
        self._admitted: deque[float] = deque()
        self._latency: float | None = None
        self.rejections = 0
        self.decreases = 0

    # ----------------------------------------------------------------- what the pacer asks
    @property
    def rate(self) -> float:
        """Allowed request starts per second."""
        return self._rate

    @property
    def probing(self) -> bool:
        """No 429 seen yet: only the concurrency cap (and a known ``max_rate``) limits the requests."""
        return self._probing

    def interval(self) -> float:
        """Seconds between two request starts at the allowed rate (none before the first 429, unless a
        known ceiling ``max_rate`` spaces them)."""
        if self._probing:
            return 1.0 / self.settings.max_rate if self.settings.max_rate is not None else 0.0
        return 1.0 / self._rate

    def concurrency(self) -> int:
        """Requests allowed in flight: enough for the allowed rate at the latency seen, within the cap."""
        cap = self.settings.max_concurrency
        if self._latency is None or self._probing:
            return cap
        needed = math.ceil(self._rate * self._latency * self.settings.concurrency_headroom) + 1
        return max(1, min(cap, needed))

    def admitted_floor(self, now: float) -> float:
        """Requests/s the quota demonstrably admitted over the last quota period (never above the quota)."""
        self._forget_before(now - self.settings.quota_period_seconds)
        return len(self._admitted) / self.settings.quota_period_seconds

    # ----------------------------------------------------------------- what the answers say
    def on_success(self, now: float, latency_seconds: float) -> None:
        """A request was answered (the quota admitted it)."""
        self._admitted.append(now)
        self._latency = latency_seconds if self._latency is None else 0.8 * self._latency + 0.2 * latency_seconds
        elapsed = now - self._last_change
        if elapsed <= 0:
            return
        # Growing past what the concurrency cap can carry at this latency would only store up a burst.
        usable = 2.0 * self.settings.max_concurrency / max(self._latency, 1e-3)
        if self._rate >= usable:
            self._last_change = now
            return
        if self._probing:
            return
        step = max(self.settings.min_increase_per_second, self.settings.increase_share * self._rate) * elapsed
        self._set_rate(min(self._rate + step, usable), now)

    def on_rejected(self, now: float) -> None:
        """A 429: the quota is exhausted at the current rate."""
        self.rejections += 1
        if self._probing:
            self._probing = False
            recent = sum(1 for admitted in self._admitted if admitted > now - self.settings.probe_seconds)
            # a 429 before any answer (a quota used up by someone else) starts from initial_rate
            self._rate = self._clamp(max(recent / self.settings.probe_seconds, self.settings.initial_rate))
        if now - self._last_decrease < self.settings.decrease_holdoff_seconds:
            self._last_change = now  # no growth while a burst of 429s comes back
            return
        self._last_decrease = now
        self.decreases += 1
        self._set_rate(max(self._rate * self.settings.decrease_factor, self.admitted_floor(now)), now)

    # ----------------------------------------------------------------- internals
    def _set_rate(self, rate: float, now: float) -> None:
        self._rate = self._clamp(rate)
        self._last_change = now

    def _clamp(self, rate: float) -> float:
        ceiling = self.settings.max_rate if self.settings.max_rate is not None else math.inf
        return min(max(rate, self.settings.min_rate), ceiling)

    def _forget_before(self, cutoff: float) -> None:
        while self._admitted and self._admitted[0] <= cutoff:
            self._admitted.popleft()
