"""The "Vertex AI tuning job" button on the launch and wait tasks, built like the Google provider's Vertex links.

A link is declarative (name, XCom key, format string); :meth:`VertexTuningJobLink.persist` stores the
values the format string needs, and :class:`~gemini_qa_tuning.links.base.DeclarativeLink` formats them. At
the end of each task run Airflow stores the formatted URL under the same key, which is
what the UI shows afterwards.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from gemini_qa_tuning.artifact_links import VERTEX_BASE_URL_ENV
from gemini_qa_tuning.links.base import DeclarativeLink
from gemini_qa_tuning.tuning import parse_job_name

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = ["VERTEX_AI_TUNING_JOB_LINK", "VertexTuningJobLink", "tuning_job_link_values"]

#: The tuning job's page in the Google Cloud console (Vertex AI > Tuning), after the provider's console base
#: URL: the same URL as :func:`gemini_qa_tuning.tuning.console_url`, which logs and error messages print (a
#: test keeps the two equal).
VERTEX_AI_TUNING_JOB_LINK = (
    "/vertex-ai/generative/language/locations/{location}/tuning/tuningJob/{job_id}?project={project_id}"
)


def tuning_job_link_values(job_name: str) -> dict[str, str]:
    """The values :data:`VERTEX_AI_TUNING_JOB_LINK` needs, URL-quoted, from a tuning job resource name."""
    project, location, job_id = parse_job_name(job_name)
    return {"project_id": quote(project), "location": quote(location), "job_id": quote(job_id)}


class VertexTuningJobLink(DeclarativeLink):
    """Operator extra link to a tuning job's page in the Google Cloud console.

    Offline (the task talks to the Vertex AI emulator, ``GOOGLE_VERTEX_BASE_URL``) it opens the emulator's
    REST resource of the job instead, like the artifact links: the console has no page for it. Empty when
    the task has no job (a dry run, or a launch that failed before creating one).
    """

    name: ClassVar[str] = "Vertex AI tuning job"
    # The key Airflow gave this link (``_link_<class name>``) before it was declarative: links
    # stored by earlier runs, and DAGs serialized before, keep resolving.
    key: ClassVar[str] = "_link_VertexTuningJobLink"
    format_str: ClassVar[str] = VERTEX_AI_TUNING_JOB_LINK

    @classmethod
    def persist(cls, context: Context, **value: Any) -> None:
        """Store the link values of ``job_name=`` (a tuning job resource name) for the UI.

        Raises :class:`~gemini_qa_tuning.tuning.TuningJobNameError` when it is not one.
        """
        job_name = value.pop("job_name")
        values = tuning_job_link_values(job_name)  # also refuses what is not a job name
        if emulator := os.environ.get(VERTEX_BASE_URL_ENV):
            context["ti"].xcom_push(key=cls.key, value=f"{emulator.rstrip('/')}/v1/{job_name}")
            return
        super().persist(context, **values, **value)
