"""URI-addressed object I/O against the GCS emulator and the local file system."""

from __future__ import annotations

from pathlib import Path

import pytest

from gemini_qa_tuning import storage


@pytest.fixture(params=["gcs", "local"])
def base_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "gcs":
        return str(request.getfixturevalue("gcs_bucket_uri"))
    return str(tmp_path / "store")


def test_write_read_round_trip(base_uri: str) -> None:
    uri = storage.join_uri(base_uri, "a", "b.txt")
    storage.write_text(uri, "héllo\nworld\n")
    assert storage.exists(uri)
    assert storage.read_text(uri) == "héllo\nworld\n"
    assert list(storage.iter_lines(uri)) == ["héllo", "world"]
    assert storage.list_uris(base_uri) == [uri]
    storage.delete(uri)
    assert not storage.exists(uri)
    storage.delete(uri)  # deleting a missing object is fine


def test_write_if_changed_skips_identical_bytes(base_uri: str) -> None:
    uri = storage.join_uri(base_uri, "same.json")
    assert storage.write_if_changed(uri, b"{}") is True
    assert storage.write_if_changed(uri, b"{}") is False
    assert storage.write_if_changed(uri, b"{ }") is True
    assert storage.read_bytes(uri) == b"{ }"


def test_conditional_write_refuses_a_changed_object(base_uri: str) -> None:
    uri = storage.join_uri(base_uri, "record.json")
    data, generation = storage.read_with_generation(uri)
    assert (data, generation) == (b"", 0)
    storage.write_bytes(uri, b"v1", if_generation_match=0)
    with pytest.raises(storage.ObjectChangedError):
        storage.write_bytes(uri, b"v1-again", if_generation_match=0)
    data, generation = storage.read_with_generation(uri)
    assert data == b"v1"
    storage.write_bytes(uri, b"v2", if_generation_match=generation)
    with pytest.raises(storage.ObjectChangedError):
        storage.write_bytes(uri, b"v3", if_generation_match=generation)
    assert storage.read_bytes(uri) == b"v2"


def test_missing_object_is_a_clear_error(base_uri: str) -> None:
    with pytest.raises(FileNotFoundError):
        storage.read_bytes(storage.join_uri(base_uri, "nope"))


def test_gcs_uri_must_name_a_bucket() -> None:
    with pytest.raises(ValueError, match="gs://<bucket>"):
        storage.split_gcs_uri("gs:///object")
