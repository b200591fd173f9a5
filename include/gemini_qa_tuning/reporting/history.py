"""Where the report's history chart gets its points: a small reader interface and today's reader.

The chart needs, per run, the F1 of the champion the run was judged against and of its challenger
(the tuned model). :class:`RunHistoryReader` is what the report asks; :class:`SummaryHistoryReader`
answers it today from the run summaries under ``<prefix>/runs/`` (their ``evaluation`` headline is the
run's ``metrics.json`` headline). When the pipeline records a verdict per run, a reader of those
records replaces it without the report changing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Protocol

from gemini_qa_tuning import storage
from gemini_qa_tuning.reporting.records import HistoryPoint

__all__ = ["RunHistoryReader", "SummaryHistoryReader", "history_point_from_summary"]

logger = logging.getLogger(__name__)


class RunHistoryReader(Protocol):
    """The runs to plot, oldest first (at most ``limit`` of the newest)."""

    def read_history(self, limit: int) -> Sequence[HistoryPoint]: ...


def _number(values: Mapping[str, object], key: str) -> float | None:
    value = values.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def history_point_from_summary(summary: Mapping[str, object]) -> HistoryPoint | None:
    """A run summary's point, or ``None`` for a run that evaluated no tuned model (nothing to plot)."""
    evaluation = summary.get("evaluation")
    if not isinstance(evaluation, Mapping):
        return None
    challenger_f1 = _number(evaluation, "tuned_f1")
    if challenger_f1 is None:
        return None
    promotion = summary.get("promotion")
    written_at = summary.get("written_at")
    return HistoryPoint(
        run_id=str(summary.get("run_id", "")),
        written_at=float(written_at) if isinstance(written_at, int | float) else 0.0,
        challenger_f1=challenger_f1,
        champion_f1=_number(evaluation, "champion_f1"),
        base_f1=_number(evaluation, "base_f1"),
        promoted=isinstance(promotion, Mapping) and promotion.get("promote") is True,
    )


class SummaryHistoryReader:
    """The history from the ``summary.json`` of every run under ``prefix_uri`` (unreadable ones are skipped)."""

    def __init__(self, prefix_uri: str) -> None:
        self.prefix_uri = prefix_uri

    def read_history(self, limit: int) -> Sequence[HistoryPoint]:
        points: list[HistoryPoint] = []
        for uri in storage.list_uris(storage.join_uri(self.prefix_uri, "runs")):
            if not uri.endswith("/summary.json"):
                continue
            try:
                summary = json.loads(storage.read_text(uri))
            except ValueError as error:  # one damaged summary must not cost the page its chart
                logger.warning("History: %s is not readable JSON (%s); left out of the chart", uri, error)
                continue
            point = history_point_from_summary(summary) if isinstance(summary, Mapping) else None
            if point is not None:
                points.append(point)
        points.sort(key=lambda point: (point.written_at, point.run_id))
        return points[-limit:] if limit > 0 else []
