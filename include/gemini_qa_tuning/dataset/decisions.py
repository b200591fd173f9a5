"""Decisions taken before a paid tuning job: skip when the data is unchanged, stop when it costs too much.

Both are pure functions; the DAG logs their reasons and acts on them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from gemini_qa_tuning.dataset.records import DatasetError

__all__ = [
    "TrainingBudgetExceededError",
    "check_training_budget",
    "decide_skip",
    "estimate_training_cost",
]


class TrainingBudgetExceededError(DatasetError):
    """The estimated cost of a tuning job is above the ``max_training_cost`` Param."""


def decide_skip(
    fingerprint: str,
    champion_fingerprint: str | None,
    tuned_fingerprints: Iterable[str],
    force_retrain: bool,
) -> tuple[bool, str]:
    """Whether to skip tuning because this exact dataset was already tuned on, and why (for the log).

    Skips when ``fingerprint`` is the one behind the current champion, or one a tuning job already
    succeeded for — unless ``force_retrain`` is set.
    """
    if not fingerprint:
        raise ValueError("decide_skip needs the dataset fingerprint of this run; got an empty value")
    if fingerprint == champion_fingerprint:
        because = f"dataset {fingerprint} is the data the current champion was tuned on"
    elif fingerprint in set(tuned_fingerprints):
        because = f"a tuning job already succeeded on dataset {fingerprint}"
    else:
        champion = champion_fingerprint or "none yet"
        return False, f"dataset {fingerprint} is new (champion's dataset: {champion}); tuning"
    if force_retrain:
        return False, f"force_retrain is set: tuning again although {because}"
    return True, f"skipping tuning: {because}; set force_retrain to tune anyway"


def estimate_training_cost(training_tokens: int, epochs: int, price_per_million_tokens: float) -> float:
    """Estimated tuning cost: training tokens × epochs × price per million tokens (in the price's currency).

    Vertex AI bills supervised tuning by the tokens in the training dataset times the number of epochs.
    """
    if training_tokens < 0:
        raise ValueError(f"training_tokens must be >= 0, not {training_tokens}")
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, not {epochs}")
    if not math.isfinite(price_per_million_tokens) or price_per_million_tokens < 0:
        raise ValueError(f"price_per_million_tokens must be a finite number >= 0, not {price_per_million_tokens}")
    return training_tokens * epochs * price_per_million_tokens / 1_000_000


def check_training_budget(
    training_tokens: int,
    epochs: int,
    price_per_million_tokens: float,
    max_training_cost: float | None,
) -> float:
    """The estimated cost; raises :class:`TrainingBudgetExceededError` when above ``max_training_cost``.

    ``max_training_cost=None`` means no budget.
    """
    cost = estimate_training_cost(training_tokens, epochs, price_per_million_tokens)
    if max_training_cost is not None and cost > max_training_cost:
        raise TrainingBudgetExceededError(
            f"Estimated tuning cost {cost:.2f} ({training_tokens:,} training tokens × {epochs} epochs × "
            f"{price_per_million_tokens} per million tokens) exceeds max_training_cost {max_training_cost:.2f}. "
            "Nothing was launched. Lower max_train_examples or epochs, or raise max_training_cost."
        )
    return cost
