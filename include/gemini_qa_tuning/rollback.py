"""Rolling the champion back to an earlier one from its history (the ``gemini_squad_rollback`` DAG).

A rollback is a change of champion like a promotion: the same conditional write of ``champion.json``
(:func:`gemini_qa_tuning.champion.write_champion`, ``action="rollback"``) appends a history entry naming
the entry it restored, and the Model Registry alias follows the record afterwards. It refuses a target
whose base model is retired (a retired model, and every model tuned from it, no longer answers), and a
target that already serves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date

from gemini_qa_tuning.champion import ChampionRecord, ChampionState, HistoryEntry
from gemini_qa_tuning.json_types import JsonObject
from gemini_qa_tuning.tuning.catalog import ModelCatalog, load_catalog, model_id

__all__ = [
    "PREVIOUS",
    "RollbackError",
    "RollbackParams",
    "check_rollback_base",
    "choose_rollback_target",
    "rollback_record",
]

#: The ``history_entry`` Param value that means "the champion before the current one".
PREVIOUS = "previous"


class RollbackError(ValueError):
    """The rollback cannot be done as asked; the message says why and what to choose instead."""


@dataclass(frozen=True)
class RollbackParams:
    """The rollback DAG's Params (descriptions in ``dags/gemini_squad_rollback.py``); defaults = the tuning DAG's."""

    history_entry: str = PREVIOUS
    gcs_prefix: str = "gs://gemini-qa-tuning/gemini-squad"
    gcp_conn_id: str = "google_cloud_default"
    impersonation_chain: tuple[str, ...] = ()
    model_catalog_uri: str | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> RollbackParams:
        """The run's Params as a record; raises RollbackError naming every unknown key or wrong value."""
        known = [setting.name for setting in fields(cls)]
        problems = [
            f"{key!r} is not a Param of the rollback DAG (its Params: {', '.join(known)})"
            for key in params
            if key not in known
        ]
        values: dict[str, object] = {}
        for name in ("history_entry", "gcs_prefix", "gcp_conn_id"):
            if name in params:
                value = params[name]
                if not isinstance(value, str) or not value.strip():
                    problems.append(f"{name} must be non-empty text, not {value!r}")
                else:
                    values[name] = value.strip()
        if "model_catalog_uri" in params:
            value = params["model_catalog_uri"]
            if value is not None and not isinstance(value, str):
                problems.append(f"model_catalog_uri must be text or empty, not {value!r}")
            else:
                values["model_catalog_uri"] = value or None
        if "impersonation_chain" in params:
            chain = params["impersonation_chain"]
            if chain is None:
                values["impersonation_chain"] = ()
            elif isinstance(chain, str):
                values["impersonation_chain"] = tuple(part.strip() for part in chain.split(",") if part.strip())
            elif isinstance(chain, list | tuple) and all(isinstance(item, str) for item in chain):
                values["impersonation_chain"] = tuple(chain)
            else:
                problems.append(f"impersonation_chain must be a list of service accounts, not {chain!r}")
        if problems:
            raise RollbackError("The rollback's Params are not valid: " + "; ".join(problems) + ".")
        return replace(cls(), **values)  # type: ignore[arg-type]  # each value was checked above

    def to_json(self) -> JsonObject:
        return {
            "history_entry": self.history_entry,
            "gcs_prefix": self.gcs_prefix,
            "gcp_conn_id": self.gcp_conn_id,
            "impersonation_chain": list(self.impersonation_chain),
            "model_catalog_uri": self.model_catalog_uri,
        }

    def model_catalog(self) -> ModelCatalog:
        return load_catalog(self.model_catalog_uri)


def choose_rollback_target(state: ChampionState, history_entry: str) -> HistoryEntry:
    """The history entry whose champion to restore: ``history_entry`` by id, or ``previous``.

    ``previous`` is the newest entry whose model differs from the current champion's (a promotion of the
    same model again, e.g. a rerun, is not a different champion). Raises RollbackError when there is no
    champion or history, the id is unknown, or the target's model already serves.
    """
    current = state.record
    if current is None:
        raise RollbackError(
            "There is no champion record yet: nothing was ever promoted, so there is nothing to roll back."
        )
    known = ", ".join(entry.entry_id for entry in reversed(state.history)) or "(none)"
    if history_entry == PREVIOUS:
        target = next((entry for entry in reversed(state.history) if not _serves(entry, current)), None)
        if target is None:
            raise RollbackError(
                f"The champion {current.model} has no different previous champion in its history (entries, "
                f"newest first: {known}); name an entry id in the Param history_entry instead."
            )
    else:
        found = state.entry(history_entry)
        if found is None:
            raise RollbackError(
                f"history_entry {history_entry!r} is not in the champion history; the entries, newest first: "
                f"{known} (or 'previous')."
            )
        target = found
    if _serves(target, current):
        raise RollbackError(
            f"History entry {target.entry_id!r} names {target.champion.model}, which already serves: "
            "nothing to roll back."
        )
    return target


def _serves(entry: HistoryEntry, current: ChampionRecord) -> bool:
    return (entry.champion.model, entry.champion.tuned_model) == (current.model, current.tuned_model)


def check_rollback_base(record: ChampionRecord, today: date, catalog: ModelCatalog) -> None:
    """Raise RollbackError when ``record``'s base model is retired (or cannot be checked) on ``today``."""
    base = record.base_model or (None if record.model.startswith("projects/") else record.model)
    if base is None:
        raise RollbackError(
            f"{record.model} records no base model (promoted by an older version), so whether it still answers "
            "cannot be checked; the rollback refuses it. Choose a later history entry."
        )
    name = model_id(base)
    model = catalog.model(name)
    retired_on = model.retirement_date if model is not None else None
    if (retired_on is not None and today >= retired_on) or (model is None and catalog.is_retired_family(name)):
        when = f" on {retired_on.isoformat()}" if retired_on else ""
        raise RollbackError(
            f"Refusing to roll back to {record.model}: its base model {name} was retired{when}, and a tuned model "
            "retires with its base (it no longer answers). Choose a history entry tuned on a current base model, "
            "or promote a new model with the tuning DAG."
        )


def rollback_record(target: HistoryEntry, rolled_back_at: str, run_id: str) -> ChampionRecord:
    """The record a rollback writes: the target's champion, stamped with this rollback's time and run."""
    return replace(target.champion, promoted_at=rolled_back_at, run_id=run_id)
