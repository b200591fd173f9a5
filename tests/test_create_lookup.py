"""The lookup rule after a failed create (create_lookup): how long to look before paying twice."""

from __future__ import annotations

import pytest

from gemini_qa_tuning.create_lookup import (
    DEFAULT_CREATE_VISIBILITY_WAIT_SECONDS,
    CreateLookupPolicy,
    create_outcome_unknown,
    find_after_pauses,
)


class FakeApiError(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(f"HTTP {code}")
        self.code = code


@pytest.mark.parametrize(
    ("error", "unknown"),
    [
        (TimeoutError("timed out"), True),  # no answer: Vertex may have acted on it
        (ConnectionResetError("reset"), True),
        (FakeApiError(503), True),  # a front end may answer 503 for a request the backend runs
        (FakeApiError(504), True),
        (FakeApiError(429), False),  # Vertex refused it itself
        (FakeApiError(408), False),
    ],
)
def test_which_failures_leave_the_create_outcome_unknown(error: BaseException, unknown: bool) -> None:
    assert create_outcome_unknown(error) is unknown


def test_after_an_unknown_outcome_the_lookups_cover_the_visibility_wait() -> None:
    policy = CreateLookupPolicy(visibility_wait_seconds=40.0, interval_seconds=15.0)
    assert policy.lookup_delays(3.0, outcome_unknown=True) == (3.0, 15.0, 15.0, 7.0)
    assert sum(policy.lookup_delays(3.0, outcome_unknown=True)) == 40.0
    assert policy.lookup_delays(3.0, outcome_unknown=False) == (3.0,)  # a refusal: one lookup, as before
    assert policy.lookup_delays(50.0, outcome_unknown=True) == (50.0,)  # the backoff alone already covers it


def test_default_bound_is_three_minutes_of_lookups_every_15_seconds() -> None:
    delays = CreateLookupPolicy().lookup_delays(2.0, outcome_unknown=True)
    assert DEFAULT_CREATE_VISIBILITY_WAIT_SECONDS == 180.0 and sum(delays) == 180.0
    assert len(delays) == 13 and max(delays) == 15.0


@pytest.mark.parametrize(
    ("wait", "interval", "message"),
    [(-1.0, 15.0, "create_visibility_wait_seconds must be a number >= 0"),
     (10.0, 0.0, "create_lookup_interval_seconds must be a number > 0"),
     (float("nan"), 1.0, "create_visibility_wait_seconds")],
)  # fmt: skip
def test_bad_bounds_are_refused(wait: float, interval: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CreateLookupPolicy(visibility_wait_seconds=wait, interval_seconds=interval)


def test_the_lookups_stop_at_the_first_find_and_report_each_miss_but_the_last() -> None:
    slept: list[float] = []
    misses: list[tuple[int, int, float]] = []
    answers = iter([None, None, "job-1", "job-2"])

    def on_miss(lookup: int, lookups: int, pause: float) -> None:
        misses.append((lookup, lookups, pause))

    found = find_after_pauses(lambda: next(answers), (1.0, 2.0, 3.0, 4.0), sleep=slept.append, on_miss=on_miss)

    assert found == "job-1" and slept == [1.0, 2.0, 3.0]
    assert misses == [(1, 4, 2.0), (2, 4, 3.0)]
    nothing = find_after_pauses(lambda: None, (1.0, 2.0), sleep=slept.append, on_miss=on_miss)
    assert nothing is None and misses[-1] == (1, 2, 2.0)  # no "looking again" after the last lookup
