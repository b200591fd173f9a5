"""The champion alias logic against an in-memory registry: one holder, idempotent, repairs a half-done move."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from gemini_qa_tuning.champion import ChampionRecord, ChampionState, HistoryEntry
from gemini_qa_tuning.champion_alias import alias_targets
from gemini_qa_tuning.model_registry import InvalidAliasError, ModelVersion, check_alias, reconcile_alias

A = ModelVersion("projects/1/locations/l/models/10", "1")
B = ModelVersion("projects/1/locations/l/models/20", "1")
C = ModelVersion("projects/1/locations/l/models/30", "1")


class MemoryRegistry:
    def __init__(self, *versions: ModelVersion) -> None:
        self.aliases = {version: ["default"] for version in versions}
        self.calls: list[tuple[str, tuple[str, ...]]] = []

    def version_aliases(self, version: ModelVersion) -> tuple[str, ...] | None:
        found = self.aliases.get(version)
        return tuple(found) if found is not None else None

    def merge_version_aliases(self, version: ModelVersion, aliases: Sequence[str]) -> None:
        self.calls.append((version.name, tuple(aliases)))
        for alias in aliases:
            if alias.startswith("-"):
                self.aliases[version].remove(alias[1:])
            else:
                self.aliases[version].append(alias)

    def delete_model(self, model: str) -> bool:
        raise AssertionError("not used")


def holders(registry: MemoryRegistry, alias: str = "champion") -> list[ModelVersion]:
    return [version for version, aliases in registry.aliases.items() if alias in aliases]


def test_the_alias_moves_to_the_champion_and_off_the_previous_one() -> None:
    registry = MemoryRegistry(A, B)
    reconcile_alias(registry, "champion", A, [])
    change = reconcile_alias(registry, "champion", B, [A])
    assert holders(registry) == [B]
    assert change.added_to == B and change.removed_from == (A,)
    # Added before removed: at no moment does no version hold the alias.
    assert registry.calls[-2:] == [(B.name, ("champion",)), (A.name, ("-champion",))]


def test_a_repeated_reconcile_changes_nothing_and_a_half_done_move_is_completed() -> None:
    registry = MemoryRegistry(A, B, C)
    registry.aliases[A].append("champion")
    registry.aliases[C].append("champion")  # a failed move left it on two versions
    reconcile_alias(registry, "champion", B, [C, A])
    assert holders(registry) == [B]
    calls = len(registry.calls)
    assert not reconcile_alias(registry, "champion", B, [C, A]).changed
    assert len(registry.calls) == calls


def test_a_deleted_champion_model_is_an_error_and_deleted_others_are_skipped() -> None:
    registry = MemoryRegistry(A)
    with pytest.raises(LookupError, match="not in the Model Registry"):
        reconcile_alias(registry, "champion", B, [])
    assert not reconcile_alias(registry, "champion", A, [B]).removed_from


@pytest.mark.parametrize("alias", ["default", "Champion", "1st", "x" * 129, "ends_", ""])
def test_aliases_vertex_refuses_are_refused_here(alias: str) -> None:
    with pytest.raises(InvalidAliasError, match="champion_alias"):
        check_alias(alias)


def test_alias_targets_are_the_champion_and_the_recent_earlier_champions() -> None:
    def record(version: ModelVersion | None, model: str) -> ChampionRecord:
        return ChampionRecord(model=model, tuned_model=version.name if version else None, alias="champion")

    entries = (
        HistoryEntry("e1", "promote", record(A, "projects/1/locations/l/endpoints/1")),
        HistoryEntry("e2", "promote", record(None, "gemini-3.5-flash-lite")),  # a publisher model: no version
        HistoryEntry("e3", "promote", record(B, "projects/1/locations/l/endpoints/2")),
        HistoryEntry("e4", "rollback", record(A, "projects/1/locations/l/endpoints/1")),
    )
    state = ChampionState(record=entries[-1].champion, generation=1, history=entries)
    assert alias_targets(state) == (A, [B])
