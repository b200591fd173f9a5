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

import random
import time
from typing import TYPE_CHECKING, Any, ClassVar

from gemini_qa_tuning.job_polling import (
    DEFAULT_MAX_BACKOFF,
    DEFAULT_MAX_TRANSIENT_ERROR_SECONDS,
    DEFAULT_POLL_INTERVAL,
    PollPolicy,
    PollState,
    PollStep,
    next_poll_step,
)
from gemini_qa_tuning.triggers.vertex_job import VertexJobTrigger
from gemini_qa_tuning.tuning import JobSnapshot, console_url, job_summary, parse_job_name

if TYPE_CHECKING:
    from gemini_qa_tuning.hooks.genai import GenAIVertexHook

__all__ = ["DEFAULT_MAX_BACKOFF", "DEFAULT_MAX_TRANSIENT_ERROR_SECONDS", "DEFAULT_POLL_INTERVAL", "TuningJobTrigger"]


class TuningJobTrigger(VertexJobTrigger):
    """Wait for a Vertex AI tuning job to finish without holding a worker slot.

    The parameters are :class:`~gemini_qa_tuning.triggers.vertex_job.VertexJobTrigger`'s; ``job_name`` is
    ``projects/P/locations/L/tuningJobs/ID``.
    """

    job_kind: ClassVar[str] = "tuning job"
    read_permission: ClassVar[str] = "aiplatform.tuningJobs.get"

    @staticmethod
    def parse_name(job_name: str) -> tuple[str, str, str]:
        return parse_job_name(job_name)

    async def _read(self, hook: GenAIVertexHook) -> JobSnapshot | Exception:
        """The job's summary, or the error reading it raised (judged by :func:`next_poll_step`)."""
        try:
            return job_summary(await hook.aget_tuning_job(self.job_name))
        except Exception as error:
            return error

    async def poll_step(
        self, hook: GenAIVertexHook, state: PollState, policy: PollPolicy, rng: random.Random
    ) -> tuple[PollStep, dict[str, Any]]:
        step = next_poll_step(
            await self._read(hook),
            state,
            job_name=self.job_name,
            policy=policy,
            now=time.time(),
            deadline=self.deadline,
            rng=rng,
        )
        return step, (step.event.payload() if step.event is not None else {})

    async def cancel(self, hook: GenAIVertexHook) -> None:
        await hook.acancel_tuning_job(self.job_name)

    def cancel_failure_hint(self) -> str:
        return f"cancel it in the console ({console_url(self.job_name)}) to stop paying for it"
