"""The typed records that cross a task boundary or are stored as JSON, in one place.

Every record is a frozen dataclass with one ``to_json()`` / ``from_json()`` pair
(:mod:`gemini_qa_tuning.json_types`). A record whose JSON is a file's schema lives in the module that
writes that file and is re-exported here; the records that only carry results between the pipeline's
tasks are defined here.

==========================  ===============================================  ==========================
record                      what it is                                       owner
==========================  ===============================================  ==========================
``PipelineParams``          a run's Params, converted once                   ``pipeline.params``
``RefreshedDataset``        staged splits, counts, rejects                   ``dataset.results``
``ExportedDataset``         the fingerprinted dataset and its manifest       ``dataset.results``
``CurrentChampion``         the champion record and its generation           here
``TuningPlan``              launch or skip, why, estimated cost              ``tuning.planning``
``TuningJobLaunch``         the job a launch created or reused               ``tuning.launch``
``TunedModel``              a finished job's model, endpoint and cost        ``tuning.states``
``TunedCheckpoint``         one checkpoint of it, on its own endpoint        ``tuning.states``
``CheckpointSelection``     each checkpoint's validation EM/F1, the chosen   ``evaluation.checkpoint_selection``
``PredictionRun``           one model's answers and scores                   ``evaluation.runner``
``MetricsReport``           ``metrics.json`` (versioned schema)              ``evaluation.report``
``ModelComparison``         the report's headline numbers and its URI        here
``PromotionDecision``       promote or keep, with reasons                    ``promotion``
``ChampionRecord``          ``champion/champion.json``                       ``champion``
``RunSummary``              ``runs/<run id>/summary.json``                   here
==========================  ===============================================  ==========================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Self

from gemini_qa_tuning.champion import ChampionRecord
from gemini_qa_tuning.dataset.results import ExportedDataset, RefreshedDataset
from gemini_qa_tuning.evaluation.checkpoint_selection import CheckpointSelection
from gemini_qa_tuning.evaluation.cost import EvaluationCost
from gemini_qa_tuning.evaluation.report import MetricsHeadline, MetricsReport
from gemini_qa_tuning.evaluation.runner import PredictionRun
from gemini_qa_tuning.json_types import (
    JsonObject,
    JsonValue,
    read_int,
    read_object,
    read_optional_str,
    read_str,
)
from gemini_qa_tuning.pipeline.params import PipelineParams
from gemini_qa_tuning.promotion import PromotionDecision
from gemini_qa_tuning.tuning.launch import TuningJobLaunch
from gemini_qa_tuning.tuning.planning import TuningPlan
from gemini_qa_tuning.tuning.states import TunedCheckpoint, TunedModel

__all__ = [
    "ChampionRecord",
    "CheckpointSelection",
    "CurrentChampion",
    "ExportedDataset",
    "MetricsReport",
    "ModelComparison",
    "PipelineParams",
    "PredictionRun",
    "PromotionDecision",
    "RefreshedDataset",
    "RunSummary",
    "TunedCheckpoint",
    "TunedModel",
    "TuningJobLaunch",
    "TuningPlan",
]


@dataclass(frozen=True)
class CurrentChampion:
    """What serves now, and the generation of its record that a promotion must find unchanged."""

    record: ChampionRecord
    generation: int

    @property
    def model(self) -> str:
        return self.record.model

    def to_json(self) -> JsonObject:
        return {"record": self.record.to_json(), "generation": self.generation}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        where = "current champion"
        return cls(
            record=ChampionRecord.from_json(read_object(data, "record", where)),
            generation=read_int(data, "generation", where),
        )


@dataclass(frozen=True)
class ModelComparison:
    """The headline numbers of this run's ``metrics.json`` and where it is.

    The JSON form is flat, as the run summary stores it: ``metrics_uri``, ``questions``,
    ``<role>_exact_match`` / ``<role>_f1`` and ``tuned_vs_<other>_<measure>_<diff|ci_low|ci_high>``.
    """

    metrics_uri: str
    headline: MetricsHeadline

    def to_json(self) -> JsonObject:
        return {"metrics_uri": self.metrics_uri, **self.headline.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        where = "model comparison"
        return cls(metrics_uri=read_str(data, "metrics_uri", where), headline=MetricsHeadline.from_json(data))


@dataclass(frozen=True)
class RunSummary:
    """What one run did, from what its tasks returned (``None`` for a task that did not run)."""

    run_id: str
    dataset: ExportedDataset | None
    tuning_plan: TuningPlan | None
    tuning_job: TuningJobLaunch | None
    tuned_model: TunedModel | None
    evaluation: ModelComparison | None
    promotion: PromotionDecision | None
    promoted_champion: ChampionRecord | None
    summary_uri: str | None = None  # where summary.json is, once written
    #: Retirement warnings about the base model and the champion's base (also in the task logs).
    warnings: tuple[str, ...] = ()
    #: Each checkpoint's validation scores and the one chosen (absent in older summaries).
    checkpoint_selection: CheckpointSelection | None = None
    #: Where the run's HTML report is (``runs/<run id>/report.html``); absent in summaries written before it.
    report_uri: str | None = None
    #: The evaluation's cost online and in batch (issue 13; ``None`` when nothing was evaluated or in older summaries).
    evaluation_cost: EvaluationCost | None = None

    @classmethod
    def from_task_results(
        cls,
        *,
        run_id: str,
        exported: Mapping[str, object] | None,
        plan: Mapping[str, object] | None,
        job: Mapping[str, object] | None,
        tuned: Mapping[str, object] | None,
        comparison: Mapping[str, object] | None,
        decision: Mapping[str, object] | None,
        promoted: Mapping[str, object] | None,
        warnings: Sequence[str] = (),
        checkpoint_selection: Mapping[str, object] | None = None,
    ) -> Self:
        """The summary from the tasks' XCom values (each ``None`` when its task was skipped)."""
        return cls(
            warnings=tuple(warnings),
            run_id=run_id,
            dataset=ExportedDataset.from_json(exported) if exported else None,
            tuning_plan=TuningPlan.from_json(plan) if plan else None,
            tuning_job=TuningJobLaunch.from_json(job) if job else None,
            tuned_model=TunedModel.from_json(tuned) if tuned else None,
            evaluation=ModelComparison.from_json(comparison) if comparison else None,
            promotion=PromotionDecision.from_json(decision) if decision else None,
            promoted_champion=ChampionRecord.from_json(promoted) if promoted else None,
            checkpoint_selection=CheckpointSelection.from_json(checkpoint_selection) if checkpoint_selection else None,
        )

    def to_json(self) -> JsonObject:
        return {
            "run_id": self.run_id,
            "dataset": self.dataset.to_json() if self.dataset else None,
            "tuning_plan": self.tuning_plan.to_json() if self.tuning_plan else None,
            "tuning_job": self.tuning_job.to_json() if self.tuning_job else None,
            "tuned_model": self.tuned_model.to_json() if self.tuned_model else None,
            "evaluation": self.evaluation.to_json() if self.evaluation else None,
            "promotion": self.promotion.to_json() if self.promotion else None,
            "promoted_champion": self.promoted_champion.to_json() if self.promoted_champion else None,
            "summary_uri": self.summary_uri,
            "warnings": list[JsonValue](self.warnings),
            "checkpoint_selection": self.checkpoint_selection.to_json() if self.checkpoint_selection else None,
            "report_uri": self.report_uri,
            "evaluation_cost": self.evaluation_cost.to_json() if self.evaluation_cost else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        where = "run summary"

        def part(key: str) -> Mapping[str, object] | None:
            value = data.get(key)
            return read_object(data, key, where) if value is not None else None

        summary = cls.from_task_results(
            run_id=read_str(data, "run_id", where),
            exported=part("dataset"),
            plan=part("tuning_plan"),
            job=part("tuning_job"),
            tuned=part("tuned_model"),
            comparison=part("evaluation"),
            decision=part("promotion"),
            promoted=part("promoted_champion"),
            checkpoint_selection=part("checkpoint_selection"),
            warnings=[str(item) for item in raw_warnings]
            if isinstance(raw_warnings := data.get("warnings"), list)
            else (),
        )
        return replace(
            summary,
            summary_uri=read_optional_str(data, "summary_uri", where),
            report_uri=read_optional_str(data, "report_uri", where),
            evaluation_cost=EvaluationCost.from_json(cost) if (cost := part("evaluation_cost")) else None,
        )
