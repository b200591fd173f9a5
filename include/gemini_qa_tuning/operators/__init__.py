"""Airflow operators: thin adapters between Airflow tasks and the domain modules."""

from gemini_qa_tuning.operators.tuning import LaunchTuningJobOperator, VertexTuningJobLink

__all__ = ["LaunchTuningJobOperator", "VertexTuningJobLink"]
