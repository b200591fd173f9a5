"""Airflow hooks: connection handling and every external API call."""

from gemini_qa_tuning.hooks.genai import GenAIVertexHook

__all__ = ["GenAIVertexHook"]
