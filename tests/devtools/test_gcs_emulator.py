"""The fake-gcs-server emulator serves the clients the pipeline uses."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.integration


def test_google_cloud_storage_client(gcs_emulator: Any) -> None:
    from google.cloud import storage

    client = storage.Client()
    blob = client.bucket("gemini-qa-tuning").blob(f"gcs-client/{uuid.uuid4().hex}.txt")
    blob.upload_from_string("hello")
    assert blob.download_as_text() == "hello"
    assert [b.name for b in client.list_blobs("gemini-qa-tuning", prefix=blob.name)] == [blob.name]


def test_gcsfs(gcs_emulator: Any) -> None:
    import gcsfs

    fs = gcsfs.GCSFileSystem(endpoint_url=gcs_emulator.endpoint, token="anon", skip_instance_cache=True)
    path = f"gemini-qa-tuning/gcsfs/{uuid.uuid4().hex}.txt"
    with fs.open(path, "wb") as handle:
        handle.write(b"gcsfs works")
    assert fs.cat(path) == b"gcsfs works"


def test_airflow_object_storage_path(gcs_emulator: Any) -> None:
    from airflow.sdk import ObjectStoragePath

    path = ObjectStoragePath(f"gs://gemini-qa-tuning/osp/{uuid.uuid4().hex}.txt")
    path.write_text("through ObjectStoragePath")
    assert path.read_text() == "through ObjectStoragePath"


def test_filesystem_backend_keeps_data_across_restarts(tmp_path: Any) -> None:
    import os

    from google.cloud import storage

    from devtools.gcs_emulator import GcsEmulator

    root = tmp_path / "gcs"
    previous = os.environ.get("STORAGE_EMULATOR_HOST")
    try:
        with GcsEmulator(backend="filesystem", root=root) as first:
            os.environ["STORAGE_EMULATOR_HOST"] = first.endpoint
            storage.Client().bucket("gemini-qa-tuning").blob("kept.txt").upload_from_string("kept")
        with GcsEmulator(backend="filesystem", root=root) as second:
            os.environ["STORAGE_EMULATOR_HOST"] = second.endpoint
            assert storage.Client().bucket("gemini-qa-tuning").blob("kept.txt").download_as_text() == "kept"
    finally:
        if previous is not None:
            os.environ["STORAGE_EMULATOR_HOST"] = previous
