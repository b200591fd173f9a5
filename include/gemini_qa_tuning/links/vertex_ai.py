"""Temporary: re-exports the console link from its current module so the provider path resolves.

The link class is moving to this module in another branch; this shim is dropped when that lands.
"""

from gemini_qa_tuning.operators.tuning import VertexTuningJobLink

__all__ = ["VertexTuningJobLink"]
