"""The serving champion: which model answers questions in production, and the data it was tuned on.

One JSON record in object storage (``<prefix>/champion/champion.json``). Writes are conditional on
the generation that was read, so two runs can never overwrite each other's promotion unseen, and a
failed run never touches it; :mod:`gemini_qa_tuning.storage` gives that guarantee on GCS and on a local
folder alike.

**History.** Every change of champion (a promotion or a rollback) appends an immutable
:class:`HistoryEntry` to the ``history`` list *inside* ``champion.json``, in the same conditional write
that names the new champion. So the write that wins the compare-and-swap is the write that records the
history entry: a run that loses the race leaves no entry, and a run that wins can never lose its entry
(a separate, best-effort history write could do both). Entries are never rewritten: each write copies
the list it read and adds one at the end. After the winning write, the whole document is also copied to
``champion/history/<entry id>.json``: a mirror from which a damaged record can be restored by hand; the
list inside ``champion.json`` is what readers trust.

The record's top-level fields are what they were before the history existed, so older readers keep
working; a record written before it has an empty history.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from gemini_qa_tuning import storage
from gemini_qa_tuning.json_types import JsonObject, JsonValue

__all__ = [
    "HISTORY_ACTIONS",
    "ChampionRecord",
    "ChampionState",
    "CorruptChampionRecordError",
    "HistoryEntry",
    "champion_history_prefix",
    "champion_uri",
    "read_champion",
    "read_champion_state",
    "write_champion",
]

_OPTIONAL_TEXT_FIELDS = (
    "dataset_fingerprint",
    "tuned_model",
    "tuning_job",
    "promoted_at",
    "run_id",
    "base_model",
    "endpoint",
    "model_version",
    "checkpoint_id",
    "alias",
)

#: What a history entry records: a promotion by the tuning DAG, or a rollback by the rollback DAG.
HISTORY_ACTIONS = ("promote", "rollback")


class CorruptChampionRecordError(ValueError):
    """The champion record exists but cannot be used (not JSON, or not a valid record).

    No retry can fix it: a person must repair, restore or delete the record. The message says which
    object, what is wrong with it and how to restore it.
    """

    def __init__(self, uri: str, history_prefix: str, problem: str) -> None:
        self.uri = uri
        self.problem = problem
        super().__init__(
            f"The champion record at {uri} is unreadable: {problem}. The pipeline will not guess which model "
            "serves, and retrying cannot fix this. Repair the file by hand (a JSON object with a non-empty "
            f"string 'model'), or restore the last good promotion by copying the newest file under "
            f"{history_prefix}/ over it. Deleting it instead makes the next run start without a champion: "
            "the first tuned model that beats the base model is promoted."
        )


@dataclass(frozen=True)
class ChampionRecord:
    """What serves now. ``model`` is what generateContent is called with: an endpoint resource name
    (``projects/…/endpoints/N``) for a tuned model, or a publisher model name."""

    model: str
    dataset_fingerprint: str | None = None
    tuned_model: str | None = None
    tuning_job: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    promoted_at: str | None = None
    run_id: str | None = None
    #: The base model the champion was tuned from: it retires with it. ``None`` in records written
    #: before this field existed.
    base_model: str | None = None
    #: The tuned model's endpoint (``projects/…/endpoints/N``); ``model`` names it too for a tuned model.
    endpoint: str | None = None
    #: The Model Registry version of ``tuned_model`` that serves (``"1"`` for ``…/models/M@1``).
    model_version: str | None = None
    #: The tuning checkpoint the endpoint serves, when one was chosen (``None``: the job's default).
    checkpoint_id: str | None = None
    #: The Model Registry version alias that marks this version as the champion (e.g. ``champion``).
    alias: str | None = None

    @property
    def registry_model(self) -> str | None:
        """The Model Registry model of ``tuned_model``, without its ``@version`` (``None`` for a publisher model)."""
        if not self.tuned_model:
            return None
        return self.tuned_model.split("@", 1)[0]

    @property
    def registry_version(self) -> str | None:
        """The version of :attr:`registry_model` that serves: ``model_version``, else the one in ``tuned_model``."""
        if self.model_version:
            return self.model_version
        if self.tuned_model and "@" in self.tuned_model:
            return self.tuned_model.split("@", 1)[1]
        return None

    def to_json(self) -> JsonObject:
        """The record as stored in ``champion.json``."""
        metrics: dict[str, JsonValue] = {name: value for name, value in self.metrics.items()}
        return {
            "model": self.model,
            "dataset_fingerprint": self.dataset_fingerprint,
            "tuned_model": self.tuned_model,
            "tuning_job": self.tuning_job,
            "metrics": metrics,
            "promoted_at": self.promoted_at,
            "run_id": self.run_id,
            "base_model": self.base_model,
            "endpoint": self.endpoint,
            "model_version": self.model_version,
            "checkpoint_id": self.checkpoint_id,
            "alias": self.alias,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> ChampionRecord:
        """A record from its JSON form; unknown keys are ignored (written by a newer version).

        Raises ValueError naming the field that is missing or of the wrong type.
        """
        model = data.get("model")
        if not isinstance(model, str) or not model.strip():
            raise ValueError(f"'model' must be a non-empty string naming the serving model, found {model!r}")
        texts: dict[str, str | None] = {}
        for name in _OPTIONAL_TEXT_FIELDS:
            value = data.get(name)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{name!r} must be a string or null, found {value!r}")
            texts[name] = value
        return cls(model=model, metrics=_metrics_from_json(data.get("metrics", {})), **texts)


#: The headline numbers a champion record keeps from the run that promoted it.
CHAMPION_METRICS = ("tuned_exact_match", "tuned_f1", "questions")


def new_champion_record(
    *,
    model: str,
    dataset_fingerprint: str,
    tuned_model: str | None,
    tuning_job: str | None,
    headline: Mapping[str, object],
    promoted_at: str,
    run_id: str,
    base_model: str | None = None,
    checkpoint_id: str | None = None,
    alias: str | None = None,
) -> ChampionRecord:
    """The record of a promotion: what serves, what it was tuned on, and the scores that earned it.

    ``model`` is the tuned model's endpoint; the record names it again as ``endpoint`` and splits the
    Model Registry version out of ``tuned_model`` (``…/models/M@1`` -> ``"1"``).
    """
    metrics = {
        name: float(value)
        for name, value in headline.items()
        if name in CHAMPION_METRICS and isinstance(value, int | float) and not isinstance(value, bool)
    }
    return ChampionRecord(
        model=model,
        dataset_fingerprint=dataset_fingerprint,
        tuned_model=tuned_model,
        tuning_job=tuning_job,
        metrics=metrics,
        promoted_at=promoted_at,
        run_id=run_id,
        base_model=base_model,
        endpoint=model if "/endpoints/" in model else None,
        model_version=tuned_model.split("@", 1)[1] if tuned_model and "@" in tuned_model else None,
        checkpoint_id=checkpoint_id,
        alias=alias,
    )


def _metrics_from_json(value: object) -> dict[str, float]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"'metrics' must be an object of numbers, found {value!r}")
    metrics = {}
    for name, number in value.items():
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise ValueError(f"metric {name!r} must be a number, found {number!r}")
        metrics[str(name)] = float(number)
    return metrics


def champion_uri(prefix_uri: str) -> str:
    return storage.join_uri(prefix_uri, "champion", "champion.json")


def champion_history_prefix(prefix_uri: str) -> str:
    """Where every promotion leaves a copy of the record it wrote (a mirror; ``champion.json`` is the authority)."""
    return storage.join_uri(prefix_uri, "champion", "history")


@dataclass(frozen=True)
class HistoryEntry:
    """One change of champion, never rewritten once written.

    :param entry_id: unique within the history; also the name of its mirror file under ``champion/history/``.
    :param action: ``promote`` (the tuning DAG) or ``rollback`` (the rollback DAG).
    :param champion: the record that served from this change on.
    :param previous_entry: the entry that served before (``None`` for the first, or after a record that
        predates the history).
    :param restored_entry: for a rollback, the earlier entry whose champion it restored.
    """

    entry_id: str
    action: str
    champion: ChampionRecord
    at: str | None = None
    run_id: str | None = None
    previous_entry: str | None = None
    restored_entry: str | None = None

    def to_json(self) -> JsonObject:
        return {
            "entry_id": self.entry_id,
            "action": self.action,
            "at": self.at,
            "run_id": self.run_id,
            "previous_entry": self.previous_entry,
            "restored_entry": self.restored_entry,
            "champion": self.champion.to_json(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> HistoryEntry:
        """An entry from its JSON form; raises ValueError naming the field that is wrong."""
        entry_id, action = data.get("entry_id"), data.get("action")
        if not isinstance(entry_id, str) or not entry_id:
            raise ValueError(f"a history entry's 'entry_id' must be a non-empty string, found {entry_id!r}")
        if action not in HISTORY_ACTIONS:
            raise ValueError(f"history entry {entry_id!r}: 'action' must be one of {HISTORY_ACTIONS}, found {action!r}")
        texts: dict[str, str | None] = {}
        for name in ("at", "run_id", "previous_entry", "restored_entry"):
            value = data.get(name)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"history entry {entry_id!r}: {name!r} must be a string or null, found {value!r}")
            texts[name] = value
        champion = data.get("champion")
        if not isinstance(champion, Mapping):
            raise ValueError(f"history entry {entry_id!r}: 'champion' must be an object, found {champion!r}")
        return cls(entry_id=entry_id, action=str(action), champion=ChampionRecord.from_json(champion), **texts)


@dataclass(frozen=True)
class ChampionState:
    """``champion.json`` as read: the champion, its generation, and its history (oldest first)."""

    record: ChampionRecord | None
    generation: int
    history: tuple[HistoryEntry, ...] = ()

    @property
    def latest_entry(self) -> HistoryEntry | None:
        """The entry that wrote the current record (``None`` for a record older than the history)."""
        if not self.history or self.history[-1].champion != self.record:
            return None
        return self.history[-1]

    def entry(self, entry_id: str) -> HistoryEntry | None:
        return next((entry for entry in self.history if entry.entry_id == entry_id), None)


def read_champion(prefix_uri: str) -> tuple[ChampionRecord | None, int]:
    """The current champion (None when nothing was ever promoted) and its generation.

    Raises CorruptChampionRecordError when a record exists but is not a valid one (an empty file
    included): that needs a person, not a retry.
    """
    state = read_champion_state(prefix_uri)
    return state.record, state.generation


def read_champion_state(prefix_uri: str) -> ChampionState:
    """The current champion, its generation and its history; raises CorruptChampionRecordError like
    :func:`read_champion`, also for a damaged history."""
    uri = champion_uri(prefix_uri)
    data, generation = storage.read_with_generation(uri)
    if generation == 0:
        return ChampionState(None, 0)

    def corrupt(problem: str) -> CorruptChampionRecordError:
        return CorruptChampionRecordError(uri, champion_history_prefix(prefix_uri), problem)

    if not data.strip():
        raise corrupt("the file is empty")
    try:
        document = json.loads(data)
    except UnicodeDecodeError as error:
        raise corrupt(f"it is not UTF-8 text ({error})") from error
    except json.JSONDecodeError as error:
        raise corrupt(f"it is not valid JSON, perhaps truncated ({error})") from error
    if not isinstance(document, dict):
        raise corrupt(f"it holds a JSON {type(document).__name__}, not an object")
    try:
        record = ChampionRecord.from_json(document)
        history = _history_from_json(document.get("history"))
    except ValueError as error:
        raise corrupt(str(error)) from error
    return ChampionState(record, generation, history)


def _history_from_json(value: object) -> tuple[HistoryEntry, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValueError(f"'history' must be a list of entries, found {type(value).__name__}")
    entries = []
    for item in value:
        if not isinstance(item, Mapping):
            raise ValueError(f"'history' must hold objects, found {item!r}")
        entries.append(HistoryEntry.from_json(item))
    return tuple(entries)


def write_champion(
    prefix_uri: str,
    record: ChampionRecord,
    expected_generation: int,
    *,
    action: str = "promote",
    restored_entry: str | None = None,
) -> ChampionRecord:
    """Replace the champion if it is still the one read at ``expected_generation``; returns what serves.

    The new history entry (``action``: ``promote``, or ``rollback`` of ``restored_entry``) is part of the
    same conditional write. A retry of a change whose earlier attempt already wrote the record (same
    ``run_id`` and model; the attempt then failed, e.g. before its mirror copy) finds that record in place:
    it completes the mirror and returns the stored record instead of reporting a conflict.

    Raises storage.ObjectChangedError when another run changed the champion in between.
    """
    if action not in HISTORY_ACTIONS:
        raise ValueError(f"action must be one of {HISTORY_ACTIONS}, got {action!r}")
    state = read_champion_state(prefix_uri)
    if state.generation != expected_generation:
        return _completed_retry(prefix_uri, state, record, expected_generation)
    entry = HistoryEntry(
        entry_id=_new_entry_id(record, action, state.history),
        action=action,
        champion=record,
        at=record.promoted_at,
        run_id=record.run_id,
        previous_entry=state.latest_entry.entry_id if state.latest_entry else None,
        restored_entry=restored_entry,
    )
    document = {
        **record.to_json(),
        "history_entry": entry.entry_id,
        "history": [
            *(item.to_json() for item in state.history),
            entry.to_json(),
        ],
    }
    payload = _payload(document)
    try:
        storage.write_bytes(
            champion_uri(prefix_uri), payload, content_type="application/json", if_generation_match=expected_generation
        )
    except storage.ObjectChangedError:
        return _completed_retry(prefix_uri, read_champion_state(prefix_uri), record, expected_generation)
    _mirror(prefix_uri, entry.entry_id, payload)
    return record


def _completed_retry(
    prefix_uri: str, state: ChampionState, record: ChampionRecord, expected_generation: int
) -> ChampionRecord:
    """The stored record when an earlier attempt of this very change wrote it; else the race was lost."""
    current = state.record
    if current is None or not _same_promotion(current, record):
        raise storage.ObjectChangedError(
            f"{champion_uri(prefix_uri)} changed since it was read (expected "
            f"{'no object' if expected_generation == 0 else f'generation {expected_generation}'}, found "
            f"{'no object' if state.generation == 0 else f'generation {state.generation}'}): another run "
            "changed the champion first"
        )
    latest = state.latest_entry
    if latest is not None:
        data, _ = storage.read_with_generation(champion_uri(prefix_uri))
        _mirror(prefix_uri, latest.entry_id, data)
    else:  # a record from before the history: mirror it under its promotion time, as then
        _mirror(prefix_uri, _stamp(current), _payload(current.to_json()))
    return current


def _mirror(prefix_uri: str, entry_id: str, payload: bytes) -> None:
    """Copy the document a change wrote under ``history/<entry id>.json`` (a copy to restore from by hand)."""
    storage.write_if_changed(
        storage.join_uri(champion_history_prefix(prefix_uri), f"{entry_id}.json"),
        payload,
        content_type="application/json",
    )


def _stamp(record: ChampionRecord) -> str:
    return (record.promoted_at or "unknown").replace(":", "")


def _new_entry_id(record: ChampionRecord, action: str, history: tuple[HistoryEntry, ...]) -> str:
    """The change's time (``:`` removed: it names a file), with the action for a rollback; unique in the history."""
    base = _stamp(record) if action == "promote" else f"{_stamp(record)}-{action}"
    taken = {entry.entry_id for entry in history}
    candidate, number = base, 1
    while candidate in taken:
        number += 1
        candidate = f"{base}_{number}"  # "_" sorts after ".": the file names keep the order of the changes
    return candidate


def _payload(document: Mapping[str, object]) -> bytes:
    return json.dumps(document, indent=2, sort_keys=True).encode()


def _same_promotion(current: ChampionRecord, record: ChampionRecord) -> bool:
    """Whether ``current`` was written by an earlier attempt of the change ``record`` describes."""
    return record.run_id is not None and current.run_id == record.run_id and current.model == record.model
