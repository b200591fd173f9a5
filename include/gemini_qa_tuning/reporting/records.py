"""What a run report shows, as typed records: the template reads these and nothing else.

:func:`gemini_qa_tuning.reporting.gather.gather_run_report` builds a :class:`RunReport` from a run's
artifacts; :func:`gemini_qa_tuning.reporting.render.render_run_report` turns it into one HTML page.
Scores are percent (0..100); differences are points. Rounding happens in the template only, with
:data:`SCORE_DECIMALS` digits, so a test can compare the page with ``metrics.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from gemini_qa_tuning.evaluation.cost import EvaluationCost

__all__ = [
    "SCORE_DECIMALS",
    "CheckpointRow",
    "CostSummary",
    "DatasetSection",
    "Decision",
    "DecisionKind",
    "Disagreement",
    "HistoryPoint",
    "Interval",
    "ModelAnswer",
    "ModelScoreRow",
    "RejectExample",
    "RunReport",
    "ScoreDifference",
    "TuningJobSection",
]

#: Digits after the decimal point of every score and difference the report shows.
SCORE_DECIMALS = 2


@dataclass(frozen=True)
class Interval:
    """A 95 % bootstrap interval (percent or points)."""

    low: float
    high: float


class DecisionKind(StrEnum):
    """What the run ended with; the page's headline and its colour follow from it."""

    PROMOTED = "promoted"
    KEPT_CHAMPION = "kept_champion"
    SKIPPED = "skipped"
    DRY_RUN = "dry_run"
    INCOMPLETE = "incomplete"


@dataclass(frozen=True)
class Decision:
    """The decision and why, in one sentence (``sentence``), plus the policy's reasons in full."""

    kind: DecisionKind
    sentence: str
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelScoreRow:
    """One evaluated model's test-set EM and F1, each with the 95 % interval of its mean."""

    role: str
    model: str | None
    exact_match: float
    f1: float
    exact_match_interval: Interval | None
    f1_interval: Interval | None
    questions: int


@dataclass(frozen=True)
class CheckpointRow:
    """One tuning checkpoint's validation scores (the tuning job's per-epoch checkpoints).

    Filled from the run's checkpoint selection; a report without one leaves the section out.
    """

    checkpoint_id: str
    epoch: int
    validation_exact_match: float
    validation_f1: float
    selected: bool = False
    validation_exact_match_interval: Interval | None = None
    validation_f1_interval: Interval | None = None


@dataclass(frozen=True)
class ScoreDifference:
    """A paired comparison of ``metrics.json``: tuned minus ``other``, with its 95 % intervals."""

    other: str
    exact_match_diff: float
    exact_match_interval: Interval
    f1_diff: float
    f1_interval: Interval


@dataclass(frozen=True)
class CostSummary:
    """The tuning cost estimated before the launch and the one Vertex billed (``None``: unknown)."""

    estimated_usd: float | None
    billed_usd: float | None
    estimated_billable_tokens: int | None
    billed_tokens: int | None
    epochs: int | None

    @property
    def difference_usd(self) -> float | None:
        """Billed minus estimated, when both are known."""
        if self.estimated_usd is None or self.billed_usd is None:
            return None
        return self.billed_usd - self.estimated_usd


@dataclass(frozen=True)
class RejectExample:
    """One rejected source record as ``rejects.jsonl`` stores it (``record`` shortened for the page)."""

    reason: str
    detail: str
    where: str
    record: str


@dataclass(frozen=True)
class DatasetSection:
    """The exported dataset's manifest in short: counts, rejects, duplicates and its fingerprint."""

    fingerprint: str
    source_description: str
    manifest_uri: str
    counts: Mapping[str, int]
    rejects_by_reason: Mapping[str, int]
    reject_examples: Mapping[str, tuple[RejectExample, ...]]
    duplicates_dropped: int
    training_tokens: int


@dataclass(frozen=True)
class TuningJobSection:
    """The tuning job: its name and state, the hyperparameters it was asked for, and how long it took."""

    job_name: str | None
    state: str | None
    reused: bool
    base_model: str
    tuned_model: str | None
    endpoint: str | None
    hyperparameters: Mapping[str, str]
    duration_seconds: float | None = None


@dataclass(frozen=True)
class ModelAnswer:
    """One model's answer to a question, with its F1 (0..100)."""

    role: str
    answer: str | None
    f1: float


@dataclass(frozen=True)
class Disagreement:
    """A test question whose answers differ between the models, with the references."""

    question_id: str
    question: str
    references: tuple[str, ...]
    answers: tuple[ModelAnswer, ...]


@dataclass(frozen=True)
class HistoryPoint:
    """One past (or this) run's F1 of the champion it was judged against and of its challenger.

    ``champion_f1`` is ``None`` when no champion was evaluated in that run (then ``base_f1`` is what the
    challenger had to beat).
    """

    run_id: str
    written_at: float
    challenger_f1: float
    champion_f1: float | None
    base_f1: float | None
    promoted: bool


@dataclass(frozen=True)
class RunReport:
    """Everything the run report shows; a section whose record is ``None`` or empty is not rendered."""

    run_id: str
    decision: Decision
    generated_at: str
    summary_uri: str | None
    metrics_uri: str | None
    scores: tuple[ModelScoreRow, ...] = ()
    differences: tuple[ScoreDifference, ...] = ()
    checkpoints: tuple[CheckpointRow, ...] = ()
    cost: CostSummary | None = None
    dataset: DatasetSection | None = None
    tuning_job: TuningJobSection | None = None
    disagreements: tuple[Disagreement, ...] = ()
    history: tuple[HistoryPoint, ...] = ()
    warnings: tuple[str, ...] = ()
    evaluation_cost: EvaluationCost | None = None  # online vs batch (issue 13)
