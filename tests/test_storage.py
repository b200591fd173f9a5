"""URI-addressed object I/O against the GCS emulator and the local file system."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gemini_qa_tuning import storage
from tests.racing import needs_fork, race, single_winner


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


def test_writing_back_the_bytes_already_there_is_not_a_conflict(base_uri: str) -> None:
    """A retried conditional write whose first attempt landed (response lost) finds its own bytes: done."""
    uri = storage.join_uri(base_uri, "retried.json")
    storage.write_bytes(uri, b"mine", if_generation_match=0)
    storage.write_bytes(uri, b"mine", if_generation_match=0)  # the retry of the same write
    with pytest.raises(storage.ObjectChangedError, match="another writer got there first"):
        storage.write_bytes(uri, b"someone else's", if_generation_match=0)
    assert storage.read_bytes(uri) == b"mine"


def test_local_generation_changes_with_every_content_however_fast(tmp_path: Path) -> None:
    """A modification time can repeat within its resolution; the generation of new content never does."""
    uri = str(tmp_path / "fast.json")
    generations = []
    for round_number in range(50):
        storage.write_bytes(uri, f"v{round_number}".encode())
        generations.append(storage.read_with_generation(uri)[1])
    assert len(set(generations)) == 50 and 0 not in generations


def test_a_local_conditional_write_leaves_no_files_beside_the_object(tmp_path: Path) -> None:
    uri = str(tmp_path / "only.json")
    storage.write_bytes(uri, b"v1", if_generation_match=0)
    with pytest.raises(storage.ObjectChangedError):
        storage.write_bytes(uri, b"v2", if_generation_match=0)
    assert [path.name for path in tmp_path.iterdir()] == ["only.json"]


# Sizeable objects (about 400 kB) keep each writer busy between its check and its swap: the window a
# compare-and-swap that is not atomic loses in.
RACE_PAYLOAD_REPEAT = 20_000


def _race_conditional_write(uri: str, payload: str, barrier: Any, results: Any) -> None:
    """One racer: read the object, wait for the others to have read it too, then write conditionally."""
    try:
        _, generation = storage.read_with_generation(uri)
        barrier.wait(timeout=60)
        storage.write_bytes(uri, payload.encode() * RACE_PAYLOAD_REPEAT, if_generation_match=generation)
        results.put((payload, "won"))
    except storage.ObjectChangedError:
        results.put((payload, "lost"))
    except BaseException as error:  # reported to the test, which fails on it
        results.put((payload, f"error: {error!r}"))


@needs_fork
def test_racing_conditional_writers_have_exactly_one_winner(base_uri: str) -> None:
    uri = storage.join_uri(base_uri, "contended.json")
    for round_number in range(6):
        winner = single_winner(race(_race_conditional_write, uri, writers=4, round_number=round_number))
        assert storage.read_text(uri) == winner * RACE_PAYLOAD_REPEAT
