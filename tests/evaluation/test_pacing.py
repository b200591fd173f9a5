"""Request pacing: a known quota spaces request starts; a 429 pauses everyone and widens the spacing."""

from __future__ import annotations

import time

from gemini_qa_tuning.evaluation.pacing import RequestPacer


async def test_starts_are_spaced_to_the_quota() -> None:
    pacer = RequestPacer(requests_per_minute=1200, cap_seconds=1.0)  # one start every 50 ms
    started = time.monotonic()
    for _ in range(4):
        await pacer.wait_turn()
    assert time.monotonic() - started >= 3 * 0.05


async def test_a_429_pauses_every_worker_then_successes_narrow_the_spacing() -> None:
    pacer = RequestPacer(requests_per_minute=None, cap_seconds=1.0)
    await pacer.wait_turn()  # unpaced: no wait
    pacer.quota_exceeded(0.1)
    started = time.monotonic()
    await pacer.wait_turn()
    assert time.monotonic() - started >= 0.09
    assert pacer.interval_seconds == 0.05  # widened from nothing to 50 ms
    for _ in range(60):
        pacer.succeeded()
    assert pacer.interval_seconds == 0.0  # back to unpaced once the spacing no longer protects anything
