"""Wait for a Vertex AI tuning job to finish: deferred to the triggerer by default.

``deferrable=True`` (default): ``execute()`` reads the job once (a finished job returns at once), then
defers to :class:`~gemini_qa_tuning.triggers.tuning.TuningJobTrigger`; no worker slot is held while the
job trains. ``deferrable=False``: a classic sensor in ``reschedule`` mode (the slot is released between
pokes).

Outcomes (see ``gemini_qa_tuning.tuning.JOB_STATE_RULES`` for every state):

* a tuned model exists (SUCCEEDED, or PARTIALLY_SUCCEEDED with an endpoint): returns (XCom)
  ``{"job_name", "state", "tuned_model", "endpoint", "billable_tokens", "epochs", "actual_cost_usd",
  "checkpoints"}`` (``checkpoints``: ``{"checkpoint_id", "epoch", "step", "endpoint"}`` each);
* FAILED / CANCELLED / EXPIRED: fails the task, without retries, with Vertex's error message;
* ``timeout`` seconds (or ``timeout_hours``) pass: cancels the job when ``cancel_on_timeout`` (default)
  and fails the task;
* no job name (``None`` or empty: the launch was a dry run): the task is skipped;
* a user stops the task (mark failed / mark success / clear) while it waits: the job is cancelled when
  ``cancel_on_kill`` (default): by the trigger's ``on_kill`` while deferred, by ``on_kill`` on a worker.
  A triggerer restart or a scheduler-side timeout does not count as a kill.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

# The Google provider's compat shim: airflow.sdk.exceptions from Airflow 3.2, airflow.exceptions on 3.1.
from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
)
from airflow.sdk import BaseSensorOperator, PokeReturnValue

from gemini_qa_tuning.api_errors import is_transient_api_error
from gemini_qa_tuning.job_polling import DEFAULT_MAX_BACKOFF, DEFAULT_POLL_INTERVAL
from gemini_qa_tuning.json_types import JsonObject
from gemini_qa_tuning.links.vertex_ai import VertexTuningJobLink, tuning_job_link_values
from gemini_qa_tuning.native_arguments import (
    NON_NEGATIVE_NUMBER,
    POSITIVE_NUMBER,
    TEXT,
    TEXT_OR_TEXTS,
    ArgumentTypeError,
    argument_problem,
    check_arguments,
)
from gemini_qa_tuning.operators.tuning import persist_job
from gemini_qa_tuning.triggers.tuning import TuningJobTrigger
from gemini_qa_tuning.tuning import (
    JobOutcome,
    JobSnapshot,
    TuningJobNameError,
    completion_result,
    job_summary,
    judge_job,
    parse_job_name,
    progress_text,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from gemini_qa_tuning.hooks.genai import GenAIVertexHook


def _task_deferral_timeout() -> type[BaseException]:
    """Airflow's TaskDeferralTimeout: in airflow.sdk.exceptions from 3.2, in airflow.exceptions on 3.1.

    Looked up where it exists (the common-compat shim does not map this one) rather than by version.
    """
    for module_name in ("airflow.sdk.exceptions", "airflow.exceptions"):
        found = getattr(importlib.import_module(module_name), "TaskDeferralTimeout", None)
        if isinstance(found, type) and issubclass(found, BaseException):
            return found
    raise ImportError("TaskDeferralTimeout is in neither airflow.sdk.exceptions nor airflow.exceptions.")


TaskDeferralTimeout = _task_deferral_timeout()

DEFAULT_TIMEOUT = timedelta(hours=24)
# Extra time Airflow allows a deferral beyond the trigger's own deadline: the trigger normally
# reports the timeout itself (so the job gets cancelled); this only catches a stuck triggerer.
DEFERRAL_GRACE = timedelta(minutes=10)
# The Google provider's sensors default ``deferrable`` to ``conf.getboolean("operators",
# "default_deferrable", fallback=False)``, and Airflow ships that option as false, so out of the box they
# wait on a worker. This sensor waits for hours to a day: waiting in the triggerer is its point, and the
# pipeline's deployments (Composer, docker-compose) run one. So it defers unless told otherwise, whatever
# that option says; a deployment without a triggerer passes deferrable=False (reschedule mode).
DEFAULT_DEFERRABLE = True


class TuningJobSensor(BaseSensorOperator):
    """Wait for a Vertex AI tuning job and return its tuned model and endpoint.

    Arguments are native values (the DAG renders templates as native objects); each is type-checked
    once, when the task runs.

    :param job_name: ``projects/P/locations/L/tuningJobs/ID`` (templated; e.g. from the launch task's
        XCom ``["job_name"]``); ``None`` or empty skips the task (the launch was a dry run).
    :param deferrable: wait in the triggerer (default, see :data:`DEFAULT_DEFERRABLE`). ``False``: poke in
        ``reschedule`` mode.
    :param poll_interval: seconds between two status reads, a number > 0 (also the poke interval;
        templated).
    :param timeout: how long to wait in total (seconds or timedelta; default 24 h).
    :param timeout_hours: how long to wait in total, in hours, a number > 0 (templated: e.g. a run's
        Param, which Airflow's own ``timeout`` cannot take because it must be a number when the DAG is
        parsed). When given, it replaces ``timeout`` once rendered, at execute time.
    :param cancel_on_timeout: cancel the Vertex job when the timeout expires (default true).
    :param cancel_on_kill: cancel the Vertex job when a user stops the task, also while it is deferred
        (default true).
    :param price_per_million_tokens: USD per million training tokens for ``actual_cost_usd``
        (templated; default: the base model's list price when known).
    :param gcp_conn_id: Airflow Google Cloud connection.
    :param impersonation_chain: service account(s) to impersonate.
    :param base_url: Vertex AI API base URL override (default: connection extra / environment).
    :param max_backoff: cap of the trigger's retry wait after a transient API error.
    """

    template_fields: Sequence[str] = (
        "job_name",
        "poll_interval",
        "timeout_hours",
        "price_per_million_tokens",
        "gcp_conn_id",
        "impersonation_chain",
        "base_url",
    )
    operator_extra_links = (VertexTuningJobLink(),)
    ui_color = "#e8f0fe"

    def __init__(
        self,
        *,
        job_name: str,
        deferrable: bool = DEFAULT_DEFERRABLE,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        timeout: float | timedelta = DEFAULT_TIMEOUT,
        timeout_hours: float | None = None,
        cancel_on_timeout: bool = True,
        cancel_on_kill: bool = True,
        price_per_million_tokens: float | None = None,
        gcp_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
        base_url: str | None = None,
        max_backoff: float = DEFAULT_MAX_BACKOFF,
        **kwargs: Any,
    ) -> None:
        if not deferrable:
            kwargs.setdefault("mode", "reschedule")
        if isinstance(poll_interval, int | float) and not isinstance(
            poll_interval, bool
        ):  # a template or XComArg resolves in execute(), which applies it
            kwargs.setdefault("poke_interval", poll_interval)
        super().__init__(timeout=timeout, **kwargs)
        self.job_name = job_name
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.timeout_hours = timeout_hours
        self.cancel_on_timeout = cancel_on_timeout
        self.cancel_on_kill = cancel_on_kill
        self.price_per_million_tokens = price_per_million_tokens
        self.gcp_conn_id = gcp_conn_id
        self.impersonation_chain = impersonation_chain
        self.base_url = base_url
        self.max_backoff = max_backoff

    # ------------------------------------------------------------------ helpers
    def check_argument_types(self) -> None:
        """Fail the task (no retry: a retry renders the same values) when a rendered argument has the wrong type."""
        try:
            check_arguments(
                f"Task {self.task_id}",
                [
                    argument_problem("job_name", self.job_name, TEXT, optional=True),
                    argument_problem("poll_interval", self.poll_interval, POSITIVE_NUMBER),
                    argument_problem("timeout_hours", self.timeout_hours, POSITIVE_NUMBER, optional=True),
                    argument_problem(
                        "price_per_million_tokens", self.price_per_million_tokens, NON_NEGATIVE_NUMBER, optional=True
                    ),
                    argument_problem("gcp_conn_id", self.gcp_conn_id, TEXT),
                    argument_problem("impersonation_chain", self.impersonation_chain, TEXT_OR_TEXTS, optional=True),
                    argument_problem("base_url", self.base_url, TEXT, optional=True),
                ],
            )
        except ArgumentTypeError as error:
            raise AirflowFailException(str(error)) from None

    def wait_timeout_seconds(self) -> float:
        """The rendered ``timeout_hours`` in seconds when given (Airflow's ``timeout`` had to be a number when
        the DAG was parsed, before any run's Params existed), else ``timeout``."""
        if self.timeout_hours is None:
            return float(self.timeout)
        return float(self.timeout_hours) * 3600

    def _checked_job_name(self) -> str:
        if not self.job_name:
            raise AirflowSkipException(
                f"Task {self.task_id}: no tuning job to wait for (the launch task ran as a dry run or created nothing)."
            )
        try:
            parse_job_name(self.job_name)
        except TuningJobNameError as error:
            raise AirflowFailException(
                f'Task {self.task_id}: {error} Pass the launch task\'s XCom ["job_name"].'
            ) from None
        return self.job_name

    @property
    def extra_links_params(self) -> dict[str, Any]:
        """The console link's values from ``job_name`` (the link reads them when no XCom has them)."""
        try:
            return tuning_job_link_values(self.job_name) if isinstance(self.job_name, str) else {}
        except TuningJobNameError:
            return {}

    def make_hook(self) -> GenAIVertexHook:
        """The hook for the job's project and location (both read from the job name)."""
        project, location, _ = parse_job_name(self.job_name)
        # Imported here: the hook pulls in the Google provider (grpc, ...) that DAG parsing need not load.
        from gemini_qa_tuning.hooks.genai import GenAIVertexHook

        return GenAIVertexHook(
            gcp_conn_id=self.gcp_conn_id,
            impersonation_chain=self.impersonation_chain,
            project_id=project,
            location=location,
            base_url=self.base_url,
        )

    def _finish(self, summary: JobSnapshot) -> JsonObject | None:
        """The XCom result when the job has a model, ``None`` while it runs; raises when it failed."""
        verdict = judge_job(summary)
        if verdict.outcome is JobOutcome.FAILED:
            raise AirflowFailException(verdict.message)
        if verdict.outcome is JobOutcome.WAITING:
            return None
        self.log.info("%s", verdict.message)
        if summary.state != "JOB_STATE_SUCCEEDED":
            self.log.warning(
                "Accepting %s because a tuned model endpoint exists; evaluation decides whether it is used.",
                summary.state,
            )
        result = completion_result(summary, self.price_per_million_tokens)
        if result.actual_cost_usd is not None:
            self.log.info(
                "Vertex billed %s tokens x %s epochs: $%.2f.",
                result.billable_tokens,
                result.epochs,
                result.actual_cost_usd,
            )
        return result.to_json()

    def cancel_job(self, reason: str) -> None:
        """Ask Vertex to cancel the job; a failure to cancel is logged, never raised over the real error."""
        try:
            hook = self.make_hook()
            try:
                hook.cancel_tuning_job(self.job_name)
            finally:
                hook.close()
            self.log.warning("Cancelled tuning job %s (%s).", self.job_name, reason)
        except Exception:
            self.log.exception(
                "Could not cancel tuning job %s (%s); cancel it in the console to stop paying for it.",
                self.job_name,
                reason,
            )

    # ------------------------------------------------------------------ reschedule / poke mode
    def poke(self, context: Context) -> bool | PokeReturnValue:
        """One status read: done with the result, not yet, or a failure."""
        hook = self.make_hook()
        try:
            job = hook.get_tuning_job(self.job_name)
        except Exception as error:
            if is_transient_api_error(error):
                self.log.warning("Transient error reading %s: %s; trying again next poke.", self.job_name, error)
                return False
            raise
        finally:
            hook.close()
        summary = job_summary(job)
        progress = progress_text(summary)
        self.log.info("Tuning job %s is %s%s.", self.job_name, summary.state, f" ({progress})" if progress else "")
        result = self._finish(summary)
        if result is None:
            return False
        return PokeReturnValue(is_done=True, xcom_value=result)

    # ------------------------------------------------------------------ execute
    def execute(self, context: Context) -> Any:
        """Check the job once; then defer (default) or poke until it finishes or times out."""
        self.check_argument_types()
        job_name = self._checked_job_name()
        poll_interval = self.poke_interval = float(self.poll_interval)
        self.timeout = self.wait_timeout_seconds()
        persist_job(context, job_name)
        if not self.deferrable:
            try:
                return super().execute(context)
            except AirflowSensorTimeout:
                if self.cancel_on_timeout:
                    self.cancel_job(f"sensor timeout of {self.timeout:g} s expired")
                raise

        hook = self.make_hook()
        try:
            summary = job_summary(hook.get_tuning_job(job_name))
        except Exception as error:
            if not is_transient_api_error(error):
                raise
            self.log.warning("Transient error on the first read of %s (%s); deferring anyway.", job_name, error)
            summary = None
        finally:
            hook.close()
        if summary is not None:
            result = self._finish(summary)
            if result is not None:
                return result  # already finished: no need to occupy the triggerer
            self.log.info("%s", judge_job(summary).message)

        timeout_seconds = float(self.timeout)
        deadline = time.time() + timeout_seconds
        self.log.info(
            "Deferring: the triggerer polls %s every %g s for up to %.0f s; no worker slot is held.",
            job_name,
            poll_interval,
            timeout_seconds,
        )
        self.defer(
            trigger=TuningJobTrigger(
                job_name=job_name,
                gcp_conn_id=self.gcp_conn_id,
                impersonation_chain=self.impersonation_chain,
                base_url=self.base_url,
                poll_interval=poll_interval,
                deadline=deadline,
                max_backoff=self.max_backoff,
                cancel_on_kill=self.cancel_on_kill,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=timeout_seconds) + DEFERRAL_GRACE,
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> JsonObject:
        """Interpret the trigger's event: return the result, or cancel and fail."""
        status = event.get("status")
        message = event.get("message") or f"no message (event {event!r})"
        if status == "success":
            result = self._finish(JobSnapshot.from_json(event["job"]))
            if result is None:  # pragma: no cover - the trigger only reports success with a model
                raise AirflowException(f"The trigger reported success for a job still running: {event!r}")
            return result
        if status == "failed":
            raise AirflowFailException(message)
        if status == "timeout":
            if self.cancel_on_timeout:
                self.cancel_job(f"sensor timeout of {self.wait_timeout_seconds():g} s expired")
            raise AirflowSensorTimeout(
                f"{message} {'It has been cancelled.' if self.cancel_on_timeout else 'It was left running.'}"
            )
        raise AirflowException(f"Waiting for tuning job {self.job_name} failed: {message}")

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context) -> Any:
        """Also cancel the job when Airflow's own deferral timeout (the stuck-triggerer backstop) fires."""
        try:
            return super().resume_execution(next_method, next_kwargs, context)
        except AirflowSensorTimeout as error:
            if self.cancel_on_timeout and isinstance(error.__cause__, TaskDeferralTimeout):
                self.cancel_job("the deferral timed out in Airflow")
            raise

    def on_kill(self) -> None:
        """Cancel the job when the task is killed while on a worker (and ``cancel_on_kill`` is set)."""
        if self.cancel_on_kill and isinstance(self.job_name, str) and self.job_name:
            self.cancel_job("the task was killed")
