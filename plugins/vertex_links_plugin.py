"""Airflow UI plugin: the "Vertex AI tuning job" extra link on launch and sensor tasks.

Only the registration lives here. The link class is in the installable library
(``gemini_qa_tuning.operators.tuning``) because Cloud Composer 3 does not sync ``plugins/`` to the
scheduler or the triggerer, and the operators that carry the link must import it everywhere.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from gemini_qa_tuning.operators.tuning import VertexTuningJobLink


class VertexLinksPlugin(AirflowPlugin):
    """Registers :class:`VertexTuningJobLink` with Airflow's plugin manager.

    In Airflow 3 the UI shows the link from the URL the task stored when it ran (an XCom), so the button
    works even where ``plugins/`` is not synced; registering the class keeps it discoverable (``airflow
    plugins`` lists it) and lets Airflow resolve it by name.
    """

    name = "gemini_qa_tuning_vertex_links"
    operator_extra_links = [VertexTuningJobLink()]  # noqa: RUF012 - AirflowPlugin declares a plain list
