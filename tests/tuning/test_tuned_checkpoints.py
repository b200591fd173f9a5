"""Checkpoints travel with the job snapshot and the tuned model, and old records still read."""

from __future__ import annotations

from gemini_qa_tuning.tuning import JobSnapshot, TunedCheckpoint, TunedModel, TuningConfig, completion_result


def _job() -> object:
    from google.genai import types

    return types.TuningJob(
        name="projects/1/locations/us-central1/tuningJobs/7",
        state=types.JobState.JOB_STATE_SUCCEEDED,
        base_model="gemini-3.5-flash-lite",
        tuned_model=types.TunedModel(
            model="projects/1/locations/us-central1/models/5@1",
            endpoint="projects/1/locations/us-central1/endpoints/50",
            checkpoints=[
                types.TunedModelCheckpoint(
                    checkpoint_id=str(epoch),
                    epoch=epoch,
                    step=epoch * 3,
                    endpoint=f"projects/1/locations/us-central1/endpoints/{50 + epoch}",
                )
                for epoch in (1, 2)
            ],
        ),
    )


def test_the_snapshot_and_the_tuned_model_carry_the_checkpoints() -> None:
    snapshot = JobSnapshot.from_sdk(_job())
    expected = (
        TunedCheckpoint("1", 1, 3, "projects/1/locations/us-central1/endpoints/51"),
        TunedCheckpoint("2", 2, 6, "projects/1/locations/us-central1/endpoints/52"),
    )
    assert snapshot.checkpoints == expected
    assert JobSnapshot.from_json(snapshot.to_json()) == snapshot
    tuned = completion_result(snapshot, price_per_million=1.0)
    assert tuned.checkpoints == expected
    assert TunedModel.from_json(tuned.to_json()) == tuned


def test_records_written_before_checkpoints_were_kept_read_as_none() -> None:
    tuned = TunedModel.from_json(
        {
            "job_name": "j",
            "state": "JOB_STATE_SUCCEEDED",
            "tuned_model": "m",
            "endpoint": "e",
            "billable_tokens": 1,
            "epochs": 3,
            "actual_cost_usd": None,
        }
    )
    assert tuned.checkpoints == ()
    assert JobSnapshot.from_json({"job_name": "j", "state": "JOB_STATE_RUNNING", "labels": {}}).checkpoints == ()


def test_int64_fields_sent_as_text_are_read_as_numbers() -> None:
    class Raw:
        checkpoint_id = "4"
        epoch = "4"
        step = "12"
        endpoint = "e"

    assert TunedCheckpoint.from_sdk(Raw()) == TunedCheckpoint("4", 4, 12, "e")


def test_export_last_checkpoint_only_reaches_the_request_and_keeps_the_config_hash() -> None:
    settings = {"training_uri": "gs://b/train.jsonl", "validation_uri": "gs://b/validation.jsonl"}
    plain = TuningConfig.validated(**settings)
    last_only = TuningConfig.validated(export_last_checkpoint_only=True, **settings)
    assert last_only.config_hash() == plain.config_hash()  # same training: a job tuned either way is reused
    request = last_only.request("f" * 32, pipeline_id="p")
    assert request.config_kwargs()["export_last_checkpoint_only"] is True
    assert "export_last_checkpoint_only" not in plain.request("f" * 32, pipeline_id="p").config_kwargs()
    _, sdk_config = request.to_sdk()
    assert sdk_config.export_last_checkpoint_only is True
    old = request.to_json()
    del old["export_last_checkpoint_only"]
    assert type(request).from_json(old).export_last_checkpoint_only is False
