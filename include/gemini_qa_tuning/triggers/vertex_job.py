"""What the triggerer's waits for Vertex AI jobs share: settings, serialization, the hook, the poll loop, on_kill.

:class:`VertexJobTrigger` reads one job until a pure poll rule says stop and yields exactly one event; each
kind of job (:class:`~gemini_qa_tuning.triggers.tuning.TuningJobTrigger`,
:class:`~gemini_qa_tuning.triggers.batch.BatchPredictionJobTrigger`) says how to parse its resource name,
how to read and judge one read, and how to cancel the job. ``run()`` only reads, logs, sleeps and yields; the
one write is :meth:`VertexJobTrigger.on_kill`, which the triggerer calls only when a user marks the deferred
task failed or succeeded, or clears it — not on its own restarts or on the trigger's timeout.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.triggers.base import BaseTrigger, TriggerEvent
from asgiref.sync import sync_to_async

from gemini_qa_tuning.job_polling import (
    DEFAULT_MAX_BACKOFF,
    DEFAULT_MAX_TRANSIENT_ERROR_SECONDS,
    DEFAULT_POLL_INTERVAL,
    PollPolicy,
    PollState,
    PollStatus,
    PollStep,
)

if TYPE_CHECKING:
    from gemini_qa_tuning.hooks.genai import GenAIVertexHook

__all__ = ["VertexJobTrigger"]


class VertexJobTrigger(BaseTrigger):
    """Wait for one Vertex AI job to end without holding a worker slot.

    :param job_name: ``projects/P/locations/L/<jobs>/ID``; project and location come from it.
    :param gcp_conn_id: Airflow Google Cloud connection.
    :param impersonation_chain: service account(s) to impersonate.
    :param base_url: Vertex AI API base URL override (else connection extra / environment).
    :param poll_interval: seconds between two reads.
    :param deadline: Unix time after which a still-live job yields a ``timeout`` event; ``None``: never.
    :param max_backoff: cap, in seconds, of the wait before retrying a transient error (also caps the
        server's ``Retry-After``).
    :param max_transient_error_seconds: give up (``error`` event) after transient errors for this long
        without one successful read.
    :param cancel_on_kill: cancel the job when a user acts on the deferred task (see :meth:`on_kill`).
    """

    #: The job's kind in logs and messages, e.g. "tuning job".
    job_kind: ClassVar[str]
    #: The IAM permission a read needs, named when reading fails.
    read_permission: ClassVar[str]

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
        self.parse_name(job_name)  # fail at defer time, on the worker, not later in the triggerer
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

    # ------------------------------------------------------------------ what each kind of job says
    @staticmethod
    def parse_name(job_name: str) -> tuple[str, str, str]:
        """``(project, location, id)`` of the job's resource name; raises ``ValueError`` for anything else."""
        raise NotImplementedError

    async def poll_step(
        self, hook: GenAIVertexHook, state: PollState, policy: PollPolicy, rng: random.Random
    ) -> tuple[PollStep, dict[str, Any]]:
        """Read the job once and judge the read: the next step, and the payload of its event if it ends."""
        raise NotImplementedError

    async def cancel(self, hook: GenAIVertexHook) -> None:
        """Cancel the job."""
        raise NotImplementedError

    def cancel_failure_hint(self) -> str:
        """What the user should do when the cancel in :meth:`on_kill` failed."""
        return "cancel it in the console to stop paying for it"

    def event_extras(self) -> dict[str, Any]:
        """Keys every event of this trigger carries besides ``status`` and ``message``."""
        return {"job_name": self.job_name}

    def arguments(self) -> dict[str, Any]:
        """Exactly the constructor arguments (all JSON-serializable)."""
        return {
            "job_name": self.job_name,
            "gcp_conn_id": self.gcp_conn_id,
            "impersonation_chain": self.impersonation_chain,
            "base_url": self.base_url,
            "poll_interval": self.poll_interval,
            "deadline": self.deadline,
            "max_backoff": self.max_backoff,
            "max_transient_error_seconds": self.max_transient_error_seconds,
            "cancel_on_kill": self.cancel_on_kill,
        }

    # ------------------------------------------------------------------ shared
    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Class path and exactly the constructor arguments."""
        return f"{type(self).__module__}.{type(self).__qualname__}", self.arguments()

    @property
    def policy(self) -> PollPolicy:
        """The polling, backoff and error-budget settings of this wait."""
        return PollPolicy(
            poll_interval=self.poll_interval,
            max_backoff=self.max_backoff,
            max_transient_error_seconds=self.max_transient_error_seconds,
        )

    def _build_hook(self) -> GenAIVertexHook:
        project, location, _ = self.parse_name(self.job_name)
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

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Read the job until its poll rule says stop; yield its one event. Never raises."""
        hook: GenAIVertexHook | None = None
        try:
            hook = await sync_to_async(self._build_hook)()
            self.log.info("Waiting for %s %s (poll every %g s).", self.job_kind, self.job_name, self.poll_interval)
            policy, state, rng = self.policy, PollState(), random.Random()
            while True:
                step, payload = await self.poll_step(hook, state, policy, rng)
                for line in step.logs:
                    (self.log.warning if line.level == "warning" else self.log.info)("%s", line.text)
                if step.event is not None:
                    yield TriggerEvent(payload)
                    return
                state = step.state
                await asyncio.sleep(step.sleep_seconds or 0.0)
        except Exception as error:
            self.log.exception("Waiting for %s %s failed", self.job_kind, self.job_name)
            yield TriggerEvent(
                {
                    "status": str(PollStatus.ERROR),
                    "message": f"Could not read {self.job_kind} {self.job_name}: {type(error).__name__}: {error}. "
                    f"Check the connection {self.gcp_conn_id!r}, the job name and permissions "
                    f"({self.read_permission}).",
                    **self.event_extras(),
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
            self.log.info(
                "The task was stopped; %s %s is left running (cancel_on_kill=False).", self.job_kind, self.job_name
            )
            return
        hook: GenAIVertexHook | None = None
        try:
            hook = await sync_to_async(self._build_hook)()
            await self.cancel(hook)
            self.log.warning("The task was stopped by a user: cancelled %s %s.", self.job_kind, self.job_name)
        except Exception:
            self.log.exception(
                "Could not cancel %s %s after the task was stopped; %s.",
                self.job_kind,
                self.job_name,
                self.cancel_failure_hint(),
            )
        finally:
            if hook is not None:
                await hook.aclose()
