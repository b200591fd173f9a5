"""Render a :class:`~gemini_qa_tuning.reporting.records.RunReport` as one self-contained HTML page.

Jinja2 with autoescaping on for every template (``select_autoescape`` with the default set of
extensions, and ``default=True`` for ``.html.j2``) and ``StrictUndefined`` so a misspelt field fails
the render instead of printing nothing. The only markup not escaped by the template is the chart's SVG,
which pygal serializes (and so escapes) itself. CSS is inline; nothing is fetched when the page opens.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from gemini_qa_tuning import storage
from gemini_qa_tuning.reporting.chart import history_chart_svg
from gemini_qa_tuning.reporting.records import SCORE_DECIMALS, Interval, RunReport
from gemini_qa_tuning.run_summary import run_uri

if TYPE_CHECKING:
    from jinja2 import Environment

__all__ = ["REPORT_FILE", "REPORT_TEMPLATE", "render_run_report", "report_uri", "write_run_report"]

REPORT_FILE = "report.html"
REPORT_TEMPLATE = "run_report.html.j2"


def report_uri(prefix_uri: str, run_id: str) -> str:
    """Where a run's report goes: ``<prefix>/runs/<run id>/report.html``, beside its ``metrics.json``."""
    return storage.join_uri(run_uri(prefix_uri, run_id), REPORT_FILE)


def _score(value: float | None) -> str:
    return "—" if value is None else f"{value:.{SCORE_DECIMALS}f}"


def _points(value: float | None) -> str:
    return "—" if value is None else f"{value:+.{SCORE_DECIMALS}f}"


def _interval(interval: Interval | None, signed: bool = False) -> str:
    if interval is None:
        return "—"
    show = _points if signed else _score
    return f"{show(interval.low)} .. {show(interval.high)}"


def _usd(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.2f} USD"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else (f"{minutes} min {rest:02d} s" if minutes else f"{rest} s")


@cache
def _environment() -> Environment:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    environment = Environment(
        loader=PackageLoader("gemini_qa_tuning.reporting", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(score=_score, points=_points, interval=_interval, usd=_usd, duration=_duration)
    return environment


def render_run_report(report: RunReport) -> str:
    """The page as a string."""
    from markupsafe import Markup

    # pygal serializes the SVG as XML, escaping every label: it is the one piece inserted as markup.
    chart = Markup(history_chart_svg(report.history)) if report.history else None
    return _environment().get_template(REPORT_TEMPLATE).render(report=report, chart=chart)


def write_run_report(report: RunReport, uri: str) -> str:
    """Render ``report`` and write it to ``uri`` (GCS or a local path); return ``uri``."""
    storage.write_text(uri, render_run_report(report), "text/html; charset=utf-8")
    return uri
