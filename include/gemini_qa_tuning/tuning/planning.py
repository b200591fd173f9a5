"""Decisions taken before a paid tuning job: skip what was judged, judge what was paid, stop when too costly.

The plan's key is the dataset fingerprint **and** the tuning config hash (``TuningConfig.config_hash``, the
same hash the launch labels its job with), so changing a setting that changes what is trained tunes again
without ``force_retrain``. For that key the plan is in one of three states (:class:`PlanAction`):

=====================  ====================================================  =============================
state                  when                                                  the run then
=====================  ====================================================  =============================
``skip``               a verdict is recorded (``gemini_qa_tuning.verdicts``)  evaluates and pays nothing
``evaluate_existing``  a job with the key's labels succeeded or still runs,  goes through the launch, which
                       and its model was never judged (the run that paid     reuses that job (creates none),
                       for it was killed, or its evaluation failed)          waits for it and judges it
``launch``             no such job (or only failed/cancelled ones)           creates the job, within budget
=====================  ====================================================  =============================

:func:`decide_plan_action` is that table; :func:`plan_tuning_run` adds the budget check and returns a
:class:`TuningPlan`, or raises a :class:`TuningPlanError` that no retry can fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Protocol, Self

from gemini_qa_tuning.json_types import JsonObject, read_bool, read_optional_float, read_optional_str, read_str
from gemini_qa_tuning.tuning.cost import estimate_training_cost
from gemini_qa_tuning.tuning.states import JobOutcome, rule_for_state, select_reusable_job

__all__ = [
    "JobsByLabels",
    "PaidJob",
    "PlanAction",
    "TrainingBudgetExceededError",
    "TrainingPriceUnknownError",
    "TuningPlan",
    "TuningPlanError",
    "check_training_budget",
    "decide_plan_action",
    "find_paid_job",
    "plan_tuning_run",
]


class TuningPlanError(ValueError):
    """The tuning job must not be launched as planned; the message says what to change."""


class TrainingBudgetExceededError(TuningPlanError):
    """The estimated cost of a tuning job is above the ``max_training_cost`` budget."""


class TrainingPriceUnknownError(TuningPlanError):
    """A budget is set but no price is known for the base model, so the budget cannot be checked."""


class PlanAction(StrEnum):
    """The three plan states for one dataset fingerprint + tuning config (see the module docstring)."""

    LAUNCH = "launch"
    EVALUATE_EXISTING = "evaluate_existing"
    SKIP = "skip"


@dataclass(frozen=True)
class TuningPlan:
    """What to do about tuning, why (one sentence for the log), and the estimated cost in USD.

    ``launch`` is true when the run goes through the launch task: to create a job (``action`` ``launch``)
    or to reuse the paid, not yet judged job ``job_name`` (``evaluate_existing``; the launch finds it by
    its labels and creates nothing). ``base_model``, ``tune_from`` and ``pre_tuned_model`` are what the
    launch tunes (the run's base model, or its successor when rebasing; the champion's tuned model when
    continuing it), ``config_hash`` the key's config half. The older data-only plan leaves them empty.
    """

    launch: bool
    reason: str
    estimated_cost_usd: float | None = None
    action: PlanAction | None = None
    config_hash: str | None = None
    job_name: str | None = None
    base_model: str | None = None
    tune_from: str = "base"
    pre_tuned_model: str | None = None
    warnings: tuple[str, ...] = ()

    def to_json(self) -> JsonObject:
        return {
            "launch": self.launch,
            "reason": self.reason,
            "estimated_cost_usd": self.estimated_cost_usd,
            "action": str(self.action) if self.action is not None else None,
            "config_hash": self.config_hash,
            "job_name": self.job_name,
            "base_model": self.base_model,
            "tune_from": self.tune_from,
            "pre_tuned_model": self.pre_tuned_model,
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        where = "tuning plan"
        action = read_optional_str(data, "action", where)
        warnings = data.get("warnings") or []
        if not isinstance(warnings, list):
            raise ValueError(f"{where}: 'warnings' must be a list of sentences, got {warnings!r}")
        try:
            parsed_action = PlanAction(action) if action is not None else None
        except ValueError:
            raise ValueError(
                f"{where}: 'action' {action!r} is not one of {[str(item) for item in PlanAction]}"
            ) from None
        return cls(
            launch=read_bool(data, "launch", where),
            reason=read_str(data, "reason", where),
            estimated_cost_usd=read_optional_float(data, "estimated_cost_usd", where),
            action=parsed_action,
            config_hash=read_optional_str(data, "config_hash", where),
            job_name=read_optional_str(data, "job_name", where),
            base_model=read_optional_str(data, "base_model", where),
            tune_from=read_optional_str(data, "tune_from", where) or "base",
            pre_tuned_model=read_optional_str(data, "pre_tuned_model", where),
            warnings=tuple(str(warning) for warning in warnings),
        )


@dataclass(frozen=True)
class PaidJob:
    """A job of this pipeline with the plan's identity labels that produced, or is producing, a model."""

    job_name: str
    state: str
    succeeded: bool


def find_paid_job(hook: JobsByLabels, identity_labels: Mapping[str, str]) -> PaidJob | None:
    """The job the launch would reuse for these identity labels (succeeded before live, newest first).

    Failed, cancelled and expired jobs do not count: their model does not exist, the launch creates a new
    job. The rule is the launch's own (:func:`~gemini_qa_tuning.tuning.states.select_reusable_job`), so the
    plan never says "evaluate the existing job" when the launch would create one.
    """
    job = select_reusable_job(list(hook.list_tuning_jobs_by_labels(identity_labels)))
    if job is None or not getattr(job, "name", None):
        return None
    rule = rule_for_state(job.state)
    return PaidJob(job_name=str(job.name), state=rule.state, succeeded=rule.outcome is JobOutcome.SUCCEEDED)


def decide_plan_action(
    *,
    fingerprint: str,
    config_hash: str,
    judged: str | None,
    paid_job: PaidJob | None,
    force_retrain: bool,
) -> tuple[PlanAction, str]:
    """The plan state for this data + config, and why (one sentence for the log).

    :param judged: how the model of this key was judged (e.g. ``Verdict.describe()``), ``None`` if never.
    :param paid_job: the job with this key's labels the launch would reuse (:func:`find_paid_job`).
    :param force_retrain: judge again although judged; the launch still reuses a job with the same labels,
        so a model is trained anew only when no such job exists (change a setting to train anew).
    """
    if not fingerprint or not config_hash:
        raise ValueError(
            "decide_plan_action needs the run's dataset fingerprint and tuning config hash; got "
            f"{fingerprint!r} and {config_hash!r}"
        )
    key = f"dataset {fingerprint} with tuning config {config_hash}"
    if judged is not None and not force_retrain:
        return (
            PlanAction.SKIP,
            f"skipping tuning: {key} was tuned and judged already ({judged}); set force_retrain to judge it again",
        )
    if paid_job is not None:
        waiting = "" if paid_job.succeeded else f" (still {paid_job.state}: waiting for it)"
        history = (
            f"force_retrain is set: {key} was judged already ({judged}), judging it again"
            if judged is not None
            else f"{key} was tuned and never judged"
        )
        return PlanAction.EVALUATE_EXISTING, (
            f"{history}: evaluating the model of job {paid_job.job_name}{waiting}; no new tuning job is paid for"
        )
    if judged is not None:
        return (
            PlanAction.LAUNCH,
            f"force_retrain is set: {key} was judged ({judged}) but no job of it is left; tuning again",
        )
    return PlanAction.LAUNCH, f"{key} was never tuned by this pipeline; tuning"


def plan_tuning_run(
    *,
    action: PlanAction,
    reason: str,
    config_hash: str,
    paid_job: PaidJob | None,
    training_tokens: int,
    epochs: int,
    price: float | None,
    budget: float | None,
    base_model: str,
    tune_from: str = "base",
    pre_tuned_model: str | None = None,
    warnings: tuple[str, ...] = (),
) -> TuningPlan:
    """The plan for ``action``; only a launch is checked against ``budget`` (a paid job costs nothing more).

    :raises TrainingBudgetExceededError: a launch's estimate is above ``budget``.
    :raises TrainingPriceUnknownError: a launch with a budget but no known ``price``.
    """
    plan = TuningPlan(
        launch=action is not PlanAction.SKIP,
        reason=reason,
        action=action,
        config_hash=config_hash,
        base_model=base_model,
        tune_from=tune_from,
        pre_tuned_model=pre_tuned_model,
        warnings=warnings,
    )
    if action is PlanAction.SKIP:
        return plan
    if action is PlanAction.EVALUATE_EXISTING:
        if paid_job is None:
            raise ValueError("plan_tuning_run: the evaluate_existing plan needs the paid job to evaluate")
        return replace(plan, job_name=paid_job.job_name)
    return replace(plan, estimated_cost_usd=_launch_cost(training_tokens, epochs, price, budget, base_model))


def _launch_cost(
    training_tokens: int, epochs: int, price: float | None, budget: float | None, base_model: str | None
) -> float | None:
    if price is None:
        if budget is not None:
            model = f"base model {base_model!r}" if base_model else "the base model"
            raise TrainingPriceUnknownError(
                f"No list price is known for {model}, so the max_training_cost budget cannot be checked. "
                "Set the price per million training tokens (the price_per_million_training_tokens Param), or "
                "add the model's price to a model catalog file given by the model_catalog_uri Param."
            )
        return None  # the caller warns
    return round(check_training_budget(training_tokens, epochs, price, budget), 4)


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


class JobsByLabels(Protocol):
    """What :func:`find_paid_job` needs of a hook (``GenAIVertexHook`` has it)."""

    def list_tuning_jobs_by_labels(self, labels: Mapping[str, str]) -> Iterable[Any]: ...
