"""The serving champion: which model answers questions in production, and the data it was tuned on.

One JSON record in object storage (``<prefix>/champion/champion.json``). Writes are conditional on
the generation that was read, so two runs can never overwrite each other's promotion unseen, and a
failed run never touches it; :mod:`gemini_qa_tuning.storage` gives that guarantee on GCS and on a local
folder alike. Every promotion also leaves a copy under ``champion/history/``, from which a damaged
record can be restored.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from gemini_qa_tuning import storage
from gemini_qa_tuning.json_types import JsonObject, JsonValue

__all__ = [
    "ChampionRecord",
    "CorruptChampionRecordError",
    "champion_history_prefix",
    "champion_uri",
    "read_champion",
    "write_champion",
]

_OPTIONAL_TEXT_FIELDS = ("dataset_fingerprint", "tuned_model", "tuning_job", "promoted_at", "run_id", "base_model")


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
) -> ChampionRecord:
    """The record of a promotion: what serves, what it was tuned on, and the scores that earned it."""
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
    """Where every promotion leaves a copy of the record it wrote."""
    return storage.join_uri(prefix_uri, "champion", "history")


def read_champion(prefix_uri: str) -> tuple[ChampionRecord | None, int]:
    """The current champion (None when nothing was ever promoted) and its generation.

    Raises CorruptChampionRecordError when a record exists but is not a valid one (an empty file
    included): that needs a person, not a retry.
    """
    uri = champion_uri(prefix_uri)
    data, generation = storage.read_with_generation(uri)
    if generation == 0:
        return None, 0

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
        return ChampionRecord.from_json(document), generation
    except ValueError as error:
        raise corrupt(str(error)) from error


def write_champion(prefix_uri: str, record: ChampionRecord, expected_generation: int) -> ChampionRecord:
    """Replace the champion if it is still the one read at ``expected_generation``; returns what serves.

    A retry of a promotion whose earlier attempt already wrote the record (same ``run_id`` and model;
    the attempt then failed, e.g. before its history copy) finds that record in place: it completes the
    history copy and returns the stored record instead of reporting a conflict.

    Raises storage.ObjectChangedError when another run promoted in between.
    """
    try:
        storage.write_bytes(
            champion_uri(prefix_uri),
            _payload(record),
            content_type="application/json",
            if_generation_match=expected_generation,
        )
    except storage.ObjectChangedError:
        current, _ = read_champion(prefix_uri)
        if current is None or not _same_promotion(current, record):
            raise
        record = current
    _keep_in_history(prefix_uri, record)
    return record


def _keep_in_history(prefix_uri: str, record: ChampionRecord) -> None:
    """Copy ``record`` into the history, named by its promotion time.

    ``promoted_at`` has whole seconds: another promotion stamped the same second keeps its copy (it is
    never overwritten; this one gets ``<stamp>_2.json``, sorting after it), and a retry of this promotion
    finds its own bytes in place and is done.
    """
    stamp = (record.promoted_at or "unknown").replace(":", "")
    payload = _payload(record)
    for attempt in itertools.count(1):
        name = f"{stamp}.json" if attempt == 1 else f"{stamp}_{attempt}.json"
        try:
            storage.write_bytes(
                storage.join_uri(champion_history_prefix(prefix_uri), name),
                payload,
                content_type="application/json",
                if_generation_match=0,  # only where nothing is, or these very bytes already are
            )
            return
        except storage.ObjectChangedError:
            continue  # another promotion's copy holds this name


def _payload(record: ChampionRecord) -> bytes:
    return json.dumps(record.to_json(), indent=2, sort_keys=True).encode()


def _same_promotion(current: ChampionRecord, record: ChampionRecord) -> bool:
    """Whether ``current`` was written by an earlier attempt of the promotion ``record`` describes."""
    return record.run_id is not None and current.run_id == record.run_id and current.model == record.model
