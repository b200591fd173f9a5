"""Choosing what a rollback restores, and refusing a champion whose base model is retired."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from gemini_qa_tuning.champion import ChampionRecord, ChampionState, HistoryEntry
from gemini_qa_tuning.rollback import (
    RollbackError,
    RollbackParams,
    check_rollback_base,
    choose_rollback_target,
    rollback_record,
)
from gemini_qa_tuning.tuning.catalog import load_catalog

FIRST = ChampionRecord(model="projects/1/locations/l/endpoints/1", tuned_model="projects/1/locations/l/models/1@1")
SECOND = ChampionRecord(model="projects/1/locations/l/endpoints/2", tuned_model="projects/1/locations/l/models/2@1")


def state(*entries: HistoryEntry) -> ChampionState:
    return ChampionState(record=entries[-1].champion, generation=7, history=entries)


def test_previous_is_the_newest_entry_with_another_model() -> None:
    history = state(
        HistoryEntry("e1", "promote", FIRST),
        HistoryEntry("e2", "promote", SECOND, previous_entry="e1"),
        HistoryEntry("e3", "promote", SECOND, previous_entry="e2"),  # the same model promoted again
    )
    assert choose_rollback_target(history, "previous").entry_id == "e1"
    assert choose_rollback_target(history, "e1").entry_id == "e1"


@pytest.mark.parametrize(
    ("history_entry", "message"),
    [
        pytest.param("e9", "not in the champion history; the entries, newest first: e2, e1", id="unknown"),
        pytest.param("e2", "already serves", id="current"),
    ],
)
def test_a_target_that_cannot_be_restored_is_refused(history_entry: str, message: str) -> None:
    history = state(HistoryEntry("e1", "promote", FIRST), HistoryEntry("e2", "promote", SECOND, previous_entry="e1"))
    with pytest.raises(RollbackError, match=message):
        choose_rollback_target(history, history_entry)


def test_nothing_to_roll_back_to() -> None:
    with pytest.raises(RollbackError, match="nothing was ever promoted"):
        choose_rollback_target(ChampionState(None, 0), "previous")
    with pytest.raises(RollbackError, match="no different previous champion"):
        choose_rollback_target(state(HistoryEntry("e1", "promote", FIRST)), "previous")


def test_a_retired_base_model_is_refused_with_what_to_do() -> None:
    catalog = load_catalog(None)
    retired = ChampionRecord(model=FIRST.model, base_model="gemini-2.5-flash")
    with pytest.raises(RollbackError, match=r"base model gemini-2.5-flash was retired on 2026-10-20.*Choose a history"):
        check_rollback_base(retired, date(2026, 12, 1), catalog)
    check_rollback_base(
        ChampionRecord(model=FIRST.model, base_model="gemini-3.5-flash-lite"), date(2026, 12, 1), catalog
    )
    with pytest.raises(RollbackError, match="records no base model"):
        check_rollback_base(FIRST, date(2026, 12, 1), catalog)


def test_the_restored_record_is_the_target_stamped_with_the_rollback() -> None:
    restored = rollback_record(HistoryEntry("e1", "promote", FIRST), "2026-12-01T10:00:00+00:00", "manual__1")
    assert (restored.model, restored.tuned_model, restored.run_id) == (FIRST.model, FIRST.tuned_model, "manual__1")


def test_params_refuse_unknown_keys_and_bad_values() -> None:
    assert RollbackParams.from_params({"history_entry": " e1 ", "impersonation_chain": None}).history_entry == "e1"
    with pytest.raises(RollbackError, match=r"'histroy_entry' is not a Param.*gcs_prefix must be non-empty"):
        RollbackParams.from_params({"histroy_entry": "e1", "gcs_prefix": ""})


def test_a_retried_rollback_does_not_roll_back_twice(tmp_path: Any, local_airflow_env: dict) -> None:
    """Attempt 1 wrote the record and failed before the alias; attempt 2 finds its entry and only finishes."""
    from gemini_qa_tuning.champion import read_champion_state, write_champion
    from gemini_qa_tuning.pipeline.rollback_steps import roll_back

    prefix = str(tmp_path)
    first = ChampionRecord(model=FIRST.model, tuned_model=None, base_model="gemini-3.5-flash-lite", promoted_at="t1")
    second = ChampionRecord(model=SECOND.model, tuned_model=None, base_model="gemini-3.5-flash-lite", promoted_at="t2")
    write_champion(prefix, first, 0)
    write_champion(prefix, second, read_champion_state(prefix).generation)
    params = RollbackParams(gcs_prefix=prefix)
    assert roll_back(params, "manual__rollback").model == FIRST.model
    assert roll_back(params, "manual__rollback").model == FIRST.model  # the retry: still the first, no new entry
    assert [entry.action for entry in read_champion_state(prefix).history] == ["promote", "promote", "rollback"]
