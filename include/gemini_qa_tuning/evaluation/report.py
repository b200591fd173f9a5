"""``metrics.json``: the scores of base, tuned and champion on one question set, and how they compare.

This module owns the report's schema. :class:`MetricsReport` is the typed record; its JSON form is the
file (``schema_version`` :data:`SCHEMA_VERSION`). A reader refuses any other version rather than
guessing what renamed keys mean: change :data:`SCHEMA_VERSION` whenever the JSON form changes in a
way an older reader would misread. :class:`MetricsHeadline` is the handful of numbers worth passing on
(XCom, the run summary, the champion record).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Self

from gemini_qa_tuning import storage
from gemini_qa_tuning.evaluation.predictions import ModelScores, PredictionLine, read_predictions, summarize_predictions
from gemini_qa_tuning.evaluation.scoring import PairedComparison, QuestionScore, compare_paired
from gemini_qa_tuning.json_types import (
    JsonObject,
    JsonValue,
    read_float,
    read_int,
    read_json_object,
    read_object,
    read_optional_str,
    read_str,
)

__all__ = [
    "BOOTSTRAP_CONFIDENCE",
    "METRIC_DEFINITION",
    "READABLE_SCHEMA_VERSIONS",
    "SCHEMA_VERSION",
    "BootstrapSettings",
    "ComparisonHeadline",
    "MetricsHeadline",
    "MetricsReport",
    "ModelReport",
    "RoleScores",
    "read_metrics_report",
    "report_summary",
    "write_metrics_report",
]

logger = logging.getLogger(__name__)

#: Version 2 added per-model thinking tokens, ``MAX_TOKENS`` finishes and empty-or-truncated answers.
SCHEMA_VERSION = 2
#: Versions this module reads: a version 1 file has no thinking statistics, which read as 0.
READABLE_SCHEMA_VERSIONS = frozenset({1, SCHEMA_VERSION})
BOOTSTRAP_CONFIDENCE = 0.95
METRIC_DEFINITION = "SQuAD v1.1 exact match and token F1 (max over references, mean x 100)"


@dataclass(frozen=True)
class BootstrapSettings:
    """How the paired comparisons were resampled."""

    resamples: int
    seed: int
    confidence: float

    def to_json(self) -> JsonObject:
        return {"resamples": self.resamples, "seed": self.seed, "confidence": self.confidence}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        where = "metrics report bootstrap"
        return cls(
            resamples=read_int(data, "resamples", where),
            seed=read_int(data, "seed", where),
            confidence=read_float(data, "confidence", where),
        )


@dataclass(frozen=True)
class ModelReport:
    """One role's entry in ``models``: which model, its predictions file and its scores (flat in JSON)."""

    model: str | None
    predictions_uri: str
    scores: ModelScores

    def to_json(self) -> JsonObject:
        return {"model": self.model, "predictions_uri": self.predictions_uri, **self.scores.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        where = "metrics report model entry"
        return cls(
            model=read_optional_str(data, "model", where),
            predictions_uri=read_str(data, "predictions_uri", where),
            scores=ModelScores.from_json(data),
        )


@dataclass(frozen=True)
class RoleScores:
    """A role's two headline numbers (percent)."""

    exact_match: float
    f1: float


@dataclass(frozen=True)
class ComparisonHeadline:
    """A comparison's differences (points, tuned minus the other) and their bootstrap intervals."""

    exact_match_diff: float
    exact_match_ci_low: float
    exact_match_ci_high: float
    f1_diff: float
    f1_ci_low: float
    f1_ci_high: float


_MEASURES = ("exact_match", "f1")
_SUFFIXES = ("diff", "ci_low", "ci_high")
_COMPARISON_KEY = re.compile(r"(?P<name>.+)_(?P<measure>exact_match|f1)_(?P<suffix>diff|ci_low|ci_high)")
_ROLE_KEY = re.compile(r"(?P<role>.+)_(?P<measure>exact_match|f1)")


@dataclass(frozen=True)
class MetricsHeadline:
    """The few numbers of a metrics report worth passing through XCom.

    The JSON form is flat, as the run summary and the champion record store it: ``questions``,
    ``<role>_exact_match`` / ``<role>_f1`` per role and ``<comparison>_<measure>_<diff|ci_low|ci_high>``
    per comparison (e.g. ``tuned_vs_base_f1_ci_low``).
    """

    questions: int
    models: Mapping[str, RoleScores]
    comparisons: Mapping[str, ComparisonHeadline]

    def to_json(self) -> JsonObject:
        values: JsonObject = {"questions": self.questions}
        for role, scores in self.models.items():
            values[f"{role}_exact_match"] = scores.exact_match
            values[f"{role}_f1"] = scores.f1
        for name, comparison in self.comparisons.items():
            for measure in _MEASURES:
                for suffix in _SUFFIXES:
                    values[f"{name}_{measure}_{suffix}"] = getattr(comparison, f"{measure}_{suffix}")
        return values

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        """Read the flat form; keys that are no headline number (e.g. a ``metrics_uri`` beside it) are
        left to their reader, but a role or comparison with only some of its numbers is refused."""
        where = "metrics headline"
        role_values: dict[str, dict[str, float]] = {}
        comparison_values: dict[str, dict[str, float]] = {}
        for key in data:
            if match := _COMPARISON_KEY.fullmatch(key):
                numbers = comparison_values.setdefault(match["name"], {})
                numbers[f"{match['measure']}_{match['suffix']}"] = read_float(data, key, where)
            elif match := _ROLE_KEY.fullmatch(key):
                role_values.setdefault(match["role"], {})[match["measure"]] = read_float(data, key, where)
        models = {}
        for role, numbers in role_values.items():
            missing = [f"{role}_{measure}" for measure in _MEASURES if measure not in numbers]
            if missing:
                raise ValueError(f"{where}: role {role!r} lacks {missing}")
            models[role] = RoleScores(exact_match=numbers["exact_match"], f1=numbers["f1"])
        comparisons = {}
        for name, numbers in comparison_values.items():
            expected = [f"{measure}_{suffix}" for measure in _MEASURES for suffix in _SUFFIXES]
            missing = [f"{name}_{key}" for key in expected if key not in numbers]
            if missing:
                raise ValueError(f"{where}: comparison {name!r} lacks {missing}")
            comparisons[name] = ComparisonHeadline(**numbers)
        return cls(questions=read_int(data, "questions", where), models=models, comparisons=comparisons)


@dataclass(frozen=True)
class MetricsReport:
    """The content of ``metrics.json``.

    ``models`` is keyed by role (``base``, ``tuned``, ``champion`` when one was evaluated);
    ``comparisons`` by ``tuned_vs_<other>`` (differences are tuned minus the other, in points, with a
    seeded bootstrap interval). ``question_set_sha256`` fingerprints the ids and prompts every model
    answered. ``context`` (e.g. run id, model names) is stored as given.
    """

    schema_version: ClassVar[int] = SCHEMA_VERSION

    questions: int
    question_set_sha256: str
    models: Mapping[str, ModelReport]
    comparisons: Mapping[str, PairedComparison]
    bootstrap: BootstrapSettings
    context: JsonObject = field(default_factory=dict)
    metric_definition: str = METRIC_DEFINITION

    def headline(self) -> MetricsHeadline:
        """The few numbers of this report worth passing on."""
        return MetricsHeadline(
            questions=self.questions,
            models={
                role: RoleScores(exact_match=entry.scores.exact_match, f1=entry.scores.f1)
                for role, entry in self.models.items()
            },
            comparisons={
                name: ComparisonHeadline(
                    exact_match_diff=comparison.exact_match_diff,
                    exact_match_ci_low=comparison.exact_match_ci_low,
                    exact_match_ci_high=comparison.exact_match_ci_high,
                    f1_diff=comparison.f1_diff,
                    f1_ci_low=comparison.f1_ci_low,
                    f1_ci_high=comparison.f1_ci_high,
                )
                for name, comparison in self.comparisons.items()
            },
        )

    def to_json(self) -> JsonObject:
        return {
            "schema_version": self.schema_version,
            "metric_definition": self.metric_definition,
            "questions": self.questions,
            "question_set_sha256": self.question_set_sha256,
            "models": {role: entry.to_json() for role, entry in self.models.items()},
            "comparisons": {name: comparison.to_json() for name, comparison in self.comparisons.items()},
            "bootstrap": self.bootstrap.to_json(),
            "context": dict(self.context),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        """Read ``metrics.json``; refuses a ``schema_version`` not in :data:`READABLE_SCHEMA_VERSIONS`.

        The record read is always of the current version (a version 1 file's missing statistics are 0).
        """
        where = "metrics report"
        version = data.get("schema_version")
        if isinstance(version, bool) or version not in READABLE_SCHEMA_VERSIONS:
            raise ValueError(
                f"{where}: schema_version {version!r} is not supported; this version of gemini_qa_tuning "
                f"reads schema_version {sorted(READABLE_SCHEMA_VERSIONS)}. Re-run the comparison step (compare_models) "
                "with this version of the library to rewrite metrics.json, or read it with the library "
                "version that wrote it."
            )
        models = read_object(data, "models", where)
        comparisons = read_object(data, "comparisons", where)
        return cls(
            questions=read_int(data, "questions", where),
            question_set_sha256=read_str(data, "question_set_sha256", where),
            models={role: ModelReport.from_json(read_object(models, role, f"{where} models")) for role in models},
            comparisons={
                name: PairedComparison.from_json(read_object(comparisons, name, f"{where} comparisons"))
                for name in comparisons
            },
            bootstrap=BootstrapSettings.from_json(read_object(data, "bootstrap", where)),
            context=read_json_object(data, "context", where),
            metric_definition=read_str(data, "metric_definition", where),
        )


def _question_set_fingerprint(lines: Iterable[PredictionLine]) -> str:
    digest = hashlib.sha256()
    for line in sorted(lines, key=lambda line: line.id):
        digest.update(f"{line.id}\t{line.prompt_sha256}\n".encode())
    return digest.hexdigest()


def write_metrics_report(
    output_uri: str,
    *,
    base_predictions_uri: str,
    tuned_predictions_uri: str,
    champion_predictions_uri: str | None = None,
    resamples: int = 2000,
    seed: int = 0,
    context: Mapping[str, JsonValue] | None = None,
) -> MetricsReport:
    """Write ``metrics.json``: per-model scores and statistics plus paired comparisons; return the report.

    Comparisons are ``tuned_vs_base`` and, when a champion file is given, ``tuned_vs_champion``
    (differences are tuned minus the other, in points, with a seeded bootstrap 95 % interval). All
    files must cover the same questions with the same prompts. ``context`` (e.g. fingerprint, run id)
    is stored as is.
    """
    uris = {"base": base_predictions_uri, "tuned": tuned_predictions_uri}
    if champion_predictions_uri:
        uris["champion"] = champion_predictions_uri
    predictions = {role: read_predictions(uri) for role, uri in uris.items()}

    fingerprints = {role: _question_set_fingerprint(lines) for role, lines in predictions.items()}
    if len(set(fingerprints.values())) != 1:
        sizes = {role: len(lines) for role, lines in predictions.items()}
        raise ValueError(
            f"Prediction files cover different questions or prompts ({sizes}); evaluate every model on "
            f"the same test.jsonl before comparing: {uris}"
        )

    models = {
        role: ModelReport(
            model=lines[0].model if lines else None, predictions_uri=uris[role], scores=summarize_predictions(lines)
        )
        for role, lines in predictions.items()
    }
    per_question: dict[str, dict[str, QuestionScore]] = {
        role: {line.id: line.score for line in lines} for role, lines in predictions.items()
    }
    comparisons = {
        f"tuned_vs_{other}": compare_paired(
            per_question["tuned"], per_question[other], resamples=resamples, seed=seed, confidence=BOOTSTRAP_CONFIDENCE
        )
        for other in ("base", "champion")
        if other in per_question
    }
    report = MetricsReport(
        questions=len(predictions["tuned"]),
        question_set_sha256=fingerprints["tuned"],
        models=models,
        comparisons=comparisons,
        bootstrap=BootstrapSettings(resamples=resamples, seed=seed, confidence=BOOTSTRAP_CONFIDENCE),
        context=dict(context or {}),
    )
    storage.write_bytes(
        output_uri, json.dumps(report.to_json(), indent=2, sort_keys=True).encode("utf-8"), "application/json"
    )
    logger.info(
        "Metrics written to %s: %s",
        output_uri,
        ", ".join(f"{role} EM {m.scores.exact_match:.2f} F1 {m.scores.f1:.2f}" for role, m in models.items()),
    )
    return report


def read_metrics_report(metrics_uri: str) -> MetricsReport:
    """Read a ``metrics.json`` written by :func:`write_metrics_report`; errors name the file."""
    try:
        return MetricsReport.from_json(json.loads(storage.read_text(metrics_uri)))
    except ValueError as error:  # JSONDecodeError is a ValueError too
        raise ValueError(f"{metrics_uri} is not a readable metrics report: {error}") from error


def report_summary(report: MetricsReport) -> MetricsHeadline:
    """The few numbers of a metrics report worth passing through XCom (:meth:`MetricsReport.headline`)."""
    return report.headline()
