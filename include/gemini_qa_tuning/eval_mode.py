"""How an evaluation asks its model: online (one request per question) or batch (one Vertex batch job).

Kept apart from :mod:`gemini_qa_tuning.evaluation` (which imports the SDK and the runner) because the
pipeline's Params check these values when the DAG file is parsed.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["DEFAULT_BATCH_MIN_QUESTIONS", "EVAL_MODES", "choose_eval_mode"]

EVAL_MODES: tuple[str, ...] = ("online", "batch", "auto")
#: ``auto`` evaluates in batch from this many test questions on: below it, a batch job's start-up
#: (minutes to hours on Vertex) costs more time than half the price of a few hundred answers saves.
DEFAULT_BATCH_MIN_QUESTIONS = 1000


def choose_eval_mode(mode: str, questions: int, batch_min_questions: int) -> Literal["online", "batch"]:
    """The mode an evaluation of ``questions`` questions runs in: ``auto`` is batch at ``batch_min_questions``
    or more, online below."""
    if mode not in EVAL_MODES:
        raise ValueError(f"eval_mode must be one of {', '.join(EVAL_MODES)}, got {mode!r}.")
    if mode == "auto":
        return "batch" if questions >= batch_min_questions else "online"
    return "batch" if mode == "batch" else "online"
