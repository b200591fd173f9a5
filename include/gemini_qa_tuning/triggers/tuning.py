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

Every event also has ``status``, ``message`` and ``job_name``. When to read again, how long to back off and
when to give up is decided by :func:`gemini_qa_tuning.job_polling.next_poll_step` (pure, unit-tested);
``run()`` only reads, logs, sleeps and yields. ``run()`` has no side effects: it only
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

from gemini_qa_tuning.job_polling import (
    DEFAULT_MAX_BACKOFF,
    DEFAULT_MAX_TRANSIENT_ERROR_SECONDS,
    DEFAULT_POLL_INTERVAL,
    PollPolicy,
    PollState,
    PollStatus,
    next_poll_step,
)
from gemini_qa_tuning.tuning import JobSnapshot, console_url, job_summary, parse_job_name

if TYPE_CHECKING:
    from gemini_qa_tuning.hooks.genai import GenAIVertexHook

__all__ = ["DEFAULT_MAX_BACKOFF", "DEFAULT_MAX_TRANSIENT_ERROR_SECONDS", "DEFAULT_POLL_INTERVAL", "TuningJobTrigger"]


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

    @property
    def policy(self) -> PollPolicy:
        """The polling, backoff and error-budget settings of this wait."""
        return PollPolicy(
            poll_interval=self.poll_interval,
            max_backoff=self.max_backoff,
            max_transient_error_seconds=self.max_transient_error_seconds,
        )

    async def _read(self, hook: GenAIVertexHook) -> JobSnapshot | Exception:
        """The job's summary, or the error reading it raised (judged by :func:`next_poll_step`)."""
        try:
            return job_summary(await hook.aget_tuning_job(self.job_name))
        except Exception as error:
            return error

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Read the job until :func:`next_poll_step` says stop; yield its one event. Never raises."""
        hook: GenAIVertexHook | None = None
        try:
            hook = await sync_to_async(self._build_hook)()
            self.log.info("Waiting for tuning job %s (poll every %g s).", self.job_name, self.poll_interval)
            policy, state, rng = self.policy, PollState(), random.Random()
            while True:
                step = next_poll_step(
                    await self._read(hook),
                    state,
                    job_name=self.job_name,
                    policy=policy,
                    now=time.time(),
                    deadline=self.deadline,
                    rng=rng,
                )
                for line in step.logs:
                    (self.log.warning if line.level == "warning" else self.log.info)("%s", line.text)
                if step.event is not None:
                    yield TriggerEvent(step.event.payload())
                    return
                state = step.state
                await asyncio.sleep(step.sleep_seconds or 0.0)
        except Exception as error:
            self.log.exception("Waiting for tuning job %s failed", self.job_name)
            yield TriggerEvent(
                {
                    "status": str(PollStatus.ERROR),
                    "message": f"Could not read tuning job {self.job_name}: {type(error).__name__}: {error}. "
                    f"Check the connection {self.gcp_conn_id!r}, the job name and permissions "
                    "(aiplatform.tuningJobs.get).",
                    "job_name": self.job_name,
                }
            )
        finally:
            if hook is not None:
                await hook.aclose()

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
