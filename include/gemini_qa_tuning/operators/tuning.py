"""Launch a Vertex AI supervised tuning job once per dataset and configuration, and link to it.

:class:`LaunchTuningJobOperator` validates the settings, checks the training data, then looks for the job
a previous try made and reuses it when it is live or succeeded; only when there is none (or the last one
failed, was cancelled or expired) does it create a job. It returns at once: waiting is the job of
:class:`~gemini_qa_tuning.sensors.tuning.TuningJobSensor`, which defers to the triggerer.

Where a retry looks, in order:

1. The task's ``task_state_store`` (Airflow 3.3+, the store behind ``ResumableJobMixin``): the launch
   records the job name there under :data:`TUNING_JOB_STATE_KEY` as soon as it has one. Feature-detected
   from the task context, so on Airflow 3.1 (no store) this step is skipped.
2. The jobs carrying the same identity labels (dataset fingerprint + config hash + owning pipeline, see
   :mod:`gemini_qa_tuning.tuning`): also covers a create whose answer was lost, and a job created by
   another run of the same pipeline.

A create that failed without a clear refusal (a timeout, a dropped connection, a 5xx) may still be acted
on by Vertex; before creating again the operator keeps listing by labels for
``create_visibility_wait_seconds`` (see :class:`~gemini_qa_tuning.create_lookup.CreateLookupPolicy`).

:class:`~gemini_qa_tuning.links.vertex_ai.VertexTuningJobLink` (importable from here too) is the "Vertex
AI tuning job" button on the task in the Airflow UI.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, cast

# The Google provider's compat shim: airflow.sdk.exceptions from Airflow 3.2, airflow.exceptions on 3.1.
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException
from airflow.sdk import BaseOperator

from gemini_qa_tuning import storage
from gemini_qa_tuning.api_errors import backoff_delay, is_transient_api_error
from gemini_qa_tuning.create_lookup import (
    DEFAULT_CREATE_LOOKUP_INTERVAL_SECONDS,
    DEFAULT_CREATE_VISIBILITY_WAIT_SECONDS,
    CreateLookupPolicy,
    create_outcome_unknown,
    find_after_pauses,
)
from gemini_qa_tuning.json_types import JsonObject
from gemini_qa_tuning.links.vertex_ai import VertexTuningJobLink
from gemini_qa_tuning.native_arguments import (
    FLAG,
    INTEGER,
    NON_NEGATIVE_NUMBER,
    NUMBER,
    TEXT,
    TEXT_MAPPING,
    TEXT_OR_TEXTS,
    ArgumentTypeError,
    argument_problem,
    check_arguments,
)
from gemini_qa_tuning.tuning import (
    DEFAULT_BASE_MODEL,
    TUNING_MODES,
    CatalogError,
    ModelCatalog,
    TrainingDataScan,
    TuningConfig,
    TuningConfigError,
    TuningRequest,
    console_url,
    files_fingerprint,
    job_summary,
    load_catalog,
    rule_for_state,
    scan_tuning_jsonl,
    select_reusable_job,
    tuning_cost_usd,
)
from gemini_qa_tuning.tuning.launch import TuningJobLaunch

if TYPE_CHECKING:
    from airflow.sdk import Context
    from google.genai import types

    from gemini_qa_tuning.hooks.genai import GenAIVertexHook

__all__ = ["TUNING_JOB_NAME_XCOM_KEY", "TUNING_JOB_STATE_KEY", "LaunchTuningJobOperator", "VertexTuningJobLink"]

#: XCom key under which launch and sensor tasks store the tuning job's resource name.
TUNING_JOB_NAME_XCOM_KEY = "tuning_job_name"
#: Key of the job name in the task's ``task_state_store`` (ResumableJobMixin calls it ``external_id_key``).
#: Renaming it breaks the retries of tasks in flight: they look under the old key.
TUNING_JOB_STATE_KEY = "tuning_job_name"


class JobNameStore(Protocol):
    """The part of Airflow 3.3's ``TaskStateStoreAccessor`` the launch uses (values survive task retries)."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def set(self, key: str, value: Any) -> None: ...


def task_state_store(context: Context) -> JobNameStore | None:
    """The task's state store, or ``None`` on Airflow before 3.3 (the context has no such key there).

    Feature-detected rather than version-compared: what matters is whether the running Airflow put a
    store in this task's context.
    """
    store = cast("Mapping[str, Any]", context).get("task_state_store")
    return cast("JobNameStore", store) if store is not None else None


def persist_job(context: Context, job_name: str) -> None:
    """Store the job name (for other tasks) and the console link's values.

    Airflow turns the link values into the URL when this run of the task ends, including when it defers.
    """
    context["ti"].xcom_push(key=TUNING_JOB_NAME_XCOM_KEY, value=job_name)
    VertexTuningJobLink.persist(context, job_name=job_name)


class LaunchTuningJobOperator(BaseOperator):
    """Create (or reuse) a Vertex AI supervised tuning job for Gemini; return without waiting.

    Arguments are native values: with ``render_template_as_native_obj=True`` on the DAG a templated field
    such as ``epochs="{{ params.epochs }}"`` renders to the int. Each is type-checked once, when the task
    runs; text where a number or flag belongs fails the task saying so.

    :param training_uri: ``gs://`` URI of the training JSONL (Gemini tuning format). Required.
    :param validation_uri: ``gs://`` URI of the validation JSONL, optional but recommended.
    :param base_model: Gemini model to tune; see ``gemini_qa_tuning.tuning.TUNABLE_BASE_MODELS``.
    :param epochs: passes over the training data (int, 1-100).
    :param adapter_size: LoRA adapter size (int: 1, 2, 4, 8, 16, 32; supported values depend on the model);
        ``None`` lets Vertex choose.
    :param learning_rate_multiplier: scales Vertex's recommended learning rate (> 0, <= 10).
    :param tuning_mode: ``"peft_adapter"`` (default) or ``"full"`` (or the API names
        ``TUNING_MODE_PEFT_ADAPTER``/``TUNING_MODE_FULL``); ``None`` sends no mode.
    :param tuned_model_display_name: display name of the tuned model.
    :param description: description of the tuning job.
    :param labels: extra Vertex labels, a mapping (lowercase ``[a-z0-9_-]``, at most 63 characters).
    :param dataset_fingerprint: content fingerprint of the exported data (from the export manifest);
        computed from the training/validation files' content when empty.
    :param pipeline_id: which pipeline owns the job; it labels the job next to the dataset fingerprint and
        config hash, so a launch only reuses jobs of its own pipeline. Default: the DAG id, so two DAGs
        tuning the same data in one project never share or skip each other's jobs; give two DAGs the same
        ``pipeline_id`` to let them share.
    :param export_last_checkpoint_only: (bool) export only the final checkpoint instead of about one per
        epoch (Vertex's ``exportLastCheckpointOnly``); then there is no checkpoint to choose from.
    :param tune_from: ``"base"`` (tune ``base_model``) or ``"champion"``: continue tuning ``pre_tuned_model``
        (Vertex continuous tuning; the job then starts from that tuned model, itself tuned from ``base_model``).
    :param pre_tuned_model: the tuned model resource (``projects/…/models/M@V``) a ``"champion"`` job continues.
    :param pre_tuned_checkpoint_id: its checkpoint to continue from; ``None`` for the default checkpoint.
    :param dry_run: (bool) validate, check the data and log the request that would be sent; create nothing.
    :param price_per_million_tokens: USD per million training tokens for the cost estimate (number >= 0);
        defaults to the list price of the base model when known.
    :param model_catalog_uri: a model catalog JSON file (local path or ``gs://``) replacing the packaged one
        for the adapter-size check and the list price; ``None`` for the packaged catalog.
    :param gcp_conn_id: Airflow Google Cloud connection.
    :param impersonation_chain: service account(s) to impersonate.
    :param project_id: Google Cloud project (default: the connection's).
    :param location: Vertex AI region (default: connection extra ``location``, else ``us-central1``).
    :param base_url: Vertex AI API base URL override (default: connection extra / environment).
    :param create_attempts: attempts to create the job when Vertex answers with a transient error;
        before each new attempt the operator looks the job up by labels again, so a create that
        succeeded behind a lost response is found instead of paid twice.
    :param create_visibility_wait_seconds: after a create whose outcome is unknown (timeout, dropped
        connection, 5xx), keep looking the job up by labels for this many seconds before creating again
        or giving up (default 180: three times the hook's request timeout; Vertex documents no bound).
    :param create_lookup_interval_seconds: pause between those lookups (default 15).

    Returns (XCom) a dict: ``job_name`` (``None`` on a dry run), ``state``, ``reused``, ``dry_run``,
    ``console_url``, ``base_model``, ``dataset_fingerprint``, ``config_hash``, ``labels``,
    ``training_examples``, ``estimated_billable_tokens``, ``estimated_cost_usd``, ``billable_tokens``
    and ``actual_cost_usd`` (Vertex's count, ``None`` until Vertex has processed the data), ``epochs``,
    ``request`` (the request as data).
    """

    template_fields: Sequence[str] = (
        "training_uri",
        "validation_uri",
        "base_model",
        "epochs",
        "adapter_size",
        "learning_rate_multiplier",
        "tuning_mode",
        "tuned_model_display_name",
        "description",
        "labels",
        "dataset_fingerprint",
        "pipeline_id",
        "export_last_checkpoint_only",
        "tune_from",
        "pre_tuned_model",
        "pre_tuned_checkpoint_id",
        "dry_run_requested",
        "price_per_million_tokens",
        "model_catalog_uri",
        "gcp_conn_id",
        "impersonation_chain",
        "project_id",
        "location",
        "base_url",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {"labels": "json"}
    operator_extra_links = (VertexTuningJobLink(),)
    ui_color = "#e8f0fe"

    def __init__(
        self,
        *,
        training_uri: str,
        validation_uri: str | None = None,
        base_model: str = DEFAULT_BASE_MODEL,
        epochs: int = 3,
        adapter_size: int | None = 4,
        learning_rate_multiplier: float = 1.0,
        tuning_mode: str | None = "peft_adapter",
        tuned_model_display_name: str | None = None,
        description: str | None = None,
        labels: Mapping[str, str] | None = None,
        dataset_fingerprint: str | None = None,
        pipeline_id: str | None = None,
        export_last_checkpoint_only: bool = False,
        tune_from: str = "base",
        pre_tuned_model: str | None = None,
        pre_tuned_checkpoint_id: str | None = None,
        dry_run: bool = False,
        price_per_million_tokens: float | None = None,
        model_catalog_uri: str | None = None,
        gcp_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
        project_id: str | None = None,
        location: str | None = None,
        base_url: str | None = None,
        create_attempts: int = 3,
        create_visibility_wait_seconds: float = DEFAULT_CREATE_VISIBILITY_WAIT_SECONDS,
        create_lookup_interval_seconds: float = DEFAULT_CREATE_LOOKUP_INTERVAL_SECONDS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.training_uri = training_uri
        self.validation_uri = validation_uri
        self.base_model = base_model
        self.epochs = epochs
        self.adapter_size = adapter_size
        self.learning_rate_multiplier = learning_rate_multiplier
        self.tuning_mode = tuning_mode
        self.tuned_model_display_name = tuned_model_display_name
        self.description = description
        self.labels = labels
        self.dataset_fingerprint = dataset_fingerprint
        self.pipeline_id = pipeline_id
        self.export_last_checkpoint_only = export_last_checkpoint_only
        self.tune_from = tune_from
        self.pre_tuned_model = pre_tuned_model
        self.pre_tuned_checkpoint_id = pre_tuned_checkpoint_id
        # Not ``self.dry_run``: that name is a BaseOperator method (``airflow tasks test --dry-run``).
        self.dry_run_requested = dry_run
        self.price_per_million_tokens = price_per_million_tokens
        self.model_catalog_uri = model_catalog_uri
        self.gcp_conn_id = gcp_conn_id
        self.impersonation_chain = impersonation_chain
        self.project_id = project_id
        self.location = location
        self.base_url = base_url
        if create_attempts < 1:
            raise ValueError(f"create_attempts must be at least 1 (1 = no retry), got {create_attempts}.")
        self.create_attempts = create_attempts
        self.create_lookup = CreateLookupPolicy(
            visibility_wait_seconds=create_visibility_wait_seconds, interval_seconds=create_lookup_interval_seconds
        )

    # ------------------------------------------------------------------ steps
    def check_argument_types(self) -> None:
        """Fail the task (no retry: a retry renders the same values) when a rendered argument has the wrong type."""
        try:
            check_arguments(
                f"Task {self.task_id}",
                [
                    argument_problem("training_uri", self.training_uri, TEXT),
                    argument_problem("validation_uri", self.validation_uri, TEXT, optional=True),
                    argument_problem("base_model", self.base_model, TEXT),
                    argument_problem("epochs", self.epochs, INTEGER),
                    argument_problem("adapter_size", self.adapter_size, INTEGER, optional=True),
                    argument_problem("learning_rate_multiplier", self.learning_rate_multiplier, NUMBER),
                    argument_problem("tuning_mode", self.tuning_mode, TEXT, optional=True),
                    argument_problem("tuned_model_display_name", self.tuned_model_display_name, TEXT, optional=True),
                    argument_problem("description", self.description, TEXT, optional=True),
                    argument_problem("labels", self.labels, TEXT_MAPPING, optional=True),
                    argument_problem("dataset_fingerprint", self.dataset_fingerprint, TEXT, optional=True),
                    argument_problem("pipeline_id", self.pipeline_id, TEXT, optional=True),
                    argument_problem("export_last_checkpoint_only", self.export_last_checkpoint_only, FLAG),
                    argument_problem("tune_from", self.tune_from, TEXT),
                    argument_problem("pre_tuned_model", self.pre_tuned_model, TEXT, optional=True),
                    argument_problem("pre_tuned_checkpoint_id", self.pre_tuned_checkpoint_id, TEXT, optional=True),
                    argument_problem("dry_run", self.dry_run_requested, FLAG),
                    argument_problem(
                        "price_per_million_tokens", self.price_per_million_tokens, NON_NEGATIVE_NUMBER, optional=True
                    ),
                    argument_problem("model_catalog_uri", self.model_catalog_uri, TEXT, optional=True),
                    argument_problem("gcp_conn_id", self.gcp_conn_id, TEXT),
                    argument_problem("impersonation_chain", self.impersonation_chain, TEXT_OR_TEXTS, optional=True),
                    argument_problem("project_id", self.project_id, TEXT, optional=True),
                    argument_problem("location", self.location, TEXT, optional=True),
                    argument_problem("base_url", self.base_url, TEXT, optional=True),
                ],
            )
        except ArgumentTypeError as error:
            raise AirflowFailException(str(error)) from None

    def tuning_config(self) -> TuningConfig:
        """The validated settings; fails the task (no retry: a retry cannot fix them) when invalid."""
        config = TuningConfig(
            base_model=self.base_model,
            training_uri=self.training_uri,
            validation_uri=self.validation_uri or None,
            epochs=self.epochs,
            adapter_size=self.adapter_size,
            learning_rate_multiplier=self.learning_rate_multiplier,
            # The short names this operator documents, or the API's names as they are.
            tuning_mode=TUNING_MODES.get(self.tuning_mode, self.tuning_mode) if self.tuning_mode else None,
            tuned_model_display_name=self.tuned_model_display_name or None,
            description=self.description or None,
            labels=dict(self.labels or {}),
            export_last_checkpoint_only=self.export_last_checkpoint_only,
            tune_from=self.tune_from,
            pre_tuned_model=self.pre_tuned_model or None,
            pre_tuned_checkpoint_id=self.pre_tuned_checkpoint_id or None,
            catalog=self.model_catalog(),
        )
        try:
            config.validate()
        except TuningConfigError as error:
            raise AirflowFailException(f"Task {self.task_id}: {error}") from None
        for warning in config.warnings():
            self.log.warning("%s", warning)
        return config

    @property
    def owning_pipeline(self) -> str:
        """The ``pipeline_id`` argument, else the DAG id (see the class docstring)."""
        return self.pipeline_id or self.dag_id

    def scan_data(self, config: TuningConfig) -> tuple[TrainingDataScan, TrainingDataScan | None]:
        """Read the training (and validation) JSONL once: check the format, count, estimate tokens."""
        scans: list[TrainingDataScan | None] = []
        for uri in (config.training_uri, config.validation_uri):
            if uri is None:
                scans.append(None)
                continue
            started = time.monotonic()
            try:
                scan = scan_tuning_jsonl(storage.iter_lines(uri), uri)
            except FileNotFoundError:
                raise AirflowFailException(
                    f"Tuning data {uri} does not exist; run the export task first or fix the URI."
                ) from None
            except ValueError as error:
                raise AirflowFailException(str(error)) from None
            self.log.info(
                "Checked %s: %d examples, ~%d tokens (4 characters per token) in %.1f s.",
                uri,
                scan.example_count,
                scan.estimated_tokens,
                time.monotonic() - started,
            )
            scans.append(scan)
        training, validation = scans
        assert training is not None  # training_uri is required by TuningConfig.problems()
        return training, validation

    def model_catalog(self) -> ModelCatalog:
        """The catalog of ``model_catalog_uri``, else the packaged one; a bad file fails the task (no retry)."""
        try:
            return load_catalog(self.model_catalog_uri)
        except CatalogError as error:
            raise AirflowFailException(f"Task {self.task_id}: model_catalog_uri: {error}") from None

    def price(self, config: TuningConfig) -> float | None:
        """USD per million training tokens: the argument, else the base model's list price, else None."""
        given = self.price_per_million_tokens
        return float(given) if given is not None else config.model_catalog.price_per_million(config.base_model)

    def make_hook(self) -> GenAIVertexHook:
        """The Vertex AI hook for this task's connection and location."""
        # Imported here: the hook pulls in the Google provider (grpc, ...) that DAG parsing need not load.
        from gemini_qa_tuning.hooks.genai import GenAIVertexHook

        return GenAIVertexHook(
            gcp_conn_id=self.gcp_conn_id,
            impersonation_chain=self.impersonation_chain,
            project_id=self.project_id,
            location=self.location,
            base_url=self.base_url,
        )

    def find_reusable_job(self, hook: GenAIVertexHook, identity: Mapping[str, str]) -> types.TuningJob | None:
        """The job a previous try or run already created for this data and config, if reusable."""
        jobs = hook.list_tuning_jobs_by_labels(identity)
        for job in jobs:
            rule = rule_for_state(job.state)
            self.log.info(
                "Found job %s in %s with the same labels: %s",
                job.name,
                rule.state,
                "reusable" if rule.reusable else f"not reusable ({rule.reason})",
            )
        return select_reusable_job(jobs)

    def recorded_job(
        self, store: JobNameStore | None, hook: GenAIVertexHook, identity: Mapping[str, str]
    ) -> types.TuningJob | None:
        """The job a previous try of this task recorded in its ``task_state_store``, if still reusable.

        A job that is gone, carries other identity labels (the DAG changed between tries) or ended
        unusable is ignored with a log line: the labels lookup comes next.
        """
        if store is None:
            return None
        name = store.get(TUNING_JOB_STATE_KEY)
        if not isinstance(name, str) or not name:
            return None
        from google.genai import errors

        try:
            job = hook.get_tuning_job(name)
        except errors.APIError as error:
            if is_transient_api_error(error):
                raise
            self.log.warning("Job %s recorded by a previous try is unreadable (%s); looking up by labels.", name, error)
            return None
        job_labels = job.labels or {}
        if any(job_labels.get(key) != value for key, value in identity.items()):
            self.log.info("Job %s recorded by a previous try has other identity labels; looking up by labels.", name)
            return None
        rule = rule_for_state(job.state)
        self.log.info(
            "Job %s recorded in task_state_store by a previous try is in %s: %s",
            name,
            rule.state,
            "reusable" if rule.reusable else f"not reusable ({rule.reason}); looking up by labels",
        )
        return select_reusable_job([job])

    def record_job(self, store: JobNameStore | None, job_name: str) -> None:
        """Remember the job for this task's retries (Airflow 3.3+; a no-op without a store)."""
        if store is not None:
            store.set(TUNING_JOB_STATE_KEY, job_name)

    def find_created_job(
        self, hook: GenAIVertexHook, identity: Mapping[str, str], delays: Sequence[float]
    ) -> types.TuningJob | None:
        """Look the job up by labels after each pause in ``delays``; the first reusable one found."""

        def looking_again(lookup: int, lookups: int, pause: float) -> None:
            self.log.info(
                "No job with these labels yet (lookup %d of %d); Vertex may still act on the create, "
                "looking again in %.1f s.",
                lookup,
                lookups,
                pause,
            )

        return find_after_pauses(
            lambda: self.find_reusable_job(hook, identity), delays, sleep=time.sleep, on_miss=looking_again
        )

    def create_job(
        self, hook: GenAIVertexHook, request: TuningRequest, identity: Mapping[str, str]
    ) -> tuple[types.TuningJob, bool]:
        """Create the job; after a transient error look it up again before another attempt.

        Returns ``(job, reused)``: ``reused`` is true when the lookup found a job the failed-looking
        attempt had in fact created.
        """
        training_dataset, sdk_config = request.to_sdk()
        for attempt in range(1, self.create_attempts + 1):
            try:
                job = hook.create_tuning_job(request.sdk_base_model, training_dataset, sdk_config)
                return job, False
            except Exception as error:
                if not is_transient_api_error(error):
                    raise AirflowFailException(
                        f"Vertex AI rejected the tuning job request for {request.base_model} with "
                        f"{request.training_uri}: {error}. Fix the settings (see the request logged above) "
                        "and re-run."
                    ) from error
                outcome_unknown = create_outcome_unknown(error)
                delay = backoff_delay(attempt, base_seconds=2.0, cap_seconds=30.0, rng=random.Random())
                delays = self.create_lookup.lookup_delays(delay, outcome_unknown)
                self.log.warning(
                    "Creating the tuning job failed with a transient error (%s); attempt %d of %d. %s",
                    error,
                    attempt,
                    self.create_attempts,
                    f"Vertex may still act on it: looking the job up by labels for {sum(delays):.0f} s "
                    "before creating again."
                    if outcome_unknown
                    else f"Looking the job up by labels in {delay:.1f} s.",
                )
                # Also after the last attempt: a job found now is one a task retry would otherwise pay twice.
                found = self.find_created_job(hook, identity, delays)
                if found is not None:
                    self.log.info("The failed-looking create had created %s; using it.", found.name)
                    return found, True
                if attempt == self.create_attempts:
                    raise AirflowException(
                        f"Creating the tuning job failed {attempt} times with transient errors (last: "
                        f"{error}); the task's retry will look the job up by labels before creating again."
                    ) from error
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    # ------------------------------------------------------------------ execute
    def execute(self, context: Context) -> JsonObject:
        """Validate, check the data, reuse or create the job; return its name and cost figures."""
        self.check_argument_types()
        dry_run = self.dry_run_requested
        config = self.tuning_config()
        from gemini_qa_tuning.hooks.storage_identity import storage_as_connection

        with storage_as_connection(self.gcp_conn_id, self.impersonation_chain):  # Vertex's identity, for GCS too
            training, validation = self.scan_data(config)
        fingerprint = self.dataset_fingerprint or files_fingerprint(training, validation)
        pipeline_id = self.owning_pipeline
        try:
            request = config.request(fingerprint, pipeline_id=pipeline_id)
            identity = config.identity_labels(fingerprint, pipeline_id=pipeline_id)
        except TuningConfigError as error:
            raise AirflowFailException(f"Task {self.task_id}: {error}") from None
        price = self.price(config)
        estimated_cost = tuning_cost_usd(training.estimated_tokens, config.epochs, price)
        self.log.info(
            "Tuning %s on dataset %s with config %s for pipeline %s: %d examples x %d epochs, ~%d tokens per epoch, "
            "estimated cost %s.",
            config.base_model,
            fingerprint,
            config.config_hash(),
            pipeline_id,
            training.example_count,
            config.epochs,
            training.estimated_tokens,
            f"${estimated_cost:,.2f}" if estimated_cost is not None else "unknown (no price for this model)",
        )
        launch = TuningJobLaunch(
            dry_run=dry_run,
            base_model=config.base_model,
            dataset_fingerprint=fingerprint,
            config_hash=config.config_hash(),
            labels=dict(request.labels),
            epochs=config.epochs,
            training_examples=training.example_count,
            estimated_billable_tokens=training.estimated_tokens,
            estimated_cost_usd=estimated_cost,
            request=request,
        )
        if dry_run:
            # An explicit "no job" (empty, not None: Airflow stores no XCom for None) lets the wait task resolve
            # its job name argument and skip, and keeps the link empty without a failed XCom lookup in the log.
            context["ti"].xcom_push(key=TUNING_JOB_NAME_XCOM_KEY, value="")
            self.log.info("Dry run: validated; this request would be sent (nothing created): %s", request.as_dict())
            return launch.to_json()

        hook = self.make_hook()
        store = task_state_store(context)
        try:
            job = self.recorded_job(store, hook, identity) or self.find_reusable_job(hook, identity)
            reused = job is not None
            if job is not None:
                self.log.info(
                    "Reusing tuning job %s (%s): it was created for the same dataset and config, so no "
                    "second job is paid for.",
                    job.name,
                    rule_for_state(job.state).state,
                )
            else:
                self.log.info("No reusable job for these labels; creating one: %s", request.as_dict())
                job, reused = self.create_job(hook, request, identity)
                if not reused:
                    self.log.info("Created tuning job %s (%s).", job.name, rule_for_state(job.state).state)
            if job.name:
                self.record_job(store, job.name)
        finally:
            hook.close()

        if not job.name:
            raise AirflowException("Vertex AI returned a tuning job without a name; cannot track it.")
        persist_job(context, job.name)
        summary = job_summary(job)
        actual_cost = tuning_cost_usd(summary.billable_tokens, summary.epochs or config.epochs, price)
        self.log.info("Tuning job page: %s", console_url(job.name))
        if summary.billable_tokens is not None:
            self.log.info(
                "Vertex counts %d billable tokens (estimate was %d): cost %s (estimate %s).",
                summary.billable_tokens,
                training.estimated_tokens,
                f"${actual_cost:,.2f}" if actual_cost is not None else "unknown",
                f"${estimated_cost:,.2f}" if estimated_cost is not None else "unknown",
            )
        return replace(
            launch,
            job_name=job.name,
            state=summary.state,
            reused=reused,
            console_url=console_url(job.name),
            billable_tokens=summary.billable_tokens,
            actual_cost_usd=actual_cost,
        ).to_json()
