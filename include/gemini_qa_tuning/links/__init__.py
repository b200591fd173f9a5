"""Airflow operator extra links (temporary re-export until the link class moves here)."""

from gemini_qa_tuning.links.vertex_ai import VertexTuningJobLink

__all__ = ["VertexTuningJobLink"]
