"""The pipeline DAG's Params as one typed record: the only place Param values are converted.

Airflow renders a run's Params (defaults overlaid with the run's ``conf``) as a plain mapping; the
pipeline's first task turns it into :class:`PipelineParams` with :meth:`PipelineParams.from_params`,
which refuses keys that are not Params (a misspelt ``epoch_count`` would otherwise be silently
ignored and the run would use the default) and values of the wrong type, naming the Param and what to
do. Every later task receives the record, never the raw mapping.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Self

from gemini_qa_tuning.dataset.settings import VERTEX_MAX_EXAMPLE_TOKENS, VERTEX_MAX_VALIDATION_EXAMPLES, DatasetSettings
from gemini_qa_tuning.eval_mode import DEFAULT_BATCH_MIN_QUESTIONS, EVAL_MODES
from gemini_qa_tuning.json_types import JsonObject
from gemini_qa_tuning.promotion import DEFAULT_MIN_TEST_QUESTIONS
from gemini_qa_tuning.tuning.catalog import DEFAULT_BASE_MODEL, ModelCatalog, load_catalog

__all__ = ["PipelineParams", "PipelineParamsError"]


class PipelineParamsError(ValueError):
    """A run's Params (or ``conf``) hold an unknown key or a value of the wrong type."""


@dataclass(frozen=True)
class PipelineParams:
    """Every setting of one pipeline run (the DAG's Params; their descriptions are in the DAG file).

    Defaults here are the DAG's Param defaults (a DAG test keeps the two equal).
    """

    # --- where things are, and as whom
    gcs_prefix: str = "gs://gemini-qa-tuning/gemini-squad"
    gcp_conn_id: str = "google_cloud_default"
    impersonation_chain: tuple[str, ...] = ()
    pipeline_id: str | None = None
    # --- dataset refresh
    source_kind: str = "huggingface"
    source_uri: str | None = None
    test_source_uri: str | None = None
    max_train_examples: int | None = None
    max_validation_examples: int = VERTEX_MAX_VALIDATION_EXAMPLES
    max_test_examples: int | None = 1000
    validation_fraction: float = 0.1
    test_fraction: float = 0.1
    seed: int = 0
    group_by: str = "title"
    max_prompt_tokens: int = VERTEX_MAX_EXAMPLE_TOKENS
    max_reject_share: float = 0.05
    # --- tuning
    base_model: str = DEFAULT_BASE_MODEL
    model_catalog_uri: str | None = None
    epochs: int = 3
    adapter_size: int = 4
    learning_rate_multiplier: float = 1.0
    tuned_model_display_name: str = "gemini-squad"
    price_per_million_training_tokens: float | None = None
    max_training_cost: float | None = None
    force_retrain: bool = False
    # --- where a tuning job starts (tuning.lineage)
    tune_from: str = "base"
    rebase_on_retirement: str = "off"
    dry_run: bool = False
    poll_interval_seconds: int = 60
    tuning_timeout_hours: float = 20.0
    # --- evaluation and promotion
    eval_concurrency: int = 8
    eval_requests_per_minute: int | None = None
    eval_max_output_tokens: int = 64
    eval_max_error_share: float = 0.02
    eval_thinking: str | None = "auto"
    eval_max_empty_share: float = 0.05
    # --- batch evaluation (issue 13; evaluation.batch): online, batch, or auto = batch from a question count
    eval_mode: str = "online"
    batch_min_questions: int = DEFAULT_BATCH_MIN_QUESTIONS
    promotion_min_f1_gain: float = 1.0
    promotion_require_significance: bool = True
    promotion_min_test_questions: int = DEFAULT_MIN_TEST_QUESTIONS
    # --- Model Registry alias and clean-up (issue 11)
    champion_alias: str = "champion"
    delete_losing_models: bool = False
    keep_last_models: int = 3
    # --- best checkpoint (chosen on validation; see evaluation.checkpoint_selection)
    checkpoint_eval_questions: int = 100
    export_last_checkpoint_only: bool = False
    # --- notifications (issue 12): a connection id per channel; empty = the message is only logged
    notify_smtp_conn_id: str | None = None
    notify_email_to: tuple[str, ...] = ()
    notify_slack_webhook_conn_id: str | None = None
    run_note_conn_id: str | None = None  # HTTP connection to the Airflow REST API for the run's note

    def __post_init__(self) -> None:
        # Batch evaluation (issue 13): values no run can use are refused before anything is paid for.
        problems = []
        if self.eval_mode not in EVAL_MODES:
            problems.append(
                f"eval_mode must be one of {', '.join(EVAL_MODES)}, got {self.eval_mode!r}: online asks each question, "
                "batch submits one Vertex batch prediction job per model (half price), auto picks batch from "
                "batch_min_questions test questions on."
            )
        if self.batch_min_questions < 1:
            problems.append(
                f"batch_min_questions must be at least 1, got {self.batch_min_questions}: it is the test question "
                "count from which eval_mode auto evaluates in batch."
            )
        if problems:
            raise PipelineParamsError("The run's Params are not valid: " + " ".join(problems))

    @classmethod
    def names(cls) -> list[str]:
        """The Param names, in declaration order."""
        return [setting.name for setting in fields(cls)]

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> Self:
        """The run's Params as a record; raises :class:`PipelineParamsError` naming every problem at once.

        Missing keys take the defaults. Unknown keys are refused with the closest Param name, so a typo
        in a run's ``conf`` fails the run before anything is read or paid for.
        """
        known = cls.names()
        problems = [_unknown_key_problem(key, known) for key in params if key not in known]
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        for name in known:
            if name not in params:
                continue
            try:
                values[name] = _convert(name, params[name], hints[name])
            except PipelineParamsError as error:
                problems.append(str(error))
        if problems:
            listed = "\n".join(f"  - {problem}" for problem in problems)
            raise PipelineParamsError(f"The run's Params are not valid ({len(problems)} problem(s)):\n{listed}")
        return cls(**values)

    def to_json(self) -> JsonObject:
        return {
            name: list(value) if isinstance(value, tuple) else value
            for name, value in ((setting.name, getattr(self, setting.name)) for setting in fields(self))
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        return cls.from_params(data)

    def owner(self, dag_id: str) -> str:
        """Who owns the Vertex jobs this run creates: ``pipeline_id``, or the DAG id when it is not set."""
        return self.pipeline_id or dag_id

    @property
    def owning_pipeline(self) -> str:
        """The owner label of this run's Vertex jobs (set by the pipeline's first task)."""
        if not self.pipeline_id:
            raise ValueError("pipeline_id is not set: build the run's Params with the pipeline's check_params step")
        return self.pipeline_id

    def model_catalog(self) -> ModelCatalog:
        """The model catalog of this run: the file at ``model_catalog_uri``, else the packaged one.

        Raises :class:`~gemini_qa_tuning.tuning.CatalogError` naming the file and field when it is invalid.
        """
        return load_catalog(self.model_catalog_uri)

    def dataset_settings(self) -> DatasetSettings:
        """The dataset stage's settings (checked there: a bad combination fails with every problem named)."""
        return DatasetSettings(
            source_kind=self.source_kind,  # type: ignore[arg-type]  # checked by DatasetSettings
            source_uri=self.source_uri or "",
            test_source_uri=self.test_source_uri,
            max_train_examples=self.max_train_examples,
            max_validation_examples=self.max_validation_examples,
            max_test_examples=self.max_test_examples,
            validation_fraction=self.validation_fraction,
            test_fraction=self.test_fraction,
            seed=self.seed,
            group_by=self.group_by,  # type: ignore[arg-type]  # checked by DatasetSettings
            max_prompt_tokens=self.max_prompt_tokens,
            max_reject_share=self.max_reject_share,
        )


def _unknown_key_problem(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.5)
    hint = f"did you mean {close[0]!r}?" if close else f"the Params are: {', '.join(known)}."
    return f"{key!r} is not a Param of this pipeline; {hint} Remove or rename it in the run's conf."


def _convert(name: str, value: object, annotation: object) -> object:
    """``value`` checked against the field's type; ints are accepted where a number is expected."""
    options = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else (annotation,)
    if value is None:
        if type(None) in options:
            return None
        if any(typing.get_origin(option) is tuple for option in options):
            return ()  # an empty list Param: none
        raise PipelineParamsError(f"{name} must not be empty; give it a value (its default is shown in the form).")
    for option in options:
        if option is bool and isinstance(value, bool):
            return value
        if option is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if option is float and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if option is str and isinstance(value, str):
            return value
        if typing.get_origin(option) is tuple:
            if isinstance(value, str):
                return tuple(part.strip() for part in value.split(",") if part.strip())
            if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
                return tuple(value)
    wanted = " or ".join(_type_name(option) for option in options)
    raise PipelineParamsError(f"{name} must be {wanted}, not {type(value).__name__} {value!r}.")


def _type_name(option: object) -> str:
    if option is type(None):
        return "empty"
    if typing.get_origin(option) is tuple:
        return "a list of strings"
    return {bool: "true or false", int: "a whole number", float: "a number", str: "text"}.get(
        option,  # type: ignore[call-overload]
        str(option),
    )
