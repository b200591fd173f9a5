"""Race helpers: several forked processes released at the same instant against one object."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from typing import Any

import pytest

needs_fork = pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="the race tests fork their writers"
)

# A racer is called as ``racer(uri, payload, barrier, results)``: it reads, waits at ``barrier`` until
# every racer has read, writes ``payload`` and puts ``(payload, "won" | "lost" | "error: …")`` on ``results``.
Racer = Callable[[str, str, Any, Any], None]


def race(racer: Racer, uri: str, writers: int, round_number: int) -> dict[str, str]:
    """Run ``writers`` forked racers on ``uri``; returns each payload's outcome."""
    context = multiprocessing.get_context("fork")  # children inherit the test's environment and fixtures
    barrier = context.Barrier(writers)
    results = context.Queue()
    payloads = [f"round-{round_number}-writer-{index}" for index in range(writers)]
    processes = [context.Process(target=racer, args=(uri, payload, barrier, results)) for payload in payloads]
    for process in processes:
        process.start()
    outcomes = dict(results.get(timeout=120) for _ in processes)
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0, f"racer {process.pid} exited with {process.exitcode}"
    return outcomes


def single_winner(outcomes: dict[str, str]) -> str:
    """The one payload that won; fails unless exactly one won and every other lost cleanly."""
    winners = [payload for payload, outcome in outcomes.items() if outcome == "won"]
    others = {outcome for payload, outcome in outcomes.items() if payload not in winners}
    assert len(winners) == 1 and others == {"lost"}, f"expected exactly one winner: {outcomes}"
    return winners[0]
