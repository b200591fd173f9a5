"""Airflow operator extra links: buttons on a task that open the external resource it works on."""

from gemini_qa_tuning.links.vertex_ai import VertexTuningJobLink

__all__ = ["VertexTuningJobLink"]
