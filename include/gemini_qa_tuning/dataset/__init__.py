"""The dataset stage: load a SQuAD-style source, clean, validate, deduplicate, split, and export.

The DAG calls :func:`refresh_dataset` and :func:`export_dataset`; the skip and budget decisions that
guard the paid tuning job live in :mod:`gemini_qa_tuning.tuning.planning`. See the modules for the
rules: :mod:`.loaders` (sources), :mod:`.processing` (cleaning, validation, deduplication),
:mod:`.splitting` (leak-free group split, seeded sampling), :mod:`.export` (files, manifest,
fingerprint).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gemini_qa_tuning.dataset.loaders import (
        LoadedSource,
        load_huggingface,
        load_jsonl,
        load_sample,
        load_squad_json,
        sample_data_path,
    )
    from gemini_qa_tuning.dataset.pipeline import (
        RefreshResult,
        check_refresh,
        check_reject_share,
        export_dataset,
        export_refreshed,
        refresh_dataset,
        refresh_examples,
    )
    from gemini_qa_tuning.dataset.records import (
        DatasetError,
        DatasetLimitError,
        QAExample,
        RejectedRecord,
        RejectReason,
        RejectShareExceededError,
        SourceError,
    )
    from gemini_qa_tuning.dataset.results import ExportedDataset, RefreshedDataset
    from gemini_qa_tuning.dataset.settings import DatasetSettings, DatasetSettingsError

# Public name -> the submodule that defines it. Imported on first use, so that importing one submodule
# (e.g. the settings, for a DAG file's Params) does not load the loaders and the export.
_EXPORTS = {
    **dict.fromkeys(
        ("LoadedSource", "load_huggingface", "load_jsonl", "load_sample", "load_squad_json", "sample_data_path"),
        "loaders",
    ),
    **dict.fromkeys(
        (
            "RefreshResult",
            "check_refresh",
            "check_reject_share",
            "export_dataset",
            "export_refreshed",
            "refresh_dataset",
            "refresh_examples",
        ),
        "pipeline",
    ),
    **dict.fromkeys(
        (
            "DatasetError",
            "DatasetLimitError",
            "QAExample",
            "RejectedRecord",
            "RejectReason",
            "RejectShareExceededError",
            "SourceError",
        ),
        "records",
    ),
    **dict.fromkeys(("ExportedDataset", "RefreshedDataset"), "results"),
    **dict.fromkeys(("DatasetSettings", "DatasetSettingsError"), "settings"),
}

__all__ = [
    "DatasetError",
    "DatasetLimitError",
    "DatasetSettings",
    "DatasetSettingsError",
    "ExportedDataset",
    "LoadedSource",
    "QAExample",
    "RefreshResult",
    "RefreshedDataset",
    "RejectReason",
    "RejectShareExceededError",
    "RejectedRecord",
    "SourceError",
    "check_refresh",
    "check_reject_share",
    "export_dataset",
    "export_refreshed",
    "load_huggingface",
    "load_jsonl",
    "load_sample",
    "load_squad_json",
    "refresh_dataset",
    "refresh_examples",
    "sample_data_path",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
