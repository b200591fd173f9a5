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

import random
import re
import time
from typing import TYPE_CHECKING, Any, ClassVar

from gemini_qa_tuning.evaluation.batch import BatchJobSnapshot, next_batch_poll_step
from gemini_qa_tuning.job_polling import PollPolicy, PollState, PollStep
from gemini_qa_tuning.triggers.vertex_job import VertexJobTrigger

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


class BatchPredictionJobTrigger(VertexJobTrigger):
    """Wait for a Vertex AI batch prediction job to end without holding a worker slot.

    The parameters are :class:`~gemini_qa_tuning.triggers.vertex_job.VertexJobTrigger`'s (``job_name`` is
    ``projects/P/locations/L/batchPredictionJobs/ID``; ``poll_interval`` defaults to 30 s), plus:

    :param carry: JSON the deferring task needs back (returned unchanged in every event under ``carry``);
        the event is then the one input of the task's resumption.
    """

    job_kind: ClassVar[str] = "batch prediction job"
    read_permission: ClassVar[str] = "aiplatform.batchPredictionJobs.get"

    def __init__(
        self, job_name: str, poll_interval: float = 30.0, carry: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(job_name, poll_interval=poll_interval, **kwargs)
        self.carry = dict(carry) if carry is not None else None

    @staticmethod
    def parse_name(job_name: str) -> tuple[str, str, str]:
        return parse_batch_job_name(job_name)

    def arguments(self) -> dict[str, Any]:
        return {**super().arguments(), "carry": self.carry}

    def event_extras(self) -> dict[str, Any]:
        return {**super().event_extras(), "carry": self.carry}

    async def _read(self, hook: GenAIVertexHook) -> BatchJobSnapshot | Exception:
        try:
            return BatchJobSnapshot.from_sdk(await hook.aget_batch_job(self.job_name))
        except Exception as error:
            return error

    async def poll_step(
        self, hook: GenAIVertexHook, state: PollState, policy: PollPolicy, rng: random.Random
    ) -> tuple[PollStep, dict[str, Any]]:
        step, job = next_batch_poll_step(
            await self._read(hook), state, policy=policy, now=time.time(), deadline=self.deadline, rng=rng
        )
        if step.event is None:
            return step, {}
        payload = {**step.event.payload(), **self.event_extras()}
        if job is not None:
            payload["job"] = job.to_json()
        return step, payload

    async def cancel(self, hook: GenAIVertexHook) -> None:
        await hook.acancel_batch_job(self.job_name)
