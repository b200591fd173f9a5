"""Request pacing: starts spaced at the controller's rate, in-flight requests within its concurrency,
a server's Retry-After pausing everyone."""

from __future__ import annotations

import asyncio
import time

from gemini_qa_tuning.evaluation.pacing import RequestPacer


async def test_starts_are_spaced_to_a_known_quota() -> None:
    pacer = RequestPacer(max_concurrency=8, requests_per_minute=1200)  # one start every 50 ms
    started = time.monotonic()
    for _ in range(4):
        await pacer.acquire()
        await pacer.release("ok", 0.01)
    assert time.monotonic() - started >= 3 * 0.05


async def test_a_429_lowers_the_rate_and_a_retry_after_pauses_every_worker() -> None:
    pacer = RequestPacer(max_concurrency=4)
    await pacer.acquire()
    before = pacer.limit.rate
    await pacer.release("quota", 0.01, retry_after_seconds=0.2)
    assert pacer.limit.rate < before
    started = time.monotonic()
    await pacer.acquire()
    assert time.monotonic() - started >= 0.19
    await pacer.release("ok", 0.01)


async def test_in_flight_requests_stay_within_the_concurrency() -> None:
    pacer = RequestPacer(max_concurrency=2, requests_per_minute=60_000)
    await pacer.acquire()
    await pacer.acquire()
    third = asyncio.create_task(pacer.acquire())
    await asyncio.sleep(0.05)
    assert not third.done() and pacer.in_flight == 2
    await pacer.release("ok", 0.01)
    await asyncio.wait_for(third, 1.0)
    assert pacer.in_flight == 2
