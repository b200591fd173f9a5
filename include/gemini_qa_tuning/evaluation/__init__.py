"""Evaluation: ask a model every held-out question, score the answers, compare models in ``metrics.json``.

One module per reason to change:

* :mod:`.questions` — the test questions of the exported ``test.jsonl``;
* :mod:`.pacing` — spacing request starts to a quota, backing off after 429s;
* :mod:`.runner` — the concurrent prediction engine (retries, backoff, timeouts, error-share limit,
  progress logs), its settings and its result, :class:`PredictionRun`;
* :mod:`.thinking` — the thinking configuration per model (from the catalog) and the output-cap rule;
* :mod:`.checkpoint` — the resumable answer checkpoint under each model's output folder;
* :mod:`.predictions` — the scored ``predictions.jsonl`` lines and a model's :class:`ModelScores`;
* :mod:`.scoring` — the official SQuAD v1.1 EM/F1 and the paired bootstrap;
* :mod:`.report` — the ``metrics.json`` schema, :class:`MetricsReport` (versioned) and its headline.

Every public name is importable from here (``from gemini_qa_tuning.evaluation import X``).
"""

from __future__ import annotations

from gemini_qa_tuning.api_errors import backoff_delay
from gemini_qa_tuning.evaluation.adaptive_limit import AdaptiveRateLimit, RateLimitSettings
from gemini_qa_tuning.evaluation.checkpoint import CHECKPOINT_FOLDER, AnswerRecord, CheckpointProgress
from gemini_qa_tuning.evaluation.interruption import StopRequest, stop_on_signals
from gemini_qa_tuning.evaluation.predictions import (
    ModelScores,
    PredictionLine,
    read_predictions,
    summarize_predictions,
)
from gemini_qa_tuning.evaluation.questions import EvaluationQuestion, load_test_questions, prompt_hash
from gemini_qa_tuning.evaluation.report import (
    BOOTSTRAP_CONFIDENCE,
    READABLE_SCHEMA_VERSIONS,
    SCHEMA_VERSION,
    BootstrapSettings,
    ComparisonHeadline,
    MetricsHeadline,
    MetricsReport,
    ModelReport,
    RoleScores,
    read_metrics_report,
    report_summary,
    write_metrics_report,
)
from gemini_qa_tuning.evaluation.runner import (
    PREDICTIONS_FILE,
    SUMMARY_FILE,
    EmptyAnswerShareExceededError,
    ErrorShareExceededError,
    EvaluationError,
    EvaluationInterrupted,
    EvaluationSettings,
    ModelAccessError,
    PredictionRun,
    model_slug,
    predict_async,
    run_predictions,
)
from gemini_qa_tuning.evaluation.thinking import (
    ThinkingChoice,
    ThinkingSettingError,
    choose_thinking,
    thinking_for_model,
)

# The name evaluation.py gave the report's schema version.
METRICS_SCHEMA_VERSION = SCHEMA_VERSION

__all__ = [
    "BOOTSTRAP_CONFIDENCE",
    "CHECKPOINT_FOLDER",
    "METRICS_SCHEMA_VERSION",
    "PREDICTIONS_FILE",
    "READABLE_SCHEMA_VERSIONS",
    "SCHEMA_VERSION",
    "SUMMARY_FILE",
    "AdaptiveRateLimit",
    "AnswerRecord",
    "BootstrapSettings",
    "CheckpointProgress",
    "ComparisonHeadline",
    "EmptyAnswerShareExceededError",
    "ErrorShareExceededError",
    "EvaluationError",
    "EvaluationInterrupted",
    "EvaluationQuestion",
    "EvaluationSettings",
    "MetricsHeadline",
    "MetricsReport",
    "ModelAccessError",
    "ModelReport",
    "ModelScores",
    "PredictionLine",
    "PredictionRun",
    "RateLimitSettings",
    "RoleScores",
    "StopRequest",
    "ThinkingChoice",
    "ThinkingSettingError",
    "backoff_delay",
    "choose_thinking",
    "load_test_questions",
    "model_slug",
    "predict_async",
    "prompt_hash",
    "read_metrics_report",
    "read_predictions",
    "report_summary",
    "run_predictions",
    "stop_on_signals",
    "summarize_predictions",
    "thinking_for_model",
    "write_metrics_report",
]
