"""The history chart: champion and challenger F1 over the past runs, as one static SVG.

Drawn with pygal (pure Python, one small wheel, SVG is its native output, imports in a fraction of
the time matplotlib needs, which would bring numpy, Pillow, fonttools and compiled extensions into
the summary task for one line chart). Its default tooltip script is loaded from a CDN: ``js=[]``
leaves it out, and an XML filter drops the inline config script pygal always writes, so the chart is
static SVG with no script and the page opens offline. pygal builds the SVG as an XML tree, so every
label (run ids included) is escaped by its serializer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gemini_qa_tuning.reporting.records import HistoryPoint

__all__ = ["CHART_WIDTH", "history_chart_svg"]

CHART_WIDTH = 860
CHART_HEIGHT = 340
#: A run label on the x axis: the run id's date and time part is enough to tell runs apart.
RUN_LABEL_CHARS = 25


def _run_label(run_id: str) -> str:
    label = run_id.split("__", 1)[-1]
    return label if len(label) <= RUN_LABEL_CHARS else label[: RUN_LABEL_CHARS - 1] + "…"


def _without_scripts(root: Any) -> Any:
    """pygal's XML filter: remove every ``<script>`` (its tooltip config), whichever etree built the tree."""
    for parent in list(root.iter()):
        for child in list(parent):
            if str(child.tag).rpartition("}")[2] == "script":
                parent.remove(child)
    return root


def history_chart_svg(points: Sequence[HistoryPoint]) -> str:
    """The chart as an SVG element (no XML declaration, no script), ready to inline in HTML."""
    import pygal
    from pygal.style import Style

    style = Style(
        background="#ffffff",
        plot_background="#ffffff",
        foreground="#222222",
        foreground_strong="#111111",
        foreground_subtle="#888888",
        colors=("#1f6feb", "#d9480f", "#868e96"),
        font_family="system-ui, sans-serif",
    )
    chart = pygal.Line(
        js=[],  # the default is a tooltip script from a CDN: the page must open offline
        disable_xml_declaration=True,
        explicit_size=True,
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        style=style,
        title="F1 over past runs",
        y_title="F1 (test set)",
        x_label_rotation=25,
        show_minor_x_labels=True,
        dots_size=4,
        allow_interruptions=True,
        legend_at_bottom=True,
        range=(0, 100),
    )
    chart.add_xml_filter(_without_scripts)
    chart.x_labels = [_run_label(point.run_id) for point in points]
    chart.add("challenger (tuned)", [point.challenger_f1 for point in points])
    chart.add("champion", [point.champion_f1 for point in points])
    chart.add("base", [point.base_f1 for point in points])
    return str(chart.render(is_unicode=True))
