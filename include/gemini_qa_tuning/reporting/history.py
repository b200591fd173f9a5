"""Where the report's history chart gets its points: a small reader interface and today's reader.

The chart needs, per run, the F1 of the champion the run was judged against and of its challenger
(the tuned model). :class:`RunHistoryReader` is what the report asks; :class:`VerdictHistoryReader`
answers it from the verdict records (``gemini_qa_tuning.verdicts``: every judgement with its headline,
written whether or not the run got as far as its summary). The run being reported adds its own point
from its summary (:func:`history_point_from_summary`): its verdict may not be read back yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from gemini_qa_tuning.contracts import RunSummary
from gemini_qa_tuning.evaluation.report import MetricsHeadline
from gemini_qa_tuning.reporting.records import HistoryPoint
from gemini_qa_tuning.verdicts import Verdict, read_all_verdicts

__all__ = [
    "RunHistoryReader",
    "VerdictHistoryReader",
    "history_point_from_summary",
    "history_point_from_verdict",
]


class RunHistoryReader(Protocol):
    """The runs to plot, oldest first (at most ``limit`` of the newest)."""

    def read_history(self, limit: int) -> Sequence[HistoryPoint]: ...


def _history_point(run_id: str, written_at: float, headline: MetricsHeadline, promoted: bool) -> HistoryPoint | None:
    """One run's point from its headline, or ``None`` when it has no tuned score (nothing to plot)."""
    challenger = headline.models.get("tuned")
    if challenger is None:
        return None
    champion, base = headline.models.get("champion"), headline.models.get("base")
    return HistoryPoint(
        run_id=run_id,
        written_at=written_at,
        challenger_f1=challenger.f1,
        champion_f1=champion.f1 if champion else None,
        base_f1=base.f1 if base else None,
        promoted=promoted,
    )


def history_point_from_summary(summary: RunSummary, written_at: float) -> HistoryPoint | None:
    """A run summary's point, or ``None`` for a run that evaluated no tuned model."""
    if summary.evaluation is None:
        return None
    promoted = summary.promotion is not None and summary.promotion.promote
    return _history_point(summary.run_id, written_at, summary.evaluation.headline, promoted)


def history_point_from_verdict(verdict: Verdict) -> HistoryPoint | None:
    """A verdict's point (its time is when it was decided), or ``None`` when it has no tuned score."""
    try:
        decided_at = datetime.fromisoformat(verdict.decided_at).timestamp()
    except ValueError:  # a hand-edited time: the point still shows, first
        decided_at = 0.0
    return _history_point(verdict.run_id, decided_at, verdict.headline, verdict.promoted)


class VerdictHistoryReader:
    """The history from every verdict recorded under ``prefix_uri`` (``verdicts/``), oldest first."""

    def __init__(self, prefix_uri: str) -> None:
        self.prefix_uri = prefix_uri

    def read_history(self, limit: int) -> Sequence[HistoryPoint]:
        verdicts = read_all_verdicts(self.prefix_uri)
        points = [point for verdict in verdicts if (point := history_point_from_verdict(verdict)) is not None]
        points.sort(key=lambda point: (point.written_at, point.run_id))
        return points[-limit:] if limit > 0 else []
