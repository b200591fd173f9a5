"""Where the report's history chart gets its points: a small reader interface and today's reader.

The chart needs, per run, the F1 of the champion the run was judged against and of its challenger
(the tuned model). :class:`RunHistoryReader` is what the report asks; :class:`VerdictHistoryReader`
answers it from the verdict records (``gemini_qa_tuning.verdicts``: every judgement with its headline,
written whether or not the run got as far as its summary). :class:`SummaryHistoryReader` answers it
from the run summaries under ``<prefix>/runs/`` instead (their ``evaluation`` headline is the same).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from gemini_qa_tuning import storage
from gemini_qa_tuning.evaluation.report import MetricsHeadline
from gemini_qa_tuning.reporting.records import HistoryPoint
from gemini_qa_tuning.verdicts import Verdict, read_all_verdicts

__all__ = [
    "RunHistoryReader",
    "SummaryHistoryReader",
    "VerdictHistoryReader",
    "history_point_from_summary",
    "history_point_from_verdict",
]

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


def history_point_from_verdict(verdict: Verdict) -> HistoryPoint | None:
    """A verdict's point (its time is when it was decided), or ``None`` when it has no tuned score."""
    headline: MetricsHeadline = verdict.headline
    challenger = headline.models.get("tuned")
    if challenger is None:
        return None
    champion, base = headline.models.get("champion"), headline.models.get("base")
    try:
        decided_at = datetime.fromisoformat(verdict.decided_at).timestamp()
    except ValueError:  # a hand-edited time: the point still shows, first
        decided_at = 0.0
    return HistoryPoint(
        run_id=verdict.run_id,
        written_at=decided_at,
        challenger_f1=challenger.f1,
        champion_f1=champion.f1 if champion else None,
        base_f1=base.f1 if base else None,
        promoted=verdict.promoted,
    )


class VerdictHistoryReader:
    """The history from every verdict recorded under ``prefix_uri`` (``verdicts/``), oldest first."""

    def __init__(self, prefix_uri: str) -> None:
        self.prefix_uri = prefix_uri

    def read_history(self, limit: int) -> Sequence[HistoryPoint]:
        verdicts = read_all_verdicts(self.prefix_uri)
        points = [point for verdict in verdicts if (point := history_point_from_verdict(verdict)) is not None]
        points.sort(key=lambda point: (point.written_at, point.run_id))
        return points[-limit:] if limit > 0 else []
