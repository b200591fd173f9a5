"""The Model Registry client of an Airflow Google Cloud connection (the champion alias and the clean-up).

The same connection, impersonation chain, region and base URL as :class:`~gemini_qa_tuning.hooks.genai.GenAIVertexHook`
(connection extra ``vertex_ai_base_url`` / ``GOOGLE_VERTEX_BASE_URL`` point it at the local emulator), so a
run's Vertex AI calls all act as one identity against one endpoint. Why not the Google provider's
``ModelServiceHook``: see :mod:`gemini_qa_tuning.model_registry`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gemini_qa_tuning.model_registry import VertexModelRegistry

if TYPE_CHECKING:
    from gemini_qa_tuning.hooks.genai import GenAIVertexHook

__all__ = ["model_registry_for"]


def model_registry_for(hook: GenAIVertexHook) -> VertexModelRegistry:
    """A Model Registry client with the hook's credentials, region and base URL."""
    base_url = hook.get_base_url()
    hook.log.info("Model Registry client: location=%s endpoint=%s", hook.location, base_url or "Google default")
    return VertexModelRegistry(hook.get_credentials(), hook.location, base_url)
