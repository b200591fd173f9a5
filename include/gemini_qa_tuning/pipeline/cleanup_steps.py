"""The clean-up task of the tuning DAG: delete the losing tuned models (see :mod:`gemini_qa_tuning.cleanup`)."""

from __future__ import annotations

import logging

from airflow.providers.common.compat.sdk import AirflowSkipException

from gemini_qa_tuning.pipeline.params import PipelineParams

__all__ = ["clean_up_models"]

logger = logging.getLogger(__name__)


def clean_up_models(params: PipelineParams) -> list[str]:
    """Delete the losing tuned models beyond the newest ``keep_last_models``; returns the deleted models.

    Skipped unless ``delete_losing_models``. The champion state is read right before deleting, so a
    promotion or rollback written meanwhile protects its model too.
    """
    from gemini_qa_tuning.champion import read_champion_state
    from gemini_qa_tuning.cleanup import TunedModelCandidate, models_to_delete, protected_models
    from gemini_qa_tuning.hooks.model_registry import model_registry_for
    from gemini_qa_tuning.pipeline.steps import as_connection, vertex_hook
    from gemini_qa_tuning.tuning import JobOutcome, JobSnapshot, judge_job
    from gemini_qa_tuning.tuning.resources import MANAGED_BY_LABEL_KEY, MANAGED_BY_LABEL_VALUE, PIPELINE_LABEL_KEY

    if not params.delete_losing_models:
        raise AirflowSkipException("delete_losing_models is off: no tuned model is deleted.")
    hook = vertex_hook(params)
    registry = model_registry_for(hook)
    try:
        labels = {PIPELINE_LABEL_KEY: params.owning_pipeline, MANAGED_BY_LABEL_KEY: MANAGED_BY_LABEL_VALUE}
        candidates = []
        for job in hook.list_tuning_jobs_by_labels(labels):
            snapshot = JobSnapshot.from_sdk(job)
            if judge_job(snapshot).outcome is JobOutcome.SUCCEEDED and snapshot.tuned_model:
                created = job.create_time.isoformat() if job.create_time else ""
                candidates.append(TunedModelCandidate(snapshot.tuned_model.split("@", 1)[0], created, job.name))
        with as_connection(params, hook):
            protected = protected_models(read_champion_state(params.gcs_prefix))
        deleted = []
        for candidate in models_to_delete(candidates, protected, params.keep_last_models):
            if registry.delete_model(candidate.model):
                logger.info("Deleted the losing tuned model %s (job %s)", candidate.model, candidate.job_name)
                deleted.append(candidate.model)
        logger.info(
            "Clean-up: %d deleted, %d kept (the newest %d losers, the champion and %d model(s) of the history)",
            len(deleted),
            len(candidates) - len(deleted),
            params.keep_last_models,
            len(protected),
        )
        return deleted
    finally:
        registry.close()
        hook.close()
