"""A create whose answer was lost: how long to look for the job it may have made before creating again.

A create that timed out, or lost its answer on the way back, may still be acted on by Vertex: seen in
production as two paid jobs with identical labels, because the lookup by labels right after the timeout
ran before Vertex had made the first job visible. :class:`CreateLookupPolicy` is the rule both paid
creates follow — the tuning launch (``operators/tuning.py``) and the batch evaluation's job
(``pipeline/batch_steps.py``): after such an *unknown outcome* they list the jobs by labels repeatedly,
for a bounded time (:func:`find_after_pauses`), and only then create or fail.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from gemini_qa_tuning.api_errors import status_code

__all__ = [
    "DEFAULT_CREATE_LOOKUP_INTERVAL_SECONDS",
    "DEFAULT_CREATE_VISIBILITY_WAIT_SECONDS",
    "CreateLookupPolicy",
    "create_outcome_unknown",
    "find_after_pauses",
]

#: How long a paid create keeps looking for the job an unanswered create may have made before it creates
#: again. Our bound, not a published Vertex figure: Google documents no delay between a create being
#: acted on and the job being listed, so the bound is three times the hook's 60 s request timeout (a
#: create Vertex still acts on has at most been in flight that long) and costs at most 3 minutes of a
#: worker slot once per failed create, against the price of a second tuning (or batch) job.
DEFAULT_CREATE_VISIBILITY_WAIT_SECONDS = 180.0
#: Seconds between two lookups by labels while waiting (12 list calls in 180 s: far below any quota).
DEFAULT_CREATE_LOOKUP_INTERVAL_SECONDS = 15.0


def create_outcome_unknown(error: BaseException) -> bool:
    """Whether a failed create may still have been acted on by Vertex (so a job may appear later).

    True for errors without an HTTP answer (timeouts, resets, refused or dropped connections) and for
    5xx answers (a proxy or front end may answer 502/503/504 for a request the backend still runs);
    false for 4xx answers such as 429 or 408, where Vertex refused the request itself.
    """
    code = status_code(error)
    return code is None or code >= 500


@dataclass(frozen=True)
class CreateLookupPolicy:
    """When to look a job up by labels after a create failed with a transient error.

    :param visibility_wait_seconds: after an unknown outcome (see :func:`create_outcome_unknown`), keep
        looking for at least this long before creating again (0: one lookup, as after a refusal).
    :param interval_seconds: pause between two lookups while waiting (> 0).
    """

    visibility_wait_seconds: float = DEFAULT_CREATE_VISIBILITY_WAIT_SECONDS
    interval_seconds: float = DEFAULT_CREATE_LOOKUP_INTERVAL_SECONDS

    def __post_init__(self) -> None:
        if not (math.isfinite(self.visibility_wait_seconds) and self.visibility_wait_seconds >= 0):
            raise ValueError(
                f"create_visibility_wait_seconds must be a number >= 0, got {self.visibility_wait_seconds!r}."
            )
        if not (math.isfinite(self.interval_seconds) and self.interval_seconds > 0):
            raise ValueError(f"create_lookup_interval_seconds must be a number > 0, got {self.interval_seconds!r}.")

    def lookup_delays(self, first_delay: float, outcome_unknown: bool) -> tuple[float, ...]:
        """Pauses before each lookup: ``first_delay`` (the backoff), then, after an unknown outcome, one
        interval after another until together they cover ``visibility_wait_seconds``."""
        delays = [first_delay]
        if outcome_unknown:
            waited = first_delay
            while waited < self.visibility_wait_seconds:
                pause = min(self.interval_seconds, self.visibility_wait_seconds - waited)
                delays.append(pause)
                waited += pause
        return tuple(delays)


T = TypeVar("T")


def find_after_pauses(
    find: Callable[[], T | None],
    delays: Sequence[float],
    *,
    sleep: Callable[[float], None],
    on_miss: Callable[[int, int, float], None] | None = None,
) -> T | None:
    """Call ``find`` after each pause in ``delays``; the first thing it finds, or ``None``.

    ``on_miss(lookup, lookups, next_pause)`` is told of every miss but the last (to log that it looks again).
    """
    for lookup, delay in enumerate(delays, start=1):
        sleep(delay)
        found = find()
        if found is not None:
            return found
        if on_miss is not None and lookup < len(delays):
            on_miss(lookup, len(delays), delays[lookup])
    return None
