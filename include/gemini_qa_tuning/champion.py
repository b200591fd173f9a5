"""The serving champion: which model answers questions in production, and the data it was tuned on.

One JSON record in object storage (``<prefix>/champion/champion.json``). Writes are conditional on
the generation that was read, so two runs can never overwrite each other's promotion unseen, and a
failed run never touches it. Every promotion also leaves a copy under ``champion/history/``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from gemini_qa_tuning import storage


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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChampionRecord:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        if not isinstance(known.get("model"), str) or not known["model"]:
            raise ValueError(f"champion record has no 'model': {data!r}")
        return cls(**known)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def champion_uri(prefix_uri: str) -> str:
    return storage.join_uri(prefix_uri, "champion", "champion.json")


def read_champion(prefix_uri: str) -> tuple[ChampionRecord | None, int]:
    """The current champion (None when nothing was ever promoted) and its generation."""
    data, generation = storage.read_with_generation(champion_uri(prefix_uri))
    if not data:
        return None, generation
    try:
        return ChampionRecord.from_dict(json.loads(data)), generation
    except (json.JSONDecodeError, ValueError) as error:
        raise ValueError(
            f"The champion record at {champion_uri(prefix_uri)} is unreadable ({error}). "
            "Fix or delete it by hand; the pipeline will not guess what serves."
        ) from error


def write_champion(prefix_uri: str, record: ChampionRecord, expected_generation: int) -> None:
    """Replace the champion if it is still the one read at ``expected_generation``.

    Raises storage.ObjectChangedError when another run promoted in between.
    """
    payload = json.dumps(record.to_dict(), indent=2, sort_keys=True).encode()
    stamp = (record.promoted_at or "unknown").replace(":", "")
    storage.write_bytes(
        champion_uri(prefix_uri),
        payload,
        content_type="application/json",
        if_generation_match=expected_generation,
    )
    storage.write_bytes(
        storage.join_uri(prefix_uri, "champion", "history", f"{stamp}.json"),
        payload,
        content_type="application/json",
    )
