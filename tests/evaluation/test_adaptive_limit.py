"""The rate controller against a simulated sliding-window quota it is not told (no clock, no sleeping)."""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass

import pytest

from gemini_qa_tuning.evaluation.adaptive_limit import AdaptiveRateLimit, RateLimitSettings


@dataclass
class Outcome:
    seconds: float
    rejected: int
    limit: AdaptiveRateLimit


def simulate(
    quota: int, window: float, latency: float, questions: int, cap: int = 8, halve_at: float | None = None
) -> Outcome:
    """Workers paced by the controller against a server admitting ``quota`` requests per sliding ``window``;
    a rejected question is asked again (as the runner does). 429s come back after 20 ms."""
    limit = AdaptiveRateLimit(RateLimitSettings(max_concurrency=cap, quota_period_seconds=window), 0.0)
    admitted: deque[float] = deque()
    in_flight: list[tuple[float, bool]] = []
    now = next_start = 0.0
    current_quota, done, rejected, unasked = quota, 0, 0, questions
    while done < questions:
        if halve_at is not None and now >= halve_at:
            current_quota = quota // 2
        while in_flight and in_flight[0][0] <= now:
            finished, ok = heapq.heappop(in_flight)
            if ok:
                limit.on_success(finished, latency)
                done += 1
            else:
                limit.on_rejected(finished)
                rejected += 1
                unasked += 1
        if done >= questions:
            break
        if unasked and len(in_flight) < limit.concurrency() and now >= next_start:
            next_start = now + limit.interval()
            unasked -= 1
            while admitted and admitted[0] <= now - window:
                admitted.popleft()
            if len(admitted) < current_quota:
                admitted.append(now)
                heapq.heappush(in_flight, (now + latency, True))
            else:
                heapq.heappush(in_flight, (now + 0.02, False))
            continue
        candidates = [in_flight[0][0]] if in_flight else []
        if unasked:
            candidates.append(max(next_start, now + 1e-3))
        now = max(now + 1e-6, min(candidates))
    return Outcome(now, rejected, limit)


@pytest.mark.parametrize(("quota", "window", "questions"), [(600, 60.0, 2000), (30, 3.0, 300), (60, 6.0, 300)])
def test_reaches_nine_tenths_of_a_quota_it_was_not_told(quota: int, window: float, questions: int) -> None:
    outcome = simulate(quota, window, latency=0.2, questions=questions)
    ideal_seconds = questions / (quota / window)
    assert ideal_seconds / outcome.seconds >= 0.9
    assert outcome.rejected < questions  # it finds the rate; it does not hammer the quota


def test_a_quota_halved_midway_is_followed_down() -> None:
    steady = simulate(600, 60.0, latency=0.2, questions=2000)
    halved = simulate(600, 60.0, latency=0.2, questions=2000, halve_at=steady.seconds / 2)
    assert halved.seconds > steady.seconds  # every question still answered, at the lower rate
    assert halved.limit.rate < steady.limit.rate


def test_only_the_cap_limits_until_the_first_429_then_it_backs_off_multiplicatively() -> None:
    limit = AdaptiveRateLimit(RateLimitSettings(max_concurrency=6, decrease_factor=0.5), 0.0)
    for index in range(40):  # 20 answers/s over the last second
        limit.on_success(1.0 + index * 0.05, 0.1)
    assert limit.probing and limit.interval() == 0.0 and limit.concurrency() == 6
    limit.on_rejected(2.99)
    assert limit.rate == pytest.approx(10.0) and not limit.probing  # half the 20/s answered before
    limit.on_rejected(3.49)  # same burst (within the hold-off): no second decrease
    assert limit.rate == pytest.approx(10.0) and limit.decreases == 1
    limit.on_success(4.99, 0.1)  # then additive: +max(0.05, 5 % of 10) per second
    assert limit.rate == pytest.approx(10.0 + 0.5 * 1.5)  # growth counts from the last 429
    assert limit.concurrency() == 3  # ceil(10.75/s x 0.1 s x 1.5) + 1


def test_the_rate_never_drops_below_what_the_quota_admitted_over_its_period() -> None:
    limit = AdaptiveRateLimit(RateLimitSettings(quota_period_seconds=10.0), 0.0)
    for index in range(50):  # 50 admitted in the period: 5 per second is demonstrably allowed
        limit.on_success(index * 0.1, 0.1)
    for second in range(6, 30):
        limit.on_rejected(float(second) / 3)
    assert limit.rate >= 5.0
    assert limit.admitted_floor(100.0) == 0.0  # old admissions expire with the period


def test_a_known_ceiling_and_the_concurrency_cap_bound_it() -> None:
    limit = AdaptiveRateLimit(RateLimitSettings(max_concurrency=8, max_rate=3.0), 0.0)
    assert limit.interval() == pytest.approx(1 / 3)  # a known quota spaces the starts from the first
    limit.on_rejected(0.5)
    for second in range(1, 200):
        limit.on_success(float(second), 0.5)
    assert limit.rate == 3.0
    assert limit.concurrency() == 4  # ceil(3 requests/s x 0.5 s x 1.5 headroom) + 1, below the cap of 8
    unbounded = AdaptiveRateLimit(RateLimitSettings(max_concurrency=2), 0.0)
    unbounded.on_rejected(0.5)
    for second in range(1, 60):
        unbounded.on_success(float(second), 0.5)
    assert unbounded.rate <= 2 * 2 / 0.5  # no growth past what two requests in flight can carry


def test_invalid_settings_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="decrease_factor must lie in"):
        RateLimitSettings(decrease_factor=1.0)
