"""Extra links to a run's artifacts, on the tasks that write or make them: one class per artifact kind.

Each link reads one field of its task's result (the JSON form of a contracts record) and opens it where
:mod:`gemini_qa_tuning.artifact_links` says: the Google Cloud console, or offline the local emulators'
objects and resources. Airflow 3 calls :meth:`ArtifactLink.get_link` on the worker when the task ends and
stores the URL under the link's XCom key; the API server shows that stored URL (a serialized DAG keeps only
``{name: xcom_key}``), so the link opens what the worker saw, with the worker's emulator settings.

TaskFlow tasks are instances of one operator class, so :func:`add_links` gives one task its links.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperatorLink

from gemini_qa_tuning import artifact_links
from gemini_qa_tuning.artifact_links import ArtifactKind

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

__all__ = [
    "ARTIFACT_LINKS",
    "ArtifactLink",
    "DatasetFolderLink",
    "EndpointLink",
    "MetricsLink",
    "RunReportLink",
    "TunedModelLink",
    "add_links",
    "task_result",
]


def task_result(ti_key: TaskInstanceKey) -> Any:
    """The task instance's return value, or ``None`` when it pushed none (skipped, failed)."""
    from gemini_qa_tuning.pipeline.task_results import task_return_value

    return task_return_value(dag_id=ti_key.dag_id, task_id=ti_key.task_id, run_id=ti_key.run_id)


class ArtifactLink(BaseOperatorLink):
    """A link to the artifact named by ``result_field`` of the task's result; empty when there is none."""

    kind: ClassVar[ArtifactKind]  # and ``name``, the button's text: the kind's label (a test keeps them equal)
    #: The field of the task's result (a mapping) that holds the artifact's URI or resource name.
    result_field: ClassVar[str]

    def url_for(self, result: object) -> str:
        """The URL of the artifact in ``result``; ``""`` when the result names none."""
        uri = result.get(self.result_field) if isinstance(result, Mapping) else None
        if not isinstance(uri, str) or not uri:
            return ""
        return artifact_links.local_artifact_url(self.kind, uri) or ""

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        return self.url_for(task_result(ti_key))


class DatasetFolderLink(ArtifactLink):
    """``export_dataset``: the fingerprinted dataset folder (tuning files, test split, manifest)."""

    kind = artifact_links.DATASET
    name = artifact_links.DATASET.label
    result_field = "dataset_uri"


class MetricsLink(ArtifactLink):
    """``compare_models``: the run's ``metrics.json``."""

    kind = artifact_links.METRICS
    name = artifact_links.METRICS.label
    result_field = "metrics_uri"


class TunedModelLink(ArtifactLink):
    """``wait_for_tuning_job``: the tuned model version in the Model Registry."""

    kind = artifact_links.TUNED_MODEL
    name = artifact_links.TUNED_MODEL.label
    result_field = "tuned_model"


class EndpointLink(ArtifactLink):
    """``wait_for_tuning_job``: the endpoint that serves the tuned model."""

    kind = artifact_links.ENDPOINT
    name = artifact_links.ENDPOINT.label
    result_field = "endpoint"


class RunReportLink(ArtifactLink):
    """``summarize_run``: the run's HTML report."""

    kind = artifact_links.REPORT
    name = artifact_links.REPORT.label
    result_field = "report_uri"


#: Every artifact link class, for the provider's ``extra-links``.
ARTIFACT_LINKS: tuple[type[ArtifactLink], ...] = (
    DatasetFolderLink,
    MetricsLink,
    TunedModelLink,
    EndpointLink,
    RunReportLink,
)


def add_links(task: Any, *links: BaseOperatorLink) -> None:
    """Give ``task`` (an operator, or a TaskFlow call's ``XComArg``) these extra links besides its own.

    An operator class declares its links; a TaskFlow task is an instance of the one decorated-operator
    class, so its links are set on the instance. Serializing the DAG and the task runner both read the
    instance's ``operator_extra_links``.
    """
    operator = getattr(task, "operator", task)
    operator.operator_extra_links = (*operator.operator_extra_links, *links)
