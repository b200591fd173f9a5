"""VertexTuningJobLink: declarative like the provider's links, the same console URL as tuning.console_url."""

from __future__ import annotations

from typing import Any

import pytest

from gemini_qa_tuning.links.base import DeclarativeLink
from gemini_qa_tuning.links.vertex_ai import VertexTuningJobLink, tuning_job_link_values
from gemini_qa_tuning.tuning import TuningJobNameError, console_url

JOBS = [
    "projects/local-project/locations/us-central1/tuningJobs/77",
    "projects/my-proj-123/locations/europe-west4/tuningJobs/1234567890123456789",
    "projects/odd proj/locations/loc?x/tuningJobs/a&b",  # values that need quoting
]


class RecordingTaskInstance:
    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


@pytest.fixture
def xcom(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    from airflow.sdk.execution_time.xcom import XCom

    stored: dict[str, Any] = {}
    monkeypatch.setattr(XCom, "get_value", classmethod(lambda cls, *, ti_key, key: stored.get(key)))
    return stored


def test_declarative_like_the_providers_links() -> None:
    assert issubclass(VertexTuningJobLink, DeclarativeLink)
    link = VertexTuningJobLink()
    assert link.name == "Vertex AI tuning job"
    # Unchanged from before it was declarative, so links stored by earlier runs still resolve.
    assert link.xcom_key == VertexTuningJobLink.key == "_link_VertexTuningJobLink"
    assert f"{VertexTuningJobLink.__module__}.{VertexTuningJobLink.__qualname__}" == (
        "gemini_qa_tuning.links.vertex_ai.VertexTuningJobLink"
    )


@pytest.mark.parametrize("job_name", JOBS)
def test_persisted_values_format_to_the_console_url(
    job_name: str, xcom: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GOOGLE_VERTEX_BASE_URL", raising=False)
    ti = RecordingTaskInstance()
    VertexTuningJobLink.persist({"ti": ti}, job_name=job_name)  # type: ignore[typeddict-item]
    assert ti.pushed == {VertexTuningJobLink.key: tuning_job_link_values(job_name)}
    xcom.update(ti.pushed)
    assert VertexTuningJobLink().get_link(operator=object(), ti_key=None) == console_url(job_name)  # type: ignore[arg-type]


def test_a_stored_url_is_returned_as_is(xcom: dict[str, Any]) -> None:
    """What Airflow stores under the key once the task's run ends: the formatted URL."""
    xcom[VertexTuningJobLink.key] = console_url(JOBS[0])
    assert VertexTuningJobLink().get_link(operator=object(), ti_key=None) == console_url(JOBS[0])  # type: ignore[arg-type]


def test_no_job_no_link(xcom: dict[str, Any]) -> None:
    assert VertexTuningJobLink().get_link(operator=object(), ti_key=None) == ""  # type: ignore[arg-type]


def test_persist_refuses_what_is_not_a_job_name() -> None:
    with pytest.raises(TuningJobNameError):
        VertexTuningJobLink.persist({"ti": RecordingTaskInstance()}, job_name="tuningJobs/1")  # type: ignore[typeddict-item]


def test_offline_the_link_opens_the_emulators_job_not_a_dead_console_page(
    xcom: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_VERTEX_BASE_URL", "http://127.0.0.1:8765/")
    ti = RecordingTaskInstance()
    VertexTuningJobLink.persist({"ti": ti}, job_name=JOBS[0])  # type: ignore[typeddict-item]
    url = f"http://127.0.0.1:8765/v1/{JOBS[0]}"
    assert ti.pushed == {VertexTuningJobLink.key: url}
    xcom.update(ti.pushed)
    assert VertexTuningJobLink().get_link(operator=object(), ti_key=None) == url  # type: ignore[arg-type]
    with pytest.raises(TuningJobNameError):  # offline too, only a job name makes a link
        VertexTuningJobLink.persist({"ti": ti}, job_name="tuningJobs/1")  # type: ignore[typeddict-item]
