"""The run report: one self-contained HTML page per run, beside its ``metrics.json``.

Plain Python (no Airflow import). The pipeline's last step (``summarize_run``) gathers a
:class:`RunReport` from the run's files (:func:`gather_run_report`), renders it with Jinja2 and an
inline pygal SVG chart (:func:`render_run_report`) and writes ``runs/<run id>/report.html``
(:func:`report_uri`). The page opens offline: inline CSS, inline SVG, no script, nothing fetched.

==============  ================================================================================
module          what changes it
==============  ================================================================================
``records``     what the page shows (typed records; the template reads nothing else)
``gather``      where each number comes from (summary, ``metrics.json``, predictions, rejects)
``history``     where the history chart's points come from (the verdicts, :class:`RunHistoryReader`)
``chart``       how the history chart looks (pygal)
``render``      the page's Jinja2 environment, filters (rounding) and where it is written
``templates/``  the page's layout (``run_report.html.j2``)
==============  ================================================================================
"""

from __future__ import annotations

from gemini_qa_tuning.reporting.gather import decide_headline, gather_run_report, model_interval
from gemini_qa_tuning.reporting.history import (
    RunHistoryReader,
    VerdictHistoryReader,
    history_point_from_summary,
    history_point_from_verdict,
)
from gemini_qa_tuning.reporting.records import (
    SCORE_DECIMALS,
    CheckpointRow,
    CostSummary,
    DatasetSection,
    Decision,
    DecisionKind,
    Disagreement,
    HistoryPoint,
    Interval,
    ModelAnswer,
    ModelScoreRow,
    RejectExample,
    RunReport,
    ScoreDifference,
    TuningJobSection,
)
from gemini_qa_tuning.reporting.render import REPORT_FILE, render_run_report, report_uri, write_run_report

__all__ = [
    "REPORT_FILE",
    "SCORE_DECIMALS",
    "CheckpointRow",
    "CostSummary",
    "DatasetSection",
    "Decision",
    "DecisionKind",
    "Disagreement",
    "HistoryPoint",
    "Interval",
    "ModelAnswer",
    "ModelScoreRow",
    "RejectExample",
    "RunHistoryReader",
    "RunReport",
    "ScoreDifference",
    "TuningJobSection",
    "VerdictHistoryReader",
    "decide_headline",
    "gather_run_report",
    "history_point_from_summary",
    "history_point_from_verdict",
    "model_interval",
    "render_run_report",
    "report_uri",
    "write_run_report",
]
