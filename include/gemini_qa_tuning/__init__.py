"""Tune Gemini for SQuAD-style question answering on Vertex AI, evaluate it, and promote a champion.

Domain modules (dataset, prompt, metrics, evaluation, tuning, champion) are plain Python with no
Airflow import; the Airflow adapters live in ``hooks``, ``operators``, ``sensors``, ``triggers`` and
``links``, and :mod:`gemini_qa_tuning.provider` registers them with Airflow.

The names in ``__all__`` are imported on first use (PEP 562), so ``import gemini_qa_tuning`` stays
cheap: it loads neither Airflow nor the Google libraries. Write ``from gemini_qa_tuning import
LaunchTuningJobOperator, TuningJobSensor`` in a DAG.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_LAZY_NAMES: dict[str, str] = {
    "GenAIVertexHook": "gemini_qa_tuning.hooks.genai",
    "LaunchTuningJobOperator": "gemini_qa_tuning.operators.tuning",
    "TuningJobSensor": "gemini_qa_tuning.sensors.tuning",
    "TuningJobTrigger": "gemini_qa_tuning.triggers.tuning",
    "VertexTuningJobLink": "gemini_qa_tuning.links.vertex_ai",
    "get_provider_info": "gemini_qa_tuning.provider",
}

__all__ = [
    "GenAIVertexHook",
    "LaunchTuningJobOperator",
    "TuningJobSensor",
    "TuningJobTrigger",
    "VertexTuningJobLink",
    "__version__",
    "get_provider_info",
]

if TYPE_CHECKING:
    from gemini_qa_tuning.hooks.genai import GenAIVertexHook
    from gemini_qa_tuning.links.vertex_ai import VertexTuningJobLink
    from gemini_qa_tuning.operators.tuning import LaunchTuningJobOperator
    from gemini_qa_tuning.provider import get_provider_info
    from gemini_qa_tuning.sensors.tuning import TuningJobSensor
    from gemini_qa_tuning.triggers.tuning import TuningJobTrigger


def __getattr__(name: str) -> Any:
    module_name = _LAZY_NAMES.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}; public names: {', '.join(__all__)}")
    value = getattr(import_module(module_name), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
