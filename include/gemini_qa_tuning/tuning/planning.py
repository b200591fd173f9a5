"""Decisions taken before a paid tuning job: skip when the data was tuned on already, stop when too costly.

:func:`plan_tuning` is the one entry point: it returns a :class:`TuningPlan` (launch or not, why, at what
estimated cost) or raises a :class:`TuningPlanError` that no retry can fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, Self

from gemini_qa_tuning.json_types import JsonObject, read_bool, read_optional_float, read_str
from gemini_qa_tuning.tuning.cost import estimate_training_cost
from gemini_qa_tuning.tuning.resources import (
    DATASET_LABEL_KEY,
    MANAGED_BY_LABEL_KEY,
    MANAGED_BY_LABEL_VALUE,
    PIPELINE_ID_HINT,
    PIPELINE_LABEL_KEY,
    identity_label_value,
)
from gemini_qa_tuning.tuning.states import JobOutcome, JobSnapshot, judge_job

__all__ = [
    "JobsByLabels",
    "TrainingBudgetExceededError",
    "TrainingPriceUnknownError",
    "TuningPlan",
    "TuningPlanError",
    "check_training_budget",
    "decide_skip",
    "plan_tuning",
    "succeeded_dataset_fingerprints",
]


class TuningPlanError(ValueError):
    """The tuning job must not be launched as planned; the message says what to change."""


class TrainingBudgetExceededError(TuningPlanError):
    """The estimated cost of a tuning job is above the ``max_training_cost`` budget."""


class TrainingPriceUnknownError(TuningPlanError):
    """A budget is set but no price is known for the base model, so the budget cannot be checked."""


@dataclass(frozen=True)
class TuningPlan:
    """Whether to launch a tuning job, why (one sentence for the log), and its estimated cost in USD."""

    launch: bool
    reason: str
    estimated_cost_usd: float | None = None

    def to_json(self) -> JsonObject:
        return {"launch": self.launch, "reason": self.reason, "estimated_cost_usd": self.estimated_cost_usd}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        where = "tuning plan"
        return cls(
            launch=read_bool(data, "launch", where),
            reason=read_str(data, "reason", where),
            estimated_cost_usd=read_optional_float(data, "estimated_cost_usd", where),
        )


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


def plan_tuning(
    fingerprint: str,
    champion_fingerprint: str | None,
    succeeded: Iterable[str],
    force_retrain: bool,
    training_tokens: int,
    epochs: int,
    price: float | None,
    budget: float | None,
    *,
    base_model: str | None = None,
) -> TuningPlan:
    """Skip, or launch at an estimated cost within ``budget``.

    :param fingerprint: the exported dataset's fingerprint.
    :param champion_fingerprint: the dataset behind the current champion, if any.
    :param succeeded: fingerprints a tuning job of this pipeline already produced a model for
        (:func:`succeeded_dataset_fingerprints`).
    :param force_retrain: tune even when the data was tuned on already.
    :param training_tokens: tokens in the training data (one epoch).
    :param epochs: passes over the training data.
    :param price: USD per million training tokens (``resolve_price``); ``None`` when unknown.
    :param budget: the most the job may cost (USD); ``None`` for no budget.
    :param base_model: named in the error when no price is known.
    :raises TrainingBudgetExceededError: the estimate is above ``budget``.
    :raises TrainingPriceUnknownError: a budget is set but ``price`` is unknown.
    """
    skip, reason = decide_skip(fingerprint, champion_fingerprint, succeeded, force_retrain)
    if skip:
        return TuningPlan(launch=False, reason=reason)
    if price is None:
        if budget is not None:
            model = f"base model {base_model!r}" if base_model else "the base model"
            raise TrainingPriceUnknownError(
                f"No list price is known for {model}, so the max_training_cost budget cannot be checked. "
                "Set the price per million training tokens (the price_per_million_training_tokens Param), or "
                "add the model's price to a model catalog file given by the model_catalog_uri Param."
            )
        return TuningPlan(launch=True, reason=reason)  # estimated_cost_usd None: the caller warns
    cost = check_training_budget(training_tokens, epochs, price, budget)
    return TuningPlan(launch=True, reason=reason, estimated_cost_usd=round(cost, 4))


class JobsByLabels(Protocol):
    """What :func:`succeeded_dataset_fingerprints` needs of a hook (``GenAIVertexHook`` has it)."""

    def list_tuning_jobs_by_labels(self, labels: Mapping[str, str]) -> Iterable[Any]: ...


def succeeded_dataset_fingerprints(hook: JobsByLabels, dataset_fingerprint: str, *, pipeline_id: str) -> set[str]:
    """``{dataset_fingerprint}`` when a job of this pipeline has produced a model on that data, else empty.

    Jobs of any tuning config count: the question is "did this pipeline tune on this data already", for
    the skip decision of :func:`plan_tuning`. Jobs of other pipelines (other DAGs or teams in the same
    project) do not count.
    """
    labels = {
        DATASET_LABEL_KEY: identity_label_value(
            "dataset_fingerprint", dataset_fingerprint, "pass the export's fingerprint of the training data"
        ),
        PIPELINE_LABEL_KEY: identity_label_value("pipeline_id", pipeline_id, PIPELINE_ID_HINT),
        MANAGED_BY_LABEL_KEY: MANAGED_BY_LABEL_VALUE,
    }
    for job in hook.list_tuning_jobs_by_labels(labels):
        if judge_job(JobSnapshot.from_sdk(job)).outcome is JobOutcome.SUCCEEDED:
            return {dataset_fingerprint}
    return set()
