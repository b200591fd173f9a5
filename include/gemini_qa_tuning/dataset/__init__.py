"""The dataset stage: load a SQuAD-style source, clean, validate, deduplicate, split, and export.

The DAG calls :func:`refresh_dataset` and :func:`export_dataset`; the skip and budget decisions that
guard the paid tuning job live in :mod:`gemini_qa_tuning.tuning.planning`. See the modules for the
rules: :mod:`.loaders` (sources), :mod:`.processing` (cleaning, validation, deduplication),
:mod:`.splitting` (leak-free group split, seeded sampling), :mod:`.export` (files, manifest,
fingerprint).
"""

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
from gemini_qa_tuning.dataset.settings import DatasetSettings, DatasetSettingsError

__all__ = [
    "DatasetError",
    "DatasetLimitError",
    "DatasetSettings",
    "DatasetSettingsError",
    "LoadedSource",
    "QAExample",
    "RefreshResult",
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
