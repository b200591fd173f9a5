"""Deferred wait for a Vertex AI tuning job, run by the Airflow triggerer (no worker slot held).

The trigger polls ``client.aio.tunings.get`` every ``poll_interval`` seconds, logs each state change and
the progress the job reports, and yields exactly one event:

==========  ==============================================================================================
status      meaning and extra keys
==========  ==============================================================================================
success     the job produced a tuned model: ``state``, ``tuned_model``, ``endpoint``, ``job`` (summary)
failed      the job ended without a model (FAILED, CANCELLED, EXPIRED, or success without endpoint):
            ``state``, ``message`` (Vertex's error), ``job``
timeout     ``deadline`` passed while the job was still live: ``state`` (last seen); the sensor cancels
error       a non-transient API error (e.g. 403, 404), or transient errors (429, 5xx, network) for longer
            than ``max_transient_error_seconds`` in a row: ``message``
==========  ==============================================================================================

Every event also has ``status``, ``message`` and ``job_name``. ``run()`` has no side effects: it only
reads (on a timeout the sensor cancels the job, on the worker). The one write is :meth:`on_kill`, which
the triggerer calls only when a user marks the deferred task failed or succeeded, or clears it: with
``cancel_on_kill`` it cancels the job, as the sensor's own ``on_kill`` does on a worker.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent
from asgiref.sync import sync_to_async

from gemini_qa_tuning.api_errors import backoff_delay, is_transient_api_error, retry_after_seconds
from gemini_qa_tuning.tuning import (
    JobOutcome,
    console_url,
    job_summary,
    judge_job,
    parse_job_name,
    progress_text,
    rule_for_state,
)

if TYPE_CHECKING:
    from gemini_qa_tuning.hooks.genai import GenAIVertexHook

DEFAULT_POLL_INTERVAL = 60.0
DEFAULT_MAX_BACKOFF = 300.0
DEFAULT_MAX_TRANSIENT_ERROR_SECONDS = 1800.0
# Transient errors are first retried after this delay (or poll_interval if shorter), doubling each time.
FIRST_RETRY_DELAY = 2.0


class TuningJobTrigger(BaseTrigger):
    """Wait for a Vertex AI tuning job to finish without holding a worker slot.

    :param job_name: ``projects/P/locations/L/tuningJobs/ID``; project and location come from it.
    :param gcp_conn_id: Airflow Google Cloud connection.
    :param impersonation_chain: service account(s) to impersonate.
    :param base_url: Vertex AI API base URL override (else connection extra / environment).
    :param poll_interval: seconds between two status reads.
    :param deadline: Unix time after which a still-live job yields a ``timeout`` event; ``None``: never.
    :param max_backoff: cap, in seconds, of the wait before retrying a transient error (also caps the
        server's ``Retry-After``).
    :param max_transient_error_seconds: give up (``error`` event) after transient errors for this long
        without one successful read.
    :param cancel_on_kill: cancel the job when a user acts on the deferred task (see :meth:`on_kill`).
    """

    def __init__(
        self,
        job_name: str,
        gcp_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
        base_url: str | None = None,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        deadline: float | None = None,
        max_backoff: float = DEFAULT_MAX_BACKOFF,
        max_transient_error_seconds: float = DEFAULT_MAX_TRANSIENT_ERROR_SECONDS,
        cancel_on_kill: bool = False,
    ) -> None:
        super().__init__()
        parse_job_name(job_name)  # fail at defer time, on the worker, not later in the triggerer
        if poll_interval <= 0:
            raise ValueError(f"poll_interval must be > 0 seconds, got {poll_interval}.")
        self.job_name = job_name
        self.gcp_conn_id = gcp_conn_id
        self.impersonation_chain = (
            list(impersonation_chain)
            if impersonation_chain is not None and not isinstance(impersonation_chain, str)
            else impersonation_chain
        )
        self.base_url = base_url
        self.poll_interval = float(poll_interval)
        self.deadline = float(deadline) if deadline is not None else None
        self.max_backoff = float(max_backoff)
        self.max_transient_error_seconds = float(max_transient_error_seconds)
        self.cancel_on_kill = bool(cancel_on_kill)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Class path and exactly the constructor arguments (all JSON-serializable)."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "job_name": self.job_name,
                "gcp_conn_id": self.gcp_conn_id,
                "impersonation_chain": self.impersonation_chain,
                "base_url": self.base_url,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
                "max_backoff": self.max_backoff,
                "max_transient_error_seconds": self.max_transient_error_seconds,
                "cancel_on_kill": self.cancel_on_kill,
            },
        )

    def _build_hook(self) -> GenAIVertexHook:
        project, location, _ = parse_job_name(self.job_name)
        # Imported here: the hook pulls in the Google provider (grpc, ...) that DAG parsing need not load.
        from gemini_qa_tuning.hooks.genai import GenAIVertexHook

        hook = GenAIVertexHook(
            gcp_conn_id=self.gcp_conn_id,
            impersonation_chain=self.impersonation_chain,
            project_id=project,
            location=location,
            base_url=self.base_url,
            retry_attempts=1,  # this trigger owns retries, with backoff, a budget and logs
        )
        hook.get_client()  # reads the connection and credentials: blocking, so done in a thread
        return hook

    def _event(self, status: str, message: str, **values: Any) -> TriggerEvent:
        return TriggerEvent({"status": status, "message": message, "job_name": self.job_name, **values})

    def _seconds_left(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.time()

    def _retry_delay(self, error: BaseException, consecutive_failures: int) -> float:
        # Jittered, so that many triggers hitting the same quota do not retry together.
        delay = backoff_delay(
            consecutive_failures,
            base_seconds=min(FIRST_RETRY_DELAY, self.poll_interval),
            cap_seconds=self.max_backoff,
            rng=random.Random(),
        )
        server_delay = retry_after_seconds(error)
        if server_delay is not None:
            delay = max(delay, server_delay)
        return min(delay, self.max_backoff)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until the job finishes, the deadline passes or an API error is final; yield one event."""
        hook: GenAIVertexHook | None = None
        try:
            hook = await sync_to_async(self._build_hook)()
            self.log.info(
                "Waiting for tuning job %s (poll every %g s%s).",
                self.job_name,
                self.poll_interval,
                f", deadline in {self._seconds_left():.0f} s" if self.deadline is not None else "",
            )
            last_state: str | None = None
            last_progress = ""
            consecutive_failures = 0
            failing_since: float | None = None
            while True:
                try:
                    job = await hook.aget_tuning_job(self.job_name)
                except Exception as error:
                    if not is_transient_api_error(error):
                        raise
                    consecutive_failures += 1
                    failing_since = failing_since or time.monotonic()
                    failing_for = time.monotonic() - failing_since
                    if failing_for > self.max_transient_error_seconds:
                        yield self._event(
                            "error",
                            f"Gave up reading tuning job {self.job_name} after {consecutive_failures} "
                            f"transient errors over {failing_for:.0f} s; last: {error}. The job itself may "
                            "still be running: re-run this sensor to resume waiting.",
                            state=last_state,
                        )
                        return
                    delay = self._retry_delay(error, consecutive_failures)
                    self.log.warning(
                        "Transient error reading %s (%s in a row): %s. Retrying in %.1f s.",
                        self.job_name,
                        consecutive_failures,
                        error,
                        delay,
                    )
                    seconds_left = self._seconds_left()
                    if seconds_left is not None and seconds_left <= 0:
                        yield self._timeout_event(last_state)
                        return
                    await asyncio.sleep(delay if seconds_left is None else min(delay, seconds_left))
                    continue
                consecutive_failures, failing_since = 0, None
                summary = job_summary(job)
                state = summary.state
                progress = progress_text(summary)
                verdict = judge_job(summary)
                if state != last_state:
                    # PAUSED and CANCELLING need a person's attention (resume it / someone cancelled it).
                    attention = state in ("JOB_STATE_PAUSED", "JOB_STATE_CANCELLING")
                    (self.log.warning if attention else self.log.info)(
                        "Tuning job %s: %s -> %s (%s)",
                        self.job_name,
                        last_state or "first read",
                        state,
                        rule_for_state(state).reason,
                    )
                    last_state = state
                if progress and progress != last_progress:
                    self.log.info("Tuning job %s progress: %s", self.job_name, progress)
                    last_progress = progress
                if verdict.outcome is not JobOutcome.WAITING:
                    self.log.info("%s", verdict.message)
                if verdict.outcome is JobOutcome.SUCCEEDED:
                    yield self._event(
                        "success",
                        verdict.message,
                        state=state,
                        tuned_model=summary.tuned_model,
                        endpoint=summary.endpoint,
                        job=summary.to_json(),
                    )
                    return
                if verdict.outcome is JobOutcome.FAILED:
                    yield self._event("failed", verdict.message, state=state, job=summary.to_json())
                    return
                seconds_left = self._seconds_left()
                if seconds_left is not None and seconds_left <= 0:
                    yield self._timeout_event(state)
                    return
                await asyncio.sleep(
                    self.poll_interval if seconds_left is None else min(self.poll_interval, seconds_left)
                )
        except Exception as error:
            self.log.exception("Waiting for tuning job %s failed", self.job_name)
            yield self._event(
                "error",
                f"Could not read tuning job {self.job_name}: {type(error).__name__}: {error}. Check the "
                f"connection {self.gcp_conn_id!r}, the job name and permissions (aiplatform.tuningJobs.get).",
            )
        finally:
            if hook is not None:
                await hook.aclose()

    def _timeout_event(self, state: str | None) -> TriggerEvent:
        return self._event(
            "timeout",
            f"Tuning job {self.job_name} was still {state or 'not readable'} when the sensor's timeout expired.",
            state=state,
        )

    async def on_kill(self) -> None:
        """Cancel the job when a user acts on the deferred task and ``cancel_on_kill`` is set.

        The triggerer calls this on "mark failed", "mark success" and "clear" of the deferred task, not on
        its own restarts or on the trigger's timeout. Errors are logged (the triggerer ignores them).
        """
        if not self.cancel_on_kill:
            self.log.info("The task was stopped; tuning job %s is left running (cancel_on_kill=False).", self.job_name)
            return
        hook: GenAIVertexHook | None = None
        try:
            hook = await sync_to_async(self._build_hook)()
            await hook.acancel_tuning_job(self.job_name)
            self.log.warning("The task was stopped by a user: cancelled tuning job %s.", self.job_name)
        except Exception:
            self.log.exception(
                "Could not cancel tuning job %s after the task was stopped; cancel it in the console (%s) "
                "to stop paying for it.",
                self.job_name,
                console_url(self.job_name),
            )
        finally:
            if hook is not None:
                await hook.aclose()
