"""Which Model Registry versions the champion alias belongs to and which must not hold it, from the champion state.

Pure: :func:`alias_targets` reads a :class:`~gemini_qa_tuning.champion.ChampionState`; the calls are
:func:`gemini_qa_tuning.model_registry.reconcile_alias`.
"""

from __future__ import annotations

from gemini_qa_tuning.champion import ChampionRecord, ChampionState
from gemini_qa_tuning.model_registry import ModelVersion

__all__ = ["alias_targets", "record_version"]

#: How many earlier champions of the history are checked for a stale alias (each check is one models.get).
RECENT_CHAMPIONS_CHECKED = 10


def record_version(record: ChampionRecord) -> ModelVersion | None:
    """The Model Registry version a champion record names; ``None`` for a publisher model."""
    if not record.registry_model or not record.registry_version:
        return None
    return ModelVersion.parse(record.registry_model, record.registry_version)


def alias_targets(state: ChampionState) -> tuple[ModelVersion | None, list[ModelVersion]]:
    """``(the champion's version, the earlier champions' versions that may still hold its alias)``.

    The earlier ones are the most recent :data:`RECENT_CHAMPIONS_CHECKED` distinct versions of the
    history (newest first) other than the champion's: a failure between a record update and its alias
    move leaves the alias on one of them.
    """
    champion = record_version(state.record) if state.record else None
    others: list[ModelVersion] = []
    for entry in reversed(state.history):
        version = record_version(entry.champion)
        if version is not None and version != champion and version not in others:
            others.append(version)
        if len(others) >= RECENT_CHAMPIONS_CHECKED:
            break
    return champion, others
