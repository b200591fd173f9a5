"""Which tuned models the clean-up deletes (Params ``delete_losing_models``, ``keep_last_models``).

A tuned model costs nothing idle on Vertex AI but clutters the Model Registry and keeps an endpoint; a
pipeline that tunes nightly piles them up. The clean-up deletes this pipeline's tuned models that lost,
keeping the newest ``keep_last_models`` of them, and **never** the champion's model nor any model named
by a champion history entry (a rollback may need it). Pure: the caller lists the models and deletes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gemini_qa_tuning.champion import ChampionState

__all__ = ["TunedModelCandidate", "models_to_delete", "protected_models"]


@dataclass(frozen=True)
class TunedModelCandidate:
    """A tuned model of one of this pipeline's succeeded jobs: its registry model and when its job was made."""

    model: str  # projects/…/locations/…/models/M (no @version)
    created: str  # the job's createTime (RFC 3339): newer sorts later
    job_name: str | None = None


def protected_models(state: ChampionState) -> frozenset[str]:
    """The champion's registry model and every history entry's: the clean-up never deletes these."""
    records = [entry.champion for entry in state.history]
    if state.record is not None:
        records.append(state.record)
    return frozenset(model for record in records if (model := record.registry_model))


def models_to_delete(
    candidates: Iterable[TunedModelCandidate], protected: frozenset[str], keep_last: int
) -> list[TunedModelCandidate]:
    """The losing models beyond the newest ``keep_last`` (oldest first); protected ones are never listed."""
    if keep_last < 0:
        raise ValueError(f"keep_last_models must be at least 0, got {keep_last}")
    losers: Sequence[TunedModelCandidate] = sorted(
        {candidate.model: candidate for candidate in candidates if candidate.model not in protected}.values(),
        key=lambda candidate: candidate.created,
        reverse=True,
    )
    return sorted(losers[keep_last:], key=lambda candidate: candidate.created)
