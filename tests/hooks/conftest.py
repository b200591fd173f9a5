"""Vertex tuning fixtures: fast emulated jobs, small tuning files in the GCS emulator, a job factory.

The one definition for the hook, operator, sensor and trigger tests; the conftest files of those folders
re-export these fixtures.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gemini_qa_tuning import storage
from gemini_qa_tuning.gemini_format import tuning_line
from gemini_qa_tuning.tuning import TuningConfig

FAST_JOBS = {"pending_seconds": 0.05, "queued_seconds": 0.05, "running_seconds": 0.3, "cancelling_seconds": 0.1}
PROMPT = "Answer the question.\n\nContext:\nThe bridge opened in 1911.\n\nQuestion:\nWhen did the bridge open?"


@pytest.fixture
def tuning_files(gcs_bucket_uri: str) -> tuple[str, str]:
    """``(train_uri, validation_uri)``: small valid Gemini tuning JSONL files in the GCS emulator."""
    train, validation = f"{gcs_bucket_uri}/train.jsonl", f"{gcs_bucket_uri}/validation.jsonl"
    storage.write_text(train, "\n".join([tuning_line(PROMPT, "1911")] * 4) + "\n")
    storage.write_text(validation, tuning_line(PROMPT, "1911") + "\n")
    return train, validation


@pytest.fixture
def training_uri(tuning_files: tuple[str, str]) -> str:
    """Just the training file of :func:`tuning_files`."""
    return tuning_files[0]


@pytest.fixture
def fast_vertex(vertex_emulator: Any, local_airflow_env: dict) -> Any:
    """The emulator, reset, with jobs that finish in a fraction of a second; the local connection is set."""
    vertex_emulator.reset()
    vertex_emulator.configure(**FAST_JOBS)
    return vertex_emulator


@pytest.fixture
def create_job(genai_client: Any, fast_vertex: Any, training_uri: str) -> Callable[..., str]:
    """Create a tuning job in the (freshly reset) emulator with the given outcome; returns its name."""

    def create(outcome: str = "succeed", **timing: float) -> str:
        fast_vertex.configure(job_outcome=outcome, **{**FAST_JOBS, **timing})
        request = TuningConfig.from_raw(training_uri=training_uri).request(f"fixture-{outcome}")
        dataset, config = request.to_sdk()
        job = genai_client.tunings.tune(base_model=request.base_model, training_dataset=dataset, config=config)
        assert job.name
        return job.name

    return create
