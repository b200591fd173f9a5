"""The emulator's Model Registry routes, through google-cloud-aiplatform's ModelServiceClient (REST, plain http):
strict as Google documents mergeVersionAliases, versions and delete (devtools/vertex_emulator/registry.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gemini_qa_tuning.model_registry import ModelVersion, VertexModelRegistry
from tests.devtools.test_vertex_emulator import FAST_JOBS, STRICT, training_jsonl, tune, upload


@pytest.fixture
def registry(vertex_emulator: Any) -> Iterator[VertexModelRegistry]:
    import google.oauth2.credentials

    client = VertexModelRegistry(
        google.oauth2.credentials.Credentials(token="t"), "us-central1", vertex_emulator.base_url
    )
    yield client
    client.close()


@pytest.fixture
def tuned_version(genai_client: Any, vertex_emulator: Any, gcs_bucket_uri: str) -> ModelVersion:
    """The registry version of a succeeded tuning job (``tunedModel.model`` = ``…/models/M@1``)."""
    vertex_emulator.configure(**FAST_JOBS, **STRICT, hold_jobs_at="JOB_STATE_PENDING")
    name = tune(genai_client, upload(f"{gcs_bucket_uri}/train.jsonl", training_jsonl())).name
    vertex_emulator.advance_job(name, "JOB_STATE_SUCCEEDED")
    model = genai_client.tunings.get(name=name).tuned_model.model
    assert model.endswith("@1")
    return ModelVersion.parse(model)


def test_a_tuned_model_is_a_registry_model_with_one_version(registry: Any, tuned_version: ModelVersion) -> None:
    assert registry.version_aliases(tuned_version) == ("default",)
    assert registry.list_versions(tuned_version.model) == [("1", ("default",))]


def test_merge_adds_and_removes_aliases_and_get_resolves_them(registry: Any, tuned_version: ModelVersion) -> None:
    registry.merge_version_aliases(tuned_version, ["champion", "golden"])
    assert registry.version_aliases(ModelVersion(tuned_version.model, "champion")) == ("default", "champion", "golden")
    registry.merge_version_aliases(tuned_version, ["-golden", "staging", "-staging"])  # the last two cancel out
    assert registry.version_aliases(tuned_version) == ("default", "champion")
    assert registry.version_aliases(ModelVersion(tuned_version.model, "golden")) is None  # no such alias: 404


@pytest.mark.parametrize(
    ("aliases", "message"),
    [
        pytest.param(["default"], "reserved", id="default-is-reserved"),
        pytest.param(["-default"], "reserved", id="default-cannot-be-removed"),
        pytest.param(["Champion"], "Invalid version alias", id="uppercase-first"),
        pytest.param(["a" * 129], "Invalid version alias", id="too-long"),
        pytest.param([], "versionAliases is required", id="empty"),
    ],
)
def test_merge_refuses_what_vertex_refuses(
    registry: Any, tuned_version: ModelVersion, aliases: list[str], message: str
) -> None:
    from google.api_core.exceptions import BadRequest

    with pytest.raises(BadRequest, match=message):
        registry.merge_version_aliases(tuned_version, aliases)
    assert registry.version_aliases(tuned_version) == ("default",)


def test_merge_needs_an_explicit_version_id(registry: Any, tuned_version: ModelVersion) -> None:
    from google.api_core.exceptions import BadRequest

    registry.merge_version_aliases(tuned_version, ["champion"])
    with pytest.raises(BadRequest, match="version id explicitly"):
        registry.merge_version_aliases(ModelVersion(tuned_version.model, "champion"), ["golden"])


def test_delete_removes_the_model_and_its_endpoints(
    registry: Any, tuned_version: ModelVersion, genai_client: Any, vertex_emulator: Any
) -> None:
    assert registry.delete_model(tuned_version.model) is True
    assert registry.version_aliases(tuned_version) is None
    assert registry.delete_model(tuned_version.model) is False  # already gone: 404
    counts = vertex_emulator.request_counts()
    assert counts["models.delete"] == 2 and counts["models.get"] >= 1
