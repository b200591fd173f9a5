"""The run's results inside the Airflow UI: a *Results* tab on every DAG run of the tuning pipeline.

Airflow 3's plugin surfaces (3.1+): a FastAPI app the api-server mounts at ``/gemini-qa`` renders one run's
summary (decision, EM/F1 with intervals, where the artifacts are) from ``runs/<run id>/summary.json``, and
an external view with destination ``dag_run`` shows that page as a tab of the DAG run the user is already
looking at. The run's artifact prefix is its ``gcs_prefix`` Param (its conf, else the default); the
summary is read with ``gemini_qa_tuning.storage`` as the Google Cloud connection, so offline it comes
from the GCS emulator. The artifacts are links (``gemini_qa_tuning.artifact_links``): to the console, or
offline to the emulators' objects and resources. The page is a Jinja template with autoescaping: no string-built HTML.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin
from fastapi import FastAPI, Query
from fastapi.responses import HTMLResponse
from jinja2 import Environment, select_autoescape

URL_PREFIX = "/gemini-qa"
PIPELINE_DAG_ID = "gemini_squad_tuning"

PAGE = Environment(autoescape=select_autoescape(default=True, default_for_string=True)).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Results {{ run_id }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1f2933; }
h1 { font-size: 1.25rem; } table { border-collapse: collapse; margin: 0.75rem 0; }
td, th { border: 1px solid #cbd2d9; padding: 0.3rem 0.7rem; text-align: right; }
th:first-child, td:first-child { text-align: left; } .outcome { font-size: 1.1rem; font-weight: 600; }
code { background: #f0f4f8; padding: 0 0.2rem; }
</style></head><body>
<h1>Run {{ run_id }}</h1>
{% if error %}<p class="outcome" id="outcome">{{ error }}</p>{% else %}
<p class="outcome" id="outcome">{{ outcome }}</p>
{% if reasons %}<ul id="reasons">{% for reason in reasons %}<li>{{ reason }}</li>{% endfor %}</ul>{% endif %}
{% if scores %}<table id="scores"><caption>{{ questions }} held-out questions (SQuAD v1.1)</caption>
<tr><th>Model</th><th>Exact Match</th><th>F1</th></tr>
{% for role, em, f1 in scores %}<tr><td>{{ role }}</td><td>{{ "%.2f"|format(em) }}</td>
<td>{{ "%.2f"|format(f1) }}</td></tr>{% endfor %}</table>{% endif %}
<ul id="artifacts">{% for label, uri, url in artifacts %}<li>{{ label }}:
{% if url %}<a href="{{ url }}" target="_blank" rel="noopener"><code>{{ uri }}</code></a>
{% else %}<code>{{ uri }}</code>{% endif %}
</li>{% endfor %}</ul>
{% if warnings %}<ul id="warnings">{% for warning in warnings %}<li>{{ warning }}</li>{% endfor %}</ul>{% endif %}
{% endif %}</body></html>"""
)


def run_prefix(dag_id: str, run_id: str) -> str:
    """The run's ``gcs_prefix``: from its conf when the trigger set it, else the Param's default."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    from gemini_qa_tuning.pipeline.params import PipelineParams

    with create_session() as session:
        dag_run = session.query(DagRun).filter(DagRun.dag_id == dag_id, DagRun.run_id == run_id).one_or_none()
        conf = dict(dag_run.conf or {}) if dag_run is not None else {}
    return str(conf.get("gcs_prefix") or PipelineParams().gcs_prefix)


def page_values(summary: dict[str, Any]) -> dict[str, Any]:
    """What the page shows, from a summary.json."""
    from gemini_qa_tuning import artifact_links as kinds
    from gemini_qa_tuning.contracts import RunSummary
    from gemini_qa_tuning.outcome import describe_outcome

    record = RunSummary.from_json(summary)
    scores = []
    if record.evaluation is not None:
        for role, role_scores in record.evaluation.headline.models.items():
            scores.append((role, role_scores.exact_match, role_scores.f1))
    # Offline the links open the emulators' objects (their URLs from the environment make airflow sets).
    artifacts = [
        (kind.label, uri, kinds.local_artifact_url(kind, uri))
        for kind, uri in (
            (kinds.REPORT, summary.get("report_uri")),
            (kinds.METRICS, record.evaluation.metrics_uri if record.evaluation else None),
            (kinds.DATASET, record.dataset.dataset_uri if record.dataset else None),
            (kinds.TUNED_MODEL, record.tuned_model.tuned_model if record.tuned_model else None),
            (kinds.ENDPOINT, record.tuned_model.endpoint if record.tuned_model else None),
            (kinds.SUMMARY, record.summary_uri),
        )
        if isinstance(uri, str) and uri
    ]
    return {
        "outcome": describe_outcome(record),
        "reasons": list(record.promotion.reasons) if record.promotion else [],
        "questions": record.evaluation.headline.questions if record.evaluation else 0,
        "scores": scores,
        "artifacts": artifacts,
        "warnings": list(record.warnings),
    }


results_app = FastAPI(title="Gemini QA tuning results")


@results_app.get("/runs", response_class=HTMLResponse)
def run_results(dag_id: str = Query(PIPELINE_DAG_ID), run_id: str = Query(...)) -> HTMLResponse:
    """One run's results page (the *Results* tab of a DAG run)."""
    from gemini_qa_tuning import storage
    from gemini_qa_tuning.run_summary import summary_uri

    try:
        uri = summary_uri(run_prefix(dag_id, run_id), run_id)
        if not storage.exists(uri):
            return HTMLResponse(PAGE.render(run_id=run_id, error=f"No summary yet: {uri} (the run has not finished)."))
        values = page_values(json.loads(storage.read_text(uri)))
    except Exception as error:  # the page says what went wrong instead of a bare 500
        return HTMLResponse(PAGE.render(run_id=run_id, error=f"Could not read the run's summary: {error}"))
    return HTMLResponse(PAGE.render(run_id=run_id, **values))


class GeminiQaResultsPlugin(AirflowPlugin):
    name = "gemini_qa_results"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [
        {"app": results_app, "url_prefix": URL_PREFIX, "name": "Gemini QA tuning results"}
    ]
    external_views: ClassVar[list[dict[str, Any]]] = [
        {
            "name": "Results",
            # Relative (no leading slash): the UI resolves it against its own base URL.
            "href": f"{URL_PREFIX.lstrip('/')}/runs?dag_id={{DAG_ID}}&run_id={{RUN_ID}}",
            "destination": "dag_run",
            "url_route": "gemini-qa-results",
        }
    ]
