"""Airflow triggers: asynchronous waits that run in the triggerer, not on a worker."""

from gemini_qa_tuning.triggers.tuning import TuningJobTrigger

__all__ = ["TuningJobTrigger"]
