"""The artifact links on the pipeline's tasks: one per kind, read from the task's result, to the console
online and to the local emulators' objects offline (the DAG's wiring: tests/dags/test_artifact_link_wiring.py)."""

from __future__ import annotations

from typing import Any

import pytest

from gemini_qa_tuning import artifact_links
from gemini_qa_tuning.links.artifacts import (
    ARTIFACT_LINKS,
    DatasetFolderLink,
    EndpointLink,
    MetricsLink,
    RunReportLink,
    TunedModelLink,
    add_links,
    task_result,
)

MODEL = "projects/123/locations/us-central1/models/456@2"
ENDPOINT = "projects/123/locations/us-central1/endpoints/789"
OFFLINE = {"STORAGE_EMULATOR_HOST": "http://127.0.0.1:4443", "GOOGLE_VERTEX_BASE_URL": "http://127.0.0.1:8123"}


@pytest.fixture
def results(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The task results the links read, by task id (a task that pushed none is absent)."""
    from airflow.sdk.execution_time.xcom import XCom

    stored: dict[str, Any] = {}

    def get_all(cls: Any, *, key: str, dag_id: str, task_id: str, run_id: str) -> list[Any]:
        assert key == "return_value"
        return [stored[task_id]] if task_id in stored else []

    monkeypatch.setattr(XCom, "get_all", classmethod(get_all))
    return stored


class Key:
    def __init__(self, task_id: str) -> None:
        self.dag_id, self.task_id, self.run_id, self.map_index = "d", task_id, "r", -1


def link_url(link: Any, task_id: str) -> str:
    return str(link.get_link(operator=object(), ti_key=Key(task_id)))


CASES = [
    (
        DatasetFolderLink(),
        {"dataset_uri": "gs://b/p/datasets/fp1"},
        "https://console.cloud.google.com/storage/browser/b/p/datasets/fp1",
        "http://127.0.0.1:4443/storage/v1/b/b/o?prefix=p/datasets/fp1/",
    ),
    (
        MetricsLink(),
        {"metrics_uri": "gs://b/p/runs/r/metrics.json", "tuned_f1": 50.0},
        "https://console.cloud.google.com/storage/browser/_details/b/p/runs/r/metrics.json",
        "http://127.0.0.1:4443/storage/v1/b/b/o/p%2Fruns%2Fr%2Fmetrics.json?alt=media",
    ),
    (
        RunReportLink(),
        {"report_uri": "gs://b/p/runs/r/report.html"},
        "https://console.cloud.google.com/storage/browser/_details/b/p/runs/r/report.html",
        "http://127.0.0.1:4443/storage/v1/b/b/o/p%2Fruns%2Fr%2Freport.html?alt=media",
    ),
    (
        TunedModelLink(),
        {"tuned_model": MODEL, "endpoint": ENDPOINT},
        "https://console.cloud.google.com/vertex-ai/models/locations/us-central1/models/456/versions/2/properties"
        "?project=123",
        f"http://127.0.0.1:8123/v1/{MODEL}",
    ),
    (
        EndpointLink(),
        {"tuned_model": MODEL, "endpoint": ENDPOINT},
        "https://console.cloud.google.com/vertex-ai/locations/us-central1/endpoints/789?project=123",
        f"http://127.0.0.1:8123/v1/{ENDPOINT}",
    ),
]


@pytest.mark.parametrize(("link", "result", "online", "offline"), CASES, ids=[type(case[0]).__name__ for case in CASES])
def test_each_link_opens_its_artifact_in_the_console_online_and_in_the_emulators_offline(
    link: Any, result: dict[str, Any], online: str, offline: str, results: dict[str, Any], monkeypatch: Any
) -> None:
    results["t"] = result
    for name in OFFLINE:
        monkeypatch.delenv(name, raising=False)
    assert link_url(link, "t") == online
    for name, value in OFFLINE.items():
        monkeypatch.setenv(name, value)
    assert link_url(link, "t") == offline


def test_no_result_or_no_artifact_no_link(results: dict[str, Any]) -> None:
    assert task_result(Key("skipped")) is None  # type: ignore[arg-type]
    assert link_url(MetricsLink(), "skipped") == ""
    results["dry"] = {"tuned_model": None, "endpoint": ""}
    assert link_url(TunedModelLink(), "dry") == "" and link_url(EndpointLink(), "dry") == ""
    results["local"] = {"dataset_uri": "/tmp/datasets/fp1"}  # another machine's browser cannot open a path
    assert link_url(DatasetFolderLink(), "local") == ""


def test_one_link_class_per_kind_named_by_the_kind() -> None:
    kinds = [link.kind for link in ARTIFACT_LINKS]
    assert len(set(kinds)) == len(kinds)
    assert [link().name for link in ARTIFACT_LINKS] == [kind.label for kind in kinds]
    assert len({link().xcom_key for link in ARTIFACT_LINKS}) == len(ARTIFACT_LINKS)


def test_the_emulator_variable_is_the_genai_hooks() -> None:
    from gemini_qa_tuning.hooks.genai import BASE_URL_ENV

    assert artifact_links.VERTEX_BASE_URL_ENV == BASE_URL_ENV


def test_add_links_keeps_the_operators_own() -> None:
    class Operator:
        operator_extra_links = (MetricsLink(),)

    operator = Operator()
    add_links(operator, RunReportLink())
    assert [link.name for link in operator.operator_extra_links] == ["metrics.json", "Run report"]
    assert [link.name for link in Operator.operator_extra_links] == ["metrics.json"]
