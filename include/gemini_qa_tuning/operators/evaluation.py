"""The evaluate_base / evaluate_tuned / evaluate_champion tasks: online, or one deferred batch job.

A thin adapter over the pipeline's steps. Online (the Param ``eval_mode`` ``online``, or ``auto`` below
``batch_min_questions`` test questions) ``execute`` runs exactly the online step it always ran
(:func:`gemini_qa_tuning.pipeline.steps.evaluate_base` …). In batch mode it submits (or, on a retry, finds
by labels) one Vertex batch prediction job and defers to
:class:`~gemini_qa_tuning.triggers.batch.BatchPredictionJobTrigger`: the triggerer waits, no worker slot is
held; ``execute_complete`` then reads the output files and scores them into the same ``PredictionRun``.
The task returns that run's JSON either way (its XCom is what compare_models reads).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException
from airflow.sdk import BaseOperator

from gemini_qa_tuning.create_lookup import (
    DEFAULT_CREATE_LOOKUP_INTERVAL_SECONDS,
    DEFAULT_CREATE_VISIBILITY_WAIT_SECONDS,
    CreateLookupPolicy,
)

__all__ = ["EvaluateModelOperator"]

Role = Literal["base", "tuned", "champion"]


class EvaluateModelOperator(BaseOperator):
    """Ask one model (base, tuned or champion) every test question and score it with SQuAD EM/F1.

    :param role: ``base``, ``tuned`` or ``champion``: whom to ask, and the folder of its answers.
    :param exported: the export task's result (``ExportedDataset`` JSON).
    :param settings: the run's Params (``PipelineParams`` JSON from check_params).
    :param tuned: the tuning wait's result (``TunedModel`` JSON); for ``tuned`` and ``champion``.
    :param champion: the find_champion result (``CurrentChampion`` JSON or ``None``); for ``champion``.
    :param create_visibility_wait_seconds: batch mode, after a create of the batch job whose outcome is
        unknown (timeout, dropped connection, 5xx): keep listing by labels this long before failing
        (default 180; see :class:`~gemini_qa_tuning.create_lookup.CreateLookupPolicy`).
    :param create_lookup_interval_seconds: pause between those lookups (default 15).
    """

    template_fields = ("exported", "settings", "tuned", "champion")
    ui_color = "#e8f4ea"

    def __init__(
        self,
        *,
        role: Role,
        exported: Any,
        settings: Any,
        tuned: Any = None,
        champion: Any = None,
        create_visibility_wait_seconds: float = DEFAULT_CREATE_VISIBILITY_WAIT_SECONDS,
        create_lookup_interval_seconds: float = DEFAULT_CREATE_LOOKUP_INTERVAL_SECONDS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if role not in ("base", "tuned", "champion"):
            raise ValueError(f"role must be base, tuned or champion, got {role!r}.")
        self.role: Role = role
        self.exported = exported
        self.settings = settings
        self.tuned = tuned
        self.champion = champion
        self.create_lookup = CreateLookupPolicy(
            visibility_wait_seconds=create_visibility_wait_seconds, interval_seconds=create_lookup_interval_seconds
        )

    # ------------------------------------------------------------------ records
    def _records(self) -> tuple[Any, Any, Any, Any]:
        from gemini_qa_tuning.pipeline import steps

        params = steps.PipelineParams.from_json(self.settings)
        exported = steps.ExportedDataset.from_json(self.exported)
        tuned = steps.TunedModel.from_json(self.tuned) if self.tuned else None
        champion = steps.CurrentChampion.from_json(self.champion) if self.champion else None
        return params, exported, tuned, champion

    def _online(self, params: Any, exported: Any, tuned: Any, champion: Any, run_id: str) -> Any:
        from gemini_qa_tuning.pipeline import steps

        if self.role == "base":
            return steps.evaluate_base(exported, params, run_id)
        if self.role == "tuned":
            return steps.evaluate_tuned(tuned, exported, params, run_id)
        return steps.evaluate_champion(champion, tuned, exported, params, run_id)

    def _hook(self, params: Any) -> Any:
        from gemini_qa_tuning.pipeline.steps import vertex_hook

        return vertex_hook(params)

    # ------------------------------------------------------------------ execution
    def execute(self, context: Any) -> Any:
        from gemini_qa_tuning.pipeline import batch_steps

        params, exported, tuned, champion = self._records()
        run_id = str(context["run_id"])
        mode = batch_steps.evaluation_mode(exported, params)
        target = batch_steps.batch_target(self.role, params, tuned, champion) if mode == "batch" else None
        if target is None:
            if mode == "batch":
                self.log.warning("The %s model can only be asked online (no Model resource is known).", self.role)
            return self._online(params, exported, tuned, champion, run_id).to_json()
        self.log.info(
            "Evaluating the %s model in batch mode (eval_mode %s, %d test questions, batch from %d).",
            self.role,
            params.eval_mode,
            exported.counts.test,
            params.batch_min_questions,
        )
        hook = self._hook(params)
        try:
            evaluation, job = batch_steps.start_batch_evaluation(
                target, exported, params, run_id, hook, self.create_lookup
            )
        finally:
            hook.close()
        from gemini_qa_tuning.evaluation.batch import BatchOutcome, judge_batch_job

        if judge_batch_job(job)[0] is not BatchOutcome.WAITING:  # a retry found it ended: read it now
            return batch_steps.finish_batch_evaluation(evaluation, job, exported, params).to_json()
        from gemini_qa_tuning.triggers.batch import BatchPredictionJobTrigger

        self.defer(
            trigger=BatchPredictionJobTrigger(
                job_name=job.name,
                gcp_conn_id=params.gcp_conn_id,
                impersonation_chain=list(params.impersonation_chain) or None,
                poll_interval=params.poll_interval_seconds,
                # No deadline: Vertex ends a batch job that runs too long itself (JOB_STATE_EXPIRED).
                cancel_on_kill=True,
                # Carried in the event (not in the deferral's kwargs): the event is all the resumption needs.
                carry={"evaluation": evaluation.to_json()},
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Any, event: Mapping[str, Any]) -> Any:
        """Resumed by the trigger's event: read and score the answers, or fail saying why."""
        from gemini_qa_tuning.evaluation.batch import BatchJobSnapshot
        from gemini_qa_tuning.pipeline import batch_steps

        params, exported, _, _ = self._records()
        status = event.get("status")
        message = str(event.get("message") or "")
        carry = event.get("carry")
        if status == "success" and isinstance(event.get("job"), Mapping) and isinstance(carry, Mapping):
            evaluation = batch_steps.BatchEvaluation.from_json(carry["evaluation"])
            job = BatchJobSnapshot.from_json(event["job"])
            return batch_steps.finish_batch_evaluation(evaluation, job, exported, params).to_json()
        if status == "failed":  # the job ended without answers; a retry would wait for nothing
            raise AirflowFailException(message)
        # A read error or a timeout: a task retry finds the same job by its labels and waits again.
        raise AirflowException(message or f"The batch wait ended with {dict(event)!r}.")
