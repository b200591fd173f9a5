"""Deferred wait for a Vertex AI batch prediction job, run by the Airflow triggerer (no worker slot held).

The batch counterpart of :class:`gemini_qa_tuning.triggers.tuning.TuningJobTrigger`: it reads the job with
``client.aio.batches.get`` every ``poll_interval`` seconds and yields exactly one event, decided by
:func:`gemini_qa_tuning.evaluation.batch.next_batch_poll_step` (pure; transient errors are judged by the
tuning wait's rules). Event ``status``: ``success`` (the job ended with answers: ``job`` is its
:class:`~gemini_qa_tuning.evaluation.batch.BatchJobSnapshot`), ``failed`` (FAILED, CANCELLED, EXPIRED),
``timeout`` (the deadline passed while it was live) or ``error`` (a read that no wait can fix, or transient
errors past their budget); every event has ``message`` and ``job_name``.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent
from asgiref.sync import sync_to_async

from gemini_qa_tuning.evaluation.batch import BatchJobSnapshot, next_batch_poll_step
from gemini_qa_tuning.job_polling import (
    DEFAULT_MAX_BACKOFF,
    DEFAULT_MAX_TRANSIENT_ERROR_SECONDS,
    PollPolicy,
    PollState,
    PollStatus,
)

if TYPE_CHECKING:
    from gemini_qa_tuning.hooks.genai import GenAIVertexHook

__all__ = ["BatchPredictionJobTrigger", "parse_batch_job_name"]

_BATCH_JOB_NAME = re.compile(
    r"^projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/batchPredictionJobs/(?P<id>[^/]+)$"
)


def parse_batch_job_name(name: str) -> tuple[str, str, str]:
    """``projects/P/locations/L/batchPredictionJobs/ID`` -> ``(P, L, ID)``."""
    match = _BATCH_JOB_NAME.match(name or "")
    if match is None:
        raise ValueError(
            f"{name!r} is not a batch prediction job resource name; expected "
            "'projects/<project>/locations/<location>/batchPredictionJobs/<id>'."
        )
    return match["project"], match["location"], match["id"]


class BatchPredictionJobTrigger(BaseTrigger):
    """Wait for a Vertex AI batch prediction job to end without holding a worker slot.

    :param job_name: ``projects/P/locations/L/batchPredictionJobs/ID``; project and location come from it.
    :param gcp_conn_id: Airflow Google Cloud connection.
    :param impersonation_chain: service account(s) to impersonate.
    :param base_url: Vertex AI API base URL override (else connection extra / environment).
    :param poll_interval: seconds between two reads.
    :param deadline: Unix time after which a live job yields a ``timeout`` event; ``None``: never.
    :param max_backoff: cap, in seconds, of the wait before retrying a transient error.
    :param max_transient_error_seconds: give up after transient errors for this long in a row.
    :param cancel_on_kill: cancel the job when a user marks the deferred task failed/success or clears it.
    :param carry: JSON the deferring task needs back (returned unchanged in every event under ``carry``);
        the event is then the one input of the task's resumption.
    """

    def __init__(
        self,
        job_name: str,
        gcp_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
        base_url: str | None = None,
        poll_interval: float = 30.0,
        deadline: float | None = None,
        max_backoff: float = DEFAULT_MAX_BACKOFF,
        max_transient_error_seconds: float = DEFAULT_MAX_TRANSIENT_ERROR_SECONDS,
        cancel_on_kill: bool = False,
        carry: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        parse_batch_job_name(job_name)  # fail at defer time, on the worker
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
        self.carry = dict(carry) if carry is not None else None

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
                "carry": self.carry,
            },
        )

    def _build_hook(self) -> GenAIVertexHook:
        project, location, _ = parse_batch_job_name(self.job_name)
        from gemini_qa_tuning.hooks.genai import GenAIVertexHook

        hook = GenAIVertexHook(
            gcp_conn_id=self.gcp_conn_id,
            impersonation_chain=self.impersonation_chain,
            project_id=project,
            location=location,
            base_url=self.base_url,
            retry_attempts=1,  # this trigger owns retries, with backoff and a budget
        )
        hook.get_client()  # reads the connection and credentials: blocking, so done in a thread
        return hook

    async def _read(self, hook: GenAIVertexHook) -> BatchJobSnapshot | Exception:
        try:
            return BatchJobSnapshot.from_sdk(await hook.aget_batch_job(self.job_name))
        except Exception as error:
            return error

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Read the job until it ends (or the deadline, or an error); yield its one event. Never raises."""
        hook: GenAIVertexHook | None = None
        try:
            hook = await sync_to_async(self._build_hook)()
            self.log.info("Waiting for batch prediction job %s (poll every %g s).", self.job_name, self.poll_interval)
            policy = PollPolicy(
                poll_interval=self.poll_interval,
                max_backoff=self.max_backoff,
                max_transient_error_seconds=self.max_transient_error_seconds,
            )
            state, rng = PollState(), random.Random()
            while True:
                step, job = next_batch_poll_step(
                    await self._read(hook), state, policy=policy, now=time.time(), deadline=self.deadline, rng=rng
                )
                for line in step.logs:
                    (self.log.warning if line.level == "warning" else self.log.info)("%s", line.text)
                if step.event is not None:
                    payload = {**step.event.payload(), "job_name": self.job_name, "carry": self.carry}
                    if job is not None:
                        payload["job"] = job.to_json()
                    yield TriggerEvent(payload)
                    return
                state = step.state
                await asyncio.sleep(step.sleep_seconds or 0.0)
        except Exception as error:
            self.log.exception("Waiting for batch prediction job %s failed", self.job_name)
            yield TriggerEvent(
                {
                    "status": str(PollStatus.ERROR),
                    "message": f"Could not read batch prediction job {self.job_name}: {type(error).__name__}: "
                    f"{error}. Check the connection {self.gcp_conn_id!r} and permissions "
                    "(aiplatform.batchPredictionJobs.get).",
                    "job_name": self.job_name,
                    "carry": self.carry,
                }
            )
        finally:
            if hook is not None:
                await hook.aclose()

    async def on_kill(self) -> None:
        """Cancel the job when a user acts on the deferred task and ``cancel_on_kill`` is set."""
        if not self.cancel_on_kill:
            return
        hook: GenAIVertexHook | None = None
        try:
            hook = await sync_to_async(self._build_hook)()
            await hook.acancel_batch_job(self.job_name)
            self.log.warning("The task was stopped by a user: cancelled batch prediction job %s.", self.job_name)
        except Exception:
            self.log.exception("Could not cancel batch prediction job %s; cancel it in the console.", self.job_name)
        finally:
            if hook is not None:
                await hook.aclose()
