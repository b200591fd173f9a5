"""The champion record: absent, written, conditional on what was read, never guessed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gemini_qa_tuning import storage
from gemini_qa_tuning.champion import (
    ChampionRecord,
    CorruptChampionRecordError,
    champion_history_prefix,
    champion_uri,
    new_champion_record,
    read_champion,
    read_champion_state,
    write_champion,
)
from tests.racing import needs_fork, race, single_winner


@pytest.fixture(params=["gcs", "local-path", "file-uri"])
def prefix(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every kind of gcs_prefix the DAG's Param allows: gs://, a plain local path, file://."""
    if request.param == "gcs":
        return str(request.getfixturevalue("gcs_bucket_uri"))
    return str(tmp_path / "artifacts") if request.param == "local-path" else f"file://{tmp_path}/artifacts"


def test_no_champion_yet(tmp_path: Path) -> None:
    assert read_champion(str(tmp_path)) == (None, 0)


def test_promotion_is_conditional_on_the_generation_read(tmp_path: Path) -> None:
    prefix = str(tmp_path)
    first = ChampionRecord(model="projects/p/locations/l/endpoints/1", dataset_fingerprint="aa", promoted_at="t1")
    write_champion(prefix, first, expected_generation=0)
    current, generation = read_champion(prefix)
    assert current == first
    with pytest.raises(storage.ObjectChangedError):
        write_champion(prefix, ChampionRecord(model="other", promoted_at="t2"), expected_generation=0)
    assert read_champion(prefix)[0] == first
    second = ChampionRecord(model="projects/p/locations/l/endpoints/2", promoted_at="t3")
    write_champion(prefix, second, expected_generation=generation)
    assert read_champion(prefix)[0] == second
    history = storage.list_uris(storage.join_uri(prefix, "champion", "history"))
    assert len(history) == 2  # each promotion is kept; the refused write left no trace


def test_an_unreadable_record_is_an_error_not_a_guess(tmp_path: Path) -> None:
    storage.write_text(champion_uri(str(tmp_path)), "{not json")
    with pytest.raises(ValueError, match="unreadable"):
        read_champion(str(tmp_path))


def test_champion_in_the_gcs_emulator(gcs_bucket_uri: str) -> None:
    record = ChampionRecord(model="gemini-2.5-flash", promoted_at="2026-11-30T00:00:00Z")
    write_champion(gcs_bucket_uri, record, expected_generation=0)
    current, generation = read_champion(gcs_bucket_uri)
    assert current == record and generation > 0


def test_record_json_round_trip() -> None:
    record = ChampionRecord(
        model="projects/p/locations/l/endpoints/7",
        dataset_fingerprint="ff",
        tuned_model="projects/p/locations/l/models/9@1",
        tuning_job="projects/p/locations/l/tuningJobs/3",
        metrics={"tuned_f1": 81.5, "questions": 120.0},
        promoted_at="2026-12-01T00:00:00+00:00",
        run_id="manual__1",
    )
    stored = json.loads(json.dumps(record.to_json()))
    assert ChampionRecord.from_json(stored) == record
    assert ChampionRecord.from_json({"model": "gemini-2.5-flash", "added_later": 1}) == ChampionRecord(
        model="gemini-2.5-flash"
    )


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        pytest.param(b"", "the file is empty", id="empty-file"),
        pytest.param(b'{"model": "projects/p/locations/l/endp', "not valid JSON, perhaps truncated", id="truncated"),
        pytest.param(b'{"model": "caf\xe9"}', "not UTF-8", id="latin-1"),
        pytest.param(b'["gemini-2.5-flash"]', "holds a JSON list, not an object", id="a-list"),
        pytest.param(b'{"model": ""}', "'model' must be a non-empty string", id="empty-model"),
        pytest.param(b'{"dataset_fingerprint": "aa"}', "'model' must be a non-empty string", id="no-model"),
        pytest.param(b'{"model": "m", "run_id": 5}', "'run_id' must be a string or null", id="wrong-type"),
        pytest.param(b'{"model": "m", "metrics": {"f1": "high"}}', "metric 'f1' must be a number", id="metric"),
    ],
)
def test_a_corrupt_record_names_the_object_the_problem_and_the_fix(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    prefix = str(tmp_path)
    storage.write_bytes(champion_uri(prefix), content)
    with pytest.raises(CorruptChampionRecordError) as raised:
        read_champion(prefix)
    message = str(raised.value)
    assert raised.value.uri == champion_uri(prefix) and champion_uri(prefix) in message
    assert problem in message
    assert "retrying cannot fix this" in message
    assert f"copying the newest file under {champion_history_prefix(prefix)}/" in message
    assert isinstance(raised.value, ValueError)


def test_a_hand_edited_record_in_the_gcs_emulator_is_corrupt(gcs_bucket_uri: str) -> None:
    storage.write_bytes(champion_uri(gcs_bucket_uri), b'{"model": "   "}', content_type="application/json")
    with pytest.raises(CorruptChampionRecordError, match="'model' must be a non-empty string"):
        read_champion(gcs_bucket_uri)


def _race_promotion(prefix: str, model: str, barrier: Any, results: Any) -> None:
    """One run's promote step: read the champion, wait until every racer has, then promote conditionally."""
    try:
        _, generation = read_champion(prefix)
        barrier.wait(timeout=60)
        write_champion(prefix, ChampionRecord(model=model, promoted_at=model, run_id=model), generation)
        results.put((model, "won"))
    except storage.ObjectChangedError:
        results.put((model, "lost"))
    except BaseException as error:  # reported to the test, which fails on it
        results.put((model, f"error: {error!r}"))


@needs_fork
def test_racing_promotions_have_exactly_one_winner_on_every_backend(prefix: str) -> None:
    rounds = 5
    for round_number in range(rounds):
        winner = single_winner(race(_race_promotion, prefix, writers=3, round_number=round_number))
        current, _ = read_champion(prefix)
        assert current is not None and current.model == winner
    assert len(storage.list_uris(champion_history_prefix(prefix))) == rounds  # losers left no history


def test_a_retried_promotion_finds_its_own_record_and_completes(prefix: str) -> None:
    """Attempt 1 wrote the record and failed before its history copy; attempt 2 (new timestamp) finishes it."""
    incumbent = ChampionRecord(model="gemini-2.5-flash", run_id="older-run", promoted_at="t0")
    write_champion(prefix, incumbent, expected_generation=0)
    _, generation = read_champion(prefix)
    first_attempt = ChampionRecord(model="projects/p/locations/l/endpoints/8", run_id="run-1", promoted_at="t1")
    storage.write_bytes(champion_uri(prefix), json.dumps(first_attempt.to_json()).encode())  # then it died
    retry = ChampionRecord(model=first_attempt.model, run_id="run-1", promoted_at="t2")
    assert write_champion(prefix, retry, expected_generation=generation) == first_attempt
    assert read_champion(prefix)[0] == first_attempt
    assert sorted(uri.rsplit("/", 1)[-1] for uri in storage.list_uris(champion_history_prefix(prefix))) == [
        "t0.json",
        "t1.json",
    ]
    another_run = ChampionRecord(model=first_attempt.model, run_id="run-2", promoted_at="t3")
    with pytest.raises(storage.ObjectChangedError):
        write_champion(prefix, another_run, expected_generation=generation)


# --------------------------------------------------------------------------- history (issue 11)
@needs_fork
def test_six_racing_promotions_leave_one_winner_and_exactly_one_history_entry(prefix: str) -> None:
    """The history entry is part of the winning conditional write: no loser leaves one, the winner never lacks it."""
    incumbent = ChampionRecord(model="projects/p/locations/l/endpoints/0", run_id="incumbent", promoted_at="t0")
    write_champion(prefix, incumbent, expected_generation=0)
    winner = single_winner(race(_race_promotion, prefix, writers=6, round_number=0))
    state = read_champion_state(prefix)
    assert state.record is not None and state.record.model == winner
    assert [entry.entry_id for entry in state.history] == ["t0", winner]  # one entry for the race: the winner's
    assert state.history[-1].champion == state.record and state.history[-1].previous_entry == "t0"
    mirrors = sorted(uri.rsplit("/", 1)[-1] for uri in storage.list_uris(champion_history_prefix(prefix)))
    assert mirrors == sorted(["t0.json", f"{winner}.json"])  # the losers left no file either


def test_history_entries_are_appended_never_rewritten(tmp_path: Path) -> None:
    prefix = str(tmp_path)
    first = ChampionRecord(model="projects/p/locations/l/endpoints/1", run_id="r1", promoted_at="2026-12-01T01:00:00")
    write_champion(prefix, first, expected_generation=0)
    before = read_champion_state(prefix)
    second = ChampionRecord(model="projects/p/locations/l/endpoints/2", run_id="r2", promoted_at="2026-12-01T02:00:00")
    write_champion(prefix, second, expected_generation=before.generation)
    restored = ChampionRecord(model=first.model, run_id="rollback-1", promoted_at="2026-12-01T03:00:00")
    write_champion(
        prefix, restored, read_champion_state(prefix).generation, action="rollback", restored_entry="2026-12-01T010000"
    )
    state = read_champion_state(prefix)
    assert state.history[: len(before.history)] == before.history  # earlier entries are byte-for-byte kept
    assert [(entry.entry_id, entry.action, entry.previous_entry, entry.restored_entry) for entry in state.history] == [
        ("2026-12-01T010000", "promote", None, None),
        ("2026-12-01T020000", "promote", "2026-12-01T010000", None),
        ("2026-12-01T030000-rollback", "rollback", "2026-12-01T020000", "2026-12-01T010000"),
    ]
    assert state.record == restored and state.latest_entry == state.history[-1]
    # The mirror of the newest entry is a whole champion.json: copying it over a damaged record restores it.
    mirror = storage.join_uri(champion_history_prefix(prefix), "2026-12-01T030000-rollback.json")
    assert json.loads(storage.read_text(mirror)) == json.loads(storage.read_text(champion_uri(prefix)))


def test_a_record_from_before_the_history_still_reads_and_gets_one(tmp_path: Path) -> None:
    prefix = str(tmp_path)
    legacy = {"model": "projects/p/locations/l/endpoints/5", "run_id": "old", "promoted_at": "t0"}
    storage.write_text(champion_uri(prefix), json.dumps(legacy))
    state = read_champion_state(prefix)
    assert state.record == ChampionRecord(model=legacy["model"], run_id="old", promoted_at="t0")
    assert state.history == () and state.latest_entry is None
    new = ChampionRecord(model="projects/p/locations/l/endpoints/6", run_id="new", promoted_at="t1")
    write_champion(prefix, new, state.generation)
    assert [entry.previous_entry for entry in read_champion_state(prefix).history] == [None]


def test_a_damaged_history_is_a_corrupt_record(tmp_path: Path) -> None:
    prefix = str(tmp_path)
    storage.write_text(
        champion_uri(prefix), json.dumps({"model": "m", "history": [{"entry_id": "x", "action": "oops"}]})
    )
    with pytest.raises(CorruptChampionRecordError, match="'action' must be one of"):
        read_champion_state(prefix)


def test_the_record_names_model_version_checkpoint_endpoint_and_alias() -> None:
    record = new_champion_record(
        model="projects/1/locations/l/endpoints/9",
        dataset_fingerprint="ff",
        tuned_model="projects/1/locations/l/models/7@1",
        tuning_job="projects/1/locations/l/tuningJobs/3",
        headline={"tuned_f1": 80.0},
        promoted_at="t",
        run_id="r",
        checkpoint_id="2",
        alias="champion",
    )
    assert (record.endpoint, record.registry_model, record.model_version, record.checkpoint_id, record.alias) == (
        "projects/1/locations/l/endpoints/9",
        "projects/1/locations/l/models/7",
        "1",
        "2",
        "champion",
    )
    assert ChampionRecord.from_json(json.loads(json.dumps(record.to_json()))) == record
