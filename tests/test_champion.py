"""The champion record: absent, written, conditional on what was read, never guessed."""

from __future__ import annotations

from pathlib import Path

import pytest

from gemini_qa_tuning import storage
from gemini_qa_tuning.champion import ChampionRecord, champion_uri, read_champion, write_champion


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
