"""Continuous tuning on the Vertex AI emulator (``preTunedModel``), driven through google-genai.

Google: https://docs.cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-use-continuous-tuning —
the job names a tuned model (``projects/…/models/M@V``, version optional) and optionally a checkpoint;
``preTunedModel.baseModel`` is output only; ``baseModel`` and ``preTunedModel`` exclude each other.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:The SDK's tuning implementation is experimental"),
]

BASE_MODEL = "gemini-3.5-flash-lite"
FAST_JOBS = {"pending_seconds": 0.05, "queued_seconds": 0.05, "running_seconds": 0.15, "cancelling_seconds": 0.2}
STRICT = {"today": None, "model_thinking": True, "min_training_examples": None, "project_number": "123456789012"}
TEMPLATE = (
    "Answer the question with a short span copied from the context.\n\nContext:\n{context}\n\nQuestion:\n{question}"
)
CONTEXT = (
    "The old observatory stands on a ridge above the village of Lorn. Astronomers there discovered the "
    "comet Halvard in 1931 using a refracting telescope made in Hamburg. The building closed in 1968."
)
PROMPT = TEMPLATE.format(context=CONTEXT, question="When did astronomers discover the comet Halvard?")


def training_jsonl(answer: str, question: str = "When was the tower built?", lines: int = 16) -> str:
    prompt = TEMPLATE.format(context="The tower was built in 1872 by the harbour board of Kestrel.", question=question)
    line = json.dumps(
        {"contents": [{"role": "user", "parts": [{"text": prompt}]}, {"role": "model", "parts": [{"text": answer}]}]}
    )
    return (line + "\n") * lines


def upload(uri: str, text: str) -> str:
    from google.cloud import storage

    bucket, _, name = uri.removeprefix("gs://").partition("/")
    storage.Client(project="local-project").bucket(bucket).blob(name).upload_from_string(text)
    return uri


def tune(client: Any, base_model: str, training_uri: str, **config: Any) -> Any:
    from google.genai import types

    return client.tunings.tune(
        base_model=base_model,
        training_dataset=types.TuningDataset(gcs_uri=training_uri),
        config=types.CreateTuningJobConfig(**config),
    )


@pytest.fixture
def client(genai_client: Any, vertex_emulator: Any) -> Any:
    vertex_emulator.configure(**FAST_JOBS, **STRICT, hold_jobs_at="JOB_STATE_PENDING")
    return genai_client


@pytest.fixture
def parent(client: Any, vertex_emulator: Any, gcs_bucket_uri: str) -> Any:
    """A succeeded job of 2 epochs whose reader learned 1-word answers."""
    uri = upload(f"{gcs_bucket_uri}/parent.jsonl", training_jsonl("1872"))
    name = tune(client, BASE_MODEL, uri, epoch_count=2).name
    vertex_emulator.advance_job(name, "JOB_STATE_SUCCEEDED")
    return client.tunings.get(name=name)


def test_a_continuous_job_starts_from_the_parent_and_reports_it(
    client: Any, vertex_emulator: Any, parent: Any, gcs_bucket_uri: str
) -> None:
    # The new data teaches nothing about "when" questions (too few examples of the type): the parent's stays.
    new_data = upload(
        f"{gcs_bucket_uri}/new.jsonl", training_jsonl("the harbour board of kestrel", question="Who built the tower?")
    )
    child = tune(client, parent.tuned_model.model, new_data, epoch_count=1, pre_tuned_model_checkpoint_id="2")

    assert child.pre_tuned_model.tuned_model_name == parent.tuned_model.model
    assert child.pre_tuned_model.checkpoint_id == "2"
    assert child.pre_tuned_model.base_model == BASE_MODEL  # output only: the parent's base
    assert child.base_model is None
    vertex_emulator.advance_job(child.name, "JOB_STATE_SUCCEEDED")
    child = client.tunings.get(name=child.name)
    assert child.tuned_model.model != parent.tuned_model.model

    answers = [
        client.models.generate_content(model=job.tuned_model.endpoint, contents=PROMPT).text for job in (parent, child)
    ]
    assert answers[0] == "1931"
    assert answers[1] == answers[0], "the continued model answers a 'when' question as well as its parent"
    # A model tuned from the base on the same new data did not learn the parent's short "when" answers.
    fresh = tune(client, BASE_MODEL, new_data, epoch_count=1)
    vertex_emulator.advance_job(fresh.name, "JOB_STATE_SUCCEEDED")
    fresh = client.tunings.get(name=fresh.name)
    fresh_answer = client.models.generate_content(model=fresh.tuned_model.endpoint, contents=PROMPT).text
    assert len(fresh_answer.split()) > 1


def test_a_continuous_job_without_a_version_or_checkpoint_uses_the_defaults(
    client: Any, parent: Any, gcs_bucket_uri: str
) -> None:
    new_data = upload(f"{gcs_bucket_uri}/more.jsonl", training_jsonl("1872"))
    child = tune(client, parent.tuned_model.model.removesuffix("@1"), new_data)
    assert child.pre_tuned_model.tuned_model_name == parent.tuned_model.model.removesuffix("@1")
    assert child.pre_tuned_model.checkpoint_id is None


def test_a_continuous_job_is_refused_as_vertex_refuses_it(
    client: Any, vertex_emulator: Any, parent: Any, gcs_bucket_uri: str
) -> None:
    from google.genai import errors, types

    data = upload(f"{gcs_bucket_uri}/data.jsonl", training_jsonl("1872"))
    model = parent.tuned_model.model
    project_and_location = model.split("/models/")[0]
    cases = [
        (f"{project_and_location}/models/999999", {}, "was not found"),
        (model.replace("@1", "@7"), {}, "was not found"),
        (model, {"pre_tuned_model_checkpoint_id": "9"}, "Checkpoint '9' does not exist"),
    ]
    for tuned_model, config, message in cases:
        with pytest.raises(errors.ClientError, match=message) as raised:
            tune(client, tuned_model, data, **config)
        assert raised.value.code == 400
    # baseModel and preTunedModel are one oneof: a hand-written request with both is refused.
    both = types.CreateTuningJobConfig(http_options=types.HttpOptions(extra_body={"baseModel": BASE_MODEL}))
    with pytest.raises(errors.ClientError, match="oneof") as raised:
        client.tunings.tune(base_model=model, training_dataset=types.TuningDataset(gcs_uri=data), config=both)
    assert raised.value.code == 400


# ------------------------------------------------------------------------------- request validation (units)
def _body(**pre_tuned: Any) -> dict[str, Any]:
    return {
        "preTunedModel": {"tunedModelName": "projects/p/locations/l/models/42@1", **pre_tuned},
        "supervisedTuningSpec": {"trainingDatasetUri": "gs://b/t.jsonl"},
    }


def _validate(body: dict[str, Any], parent: Any) -> Any:
    from datetime import date

    from devtools.vertex_emulator import jobs
    from devtools.vertex_emulator.models import model_table

    return jobs.validate_create_request(body, model_table(), date(2026, 12, 1), lambda name: parent)


def _parent(**overrides: Any) -> Any:
    from devtools.vertex_emulator.jobs import ParentModel

    values: dict[str, Any] = {
        "model_id": "42",
        "base_model": BASE_MODEL,
        "job_succeeded": True,
        "checkpoint_ids": ("1", "2"),
        **overrides,
    }
    return ParentModel(**values)


def test_a_valid_continuous_request_names_its_parent_and_base() -> None:
    create = _validate(_body(checkpointId="1"), _parent())
    assert create.parent_model_id == "42" and create.base_model == BASE_MODEL
    assert create.echoed["preTunedModel"] == {
        "tunedModelName": "projects/p/locations/l/models/42@1",
        "checkpointId": "1",
        "baseModel": BASE_MODEL,
    }
    assert "baseModel" not in create.echoed


@pytest.mark.parametrize(
    ("body", "parent", "message"),
    [
        (_body(), None, "was not found in this project and location"),
        (_body(), _parent(job_succeeded=False), "is not ready"),
        (_body(checkpointId="3"), _parent(), "Checkpoint '3' does not exist"),
        (_body(), _parent(base_model="gemini-2.5-flash"), "(the base model of projects/p/locations/l/models/42@1)"),
        ({**_body(), "preTunedModel": {"tunedModelName": "models/42"}}, _parent(), "must be a tuned model resource"),
        ({**_body(), "preTunedModel": {"tunedModel": "x"}}, _parent(), 'Unknown name "tunedModel"'),
        ({**_body(), "baseModel": BASE_MODEL}, _parent(), "oneof"),
    ],
    ids=["unknown", "unfinished", "bad-checkpoint", "retired-base", "bad-name", "misspelt-field", "both"],
)
def test_a_continuous_request_vertex_would_refuse_is_a_400(body: dict[str, Any], parent: Any, message: str) -> None:
    from devtools.vertex_emulator.errors import ApiError

    with pytest.raises(ApiError) as raised:
        _validate(body, parent)
    assert raised.value.http_code == 400 and raised.value.status == "INVALID_ARGUMENT"
    texts = [raised.value.message] + [
        violation["description"] for detail in raised.value.details for violation in detail.get("fieldViolations", [])
    ]
    assert any(message in text for text in texts), texts


def test_the_continued_profile_keeps_what_the_new_data_does_not_teach() -> None:
    from devtools.vertex_emulator.readers import continue_reader_profile

    parent = {
        "kind": "span-reader-v1",
        "example_count": 16,
        "median_answer_words": 1,
        "answer_words_by_question_type": {"when": 1},
        "numeric_share_by_question_type": {"when": 1.0},
        "lower_case_answers": True,
    }
    new = {
        "kind": "span-reader-v1",
        "example_count": 16,
        "median_answer_words": 5,
        "answer_words_by_question_type": {"who": 5},
        "numeric_share_by_question_type": {"who": 0.0},
        "lower_case_answers": True,
    }
    merged = continue_reader_profile(parent, new)
    assert merged["answer_words_by_question_type"] == {"when": 1, "who": 5}
    assert merged["numeric_share_by_question_type"] == {"when": 1.0, "who": 0.0}
    assert merged["example_count"] == 32 and merged["continued_from_examples"] == 16
    empty = {"kind": "span-reader-v1", "example_count": 0, "median_answer_words": 1}
    assert continue_reader_profile(parent, empty)["answer_words_by_question_type"] == {"when": 1}
