"""Contract tests of the emulator's ``models.patch`` (default checkpoint), through the real google-genai SDK."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.devtools.test_vertex_emulator import (
    PROJECT_NUMBER,
    TEST_PROMPT,
    _client,  # noqa: F401  (fixture)
    _training_uri,  # noqa: F401  (fixture)
    assert_google_error,
    field_violations,
    tune,
    wait_until_ended,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:The SDK's tuning implementation is experimental"),
]


def _patch(base_url: str, name: str, body: Any, query: str = "") -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"{base_url}/v1/{name}{query}",
        data=json.dumps(body).encode(),
        method="PATCH",
        headers={"Content-Type": "application/json", "Authorization": "Bearer local-token"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _answer(client: Any, endpoint: str) -> str:
    return str(client.models.generate_content(model=endpoint, contents=TEST_PROMPT).text)


def test_sdk_update_sets_the_default_checkpoint_and_the_tuned_endpoint_serves_it(
    _client: Any,  # noqa: F811
    vertex_emulator: Any,
    _training_uri: str,  # noqa: F811
) -> None:
    from google.genai import types

    vertex_emulator.configure(best_checkpoint_epoch=2)
    job = wait_until_ended(_client, tune(_client, _training_uri, epoch_count=3).name)
    checkpoints = {checkpoint.checkpoint_id: checkpoint.endpoint for checkpoint in job.tuned_model.checkpoints}
    assert _answer(_client, job.tuned_model.endpoint) == _answer(_client, checkpoints["3"])  # the last by default

    model = _client.models.update(
        model=job.tuned_model.model, config=types.UpdateModelConfig(default_checkpoint_id="2")
    )

    assert model.default_checkpoint_id == "2"
    assert [checkpoint.checkpoint_id for checkpoint in model.checkpoints] == ["1", "2", "3"]
    assert model.name.startswith(f"projects/{PROJECT_NUMBER}/")
    assert _answer(_client, job.tuned_model.endpoint) == _answer(_client, checkpoints["2"])
    assert _answer(_client, job.tuned_model.endpoint) != _answer(_client, checkpoints["3"])
    assert _answer(_client, checkpoints["3"]) != _answer(_client, checkpoints["2"])  # each checkpoint stays itself
    assert vertex_emulator.request_counts()["models.patch"] == 1


def test_patch_refuses_unknown_checkpoints_output_only_fields_and_unknown_models(
    _client: Any,  # noqa: F811
    vertex_emulator: Any,
    _training_uri: str,  # noqa: F811
) -> None:
    from google.genai import errors, types

    job = wait_until_ended(_client, tune(_client, _training_uri, epoch_count=2).name)
    name = job.tuned_model.model  # projects/N/locations/L/models/M@1

    with pytest.raises(errors.ClientError) as unknown_checkpoint:
        _client.models.update(model=name, config=types.UpdateModelConfig(default_checkpoint_id="7"))
    assert_google_error(unknown_checkpoint.value, 400, "INVALID_ARGUMENT")
    assert [violation["field"] for violation in field_violations(unknown_checkpoint.value)] == [
        "model.default_checkpoint_id"
    ]

    base_url = vertex_emulator.base_url
    status, body = _patch(base_url, name, {"checkpoints": []})
    assert status == 400 and body["error"]["status"] == "INVALID_ARGUMENT"
    status, body = _patch(base_url, name, {"defaultCheckpointId": "1"}, "?updateMask=versionId")
    assert status == 400 and "versionId" in body["error"]["message"]
    status, body = _patch(base_url, name, {"defaultCheckpointId": "1"}, "?updateMask=")
    assert status == 400
    # With a mask, fields outside it are ignored (FieldMask semantics).
    status, body = _patch(
        base_url, name, {"defaultCheckpointId": "1", "displayName": "renamed"}, "?updateMask=default_checkpoint_id"
    )
    assert status == 200 and body["defaultCheckpointId"] == "1" and body["displayName"] != "renamed"
    model_path = name.split("@")[0]
    status, body = _patch(base_url, model_path + "@5", {"defaultCheckpointId": "1"})
    assert status == 404
    status, body = _patch(base_url, model_path.rsplit("/", 1)[0] + "/404404", {"defaultCheckpointId": "1"})
    assert status == 404 and body["error"]["status"] == "NOT_FOUND"
    # The refused patches changed nothing: the default is checkpoint 1, from the one accepted patch.
    assert _answer(_client, job.tuned_model.endpoint) == _answer(_client, job.tuned_model.checkpoints[0].endpoint)
