"""The emulator's batch prediction jobs, driven by the unmodified google-genai SDK (Vertex mode)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from google.genai import errors, types

from gemini_qa_tuning import storage

pytestmark = pytest.mark.integration

MODEL = "gemini-3.5-flash-lite"


def _request(prompt: str) -> dict[str, Any]:
    return {
        "request": {
            "contents": [{"role": "user", "parts": [{"text": prompt}]}],
            "generationConfig": {"temperature": 0, "maxOutputTokens": 256},
        }
    }


def _wait(client: Any, name: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        job = client.batches.get(name=name)
        if job.state.value in ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


def _create(
    client: Any,
    src: str,
    dest: str | types.BatchJobDestination,
    model: str = MODEL,
    labels: dict[str, str] | None = None,
) -> Any:
    return client.batches.create(
        model=model,
        src=src,
        config=types.CreateBatchJobConfig(
            display_name="test-batch",
            dest=dest,
            http_options=types.HttpOptions(extra_body={"labels": labels or {"purpose": "test"}}),
        ),
    )


@pytest.fixture
def batch_vertex(vertex_emulator: Any) -> Any:
    vertex_emulator.reset()
    vertex_emulator.configure(pending_seconds=0.05, batch_running_seconds=0.05, cancelling_seconds=0.05)
    return vertex_emulator


def test_a_batch_job_answers_like_generate_content_and_lays_out_its_output_as_vertex(
    batch_vertex: Any, genai_client: Any, gcs_bucket_uri: str
) -> None:
    batch_vertex.configure(pending_seconds=0.05, batch_running_seconds=0.05)
    prompts = [
        f"Answer the question.\n\nContext:\nThe bridge opened in 19{n:02d}.\n\nQuestion:\nWhen?" for n in range(5)
    ]
    src = f"{gcs_bucket_uri}/batch/requests.jsonl"
    storage.write_text(src, "".join(json.dumps(_request(prompt)) + "\n" for prompt in prompts))

    job = _create(genai_client, src, f"{gcs_bucket_uri}/batch/out")
    assert job.state.value == "JOB_STATE_PENDING"
    assert job.name.startswith("projects/123456789012/locations/us-central1/batchPredictionJobs/")
    done = _wait(genai_client, job.name)

    assert done.state.value == "JOB_STATE_SUCCEEDED", done
    assert done.completion_stats.successful_count == 5 and done.completion_stats.failed_count == 0
    folder = done.output_info.gcs_output_directory
    assert folder.startswith(f"{gcs_bucket_uri}/batch/out/prediction-model-")
    lines = [json.loads(line) for line in storage.read_text(f"{folder}/predictions.jsonl").splitlines()]
    assert [line["request"] for line in lines] == [_request(prompt)["request"] for prompt in prompts]
    online = [
        genai_client.models.generate_content(
            model=MODEL, contents=prompt, config=types.GenerateContentConfig(temperature=0, max_output_tokens=256)
        )
        for prompt in prompts
    ]
    for line, answer in zip(lines, online, strict=True):
        assert line["status"] == ""
        assert line["response"]["candidates"][0]["content"]["parts"][0]["text"] == answer.text
    counts = batch_vertex.request_counts()
    assert counts["batchPredictionJobs.create"] == 1
    assert counts["generateContent"] == 5  # only the online comparison: batch lines are not online calls


def test_list_filters_by_labels_and_cancel_ends_a_job(
    batch_vertex: Any, genai_client: Any, gcs_bucket_uri: str
) -> None:
    batch_vertex.configure(pending_seconds=30)
    src = f"{gcs_bucket_uri}/requests.jsonl"
    storage.write_text(src, json.dumps(_request("Q?")) + "\n")
    mine = _create(genai_client, src, f"{gcs_bucket_uri}/out", labels={"run": "a"})
    _create(genai_client, src, f"{gcs_bucket_uri}/out", labels={"run": "b"})

    found = list(genai_client.batches.list(config=types.ListBatchJobsConfig(filter='labels.run="a"')))
    assert [job.name for job in found] == [mine.name]
    genai_client.batches.cancel(name=mine.name)
    assert _wait(genai_client, mine.name).state.value == "JOB_STATE_CANCELLED"
    with pytest.raises(errors.ClientError) as refused:
        genai_client.batches.cancel(name=mine.name)
    assert refused.value.code == 400 and "already ended" in str(refused.value)


def test_the_slow_create_fault_stores_a_batch_job_at_once_but_shows_and_answers_it_late(
    batch_vertex: Any, genai_client: Any, gcs_bucket_uri: str
) -> None:
    """As when Vertex acts on a create after the client timed out: until the answer, get/list miss the job."""
    from concurrent.futures import ThreadPoolExecutor

    batch_vertex.configure(slow_create_seconds=1.5, fault_methods=["batchPredictionJobs.create"])
    src = f"{gcs_bucket_uri}/requests.jsonl"
    storage.write_text(src, json.dumps(_request("Q?")) + "\n")
    listing = types.ListBatchJobsConfig(filter='labels.run="slow"')

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=1) as pool:
        creating = pool.submit(_create, genai_client, src, f"{gcs_bucket_uri}/out", labels={"run": "slow"})
        time.sleep(0.5)
        assert not creating.done()  # not answered yet
        assert list(genai_client.batches.list(config=listing)) == []  # and not listed yet
        job = creating.result()
    assert time.monotonic() - started >= 1.5
    assert [found.name for found in genai_client.batches.list(config=listing)] == [job.name]
    assert genai_client.batches.get(name=job.name).name == job.name


def test_the_line_error_fault_makes_per_line_status_errors(
    batch_vertex: Any, genai_client: Any, gcs_bucket_uri: str
) -> None:
    batch_vertex.configure(batch_line_error_rate=0.5, error_seed=3)
    src = f"{gcs_bucket_uri}/requests.jsonl"
    storage.write_text(src, "".join(json.dumps(_request(f"Q{n}?")) + "\n" for n in range(20)))
    done = _wait(genai_client, _create(genai_client, src, f"{gcs_bucket_uri}/out").name)

    assert done.state.value == "JOB_STATE_SUCCEEDED"
    lines = [
        json.loads(line)
        for line in storage.read_text(f"{done.output_info.gcs_output_directory}/predictions.jsonl").splitlines()
    ]
    failed = [line for line in lines if line["status"]]
    assert 0 < len(failed) < 20 and all("response" not in line for line in failed)
    assert done.completion_stats.failed_count == len(failed)


def test_vertex_refusals_bad_uris_endpoints_unknown_models_and_missing_input(
    batch_vertex: Any, genai_client: Any, gcs_bucket_uri: str, vertex_emulator: Any
) -> None:
    src = f"{gcs_bucket_uri}/requests.jsonl"
    with pytest.raises(errors.ClientError) as unknown_model:
        _create(genai_client, src, f"{gcs_bucket_uri}/out", model="gemini-no-such-model")
    assert unknown_model.value.code == 404
    with pytest.raises(errors.ClientError) as endpoint:
        _create(genai_client, src, f"{gcs_bucket_uri}/out", model="projects/p/locations/us-central1/endpoints/1")
    assert endpoint.value.code == 400 and "endpoint" in str(endpoint.value)
    with pytest.raises(errors.ClientError) as bad_destination:
        # (the SDK itself refuses a non-gs:// string; a destination object reaches the server)
        _create(genai_client, src, types.BatchJobDestination(format="jsonl", gcs_uri="https://example.invalid/out"))
    assert bad_destination.value.code == 400
    with pytest.raises(errors.ClientError) as bad_label:
        _create(genai_client, src, f"{gcs_bucket_uri}/out", labels={"Bad": "x"})
    assert bad_label.value.code == 400
    # A missing input file is found inside the job, which then fails.
    failed = _wait(genai_client, _create(genai_client, f"{gcs_bucket_uri}/absent.jsonl", f"{gcs_bucket_uri}/out").name)
    assert failed.state.value == "JOB_STATE_FAILED" and "does not exist" in failed.error.message
