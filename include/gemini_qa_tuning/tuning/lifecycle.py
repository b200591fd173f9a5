"""The retirement guard: is a base model tunable today, and is a champion still served?

Vertex AI blocks new tuning (and new access) on a model one month before its retirement date and stops
serving it, and every model tuned from it, on that date. A run that launches on such a model would pay
for the data export and fail at Vertex, or tune a model that stops answering within weeks; these checks
run before anything is paid and say which models to choose instead.
"""

from __future__ import annotations

from datetime import date

from gemini_qa_tuning.tuning.catalog import ModelCatalog, TunableModel, model_id

__all__ = [
    "RETIREMENT_WARNING_DAYS",
    "BaseModelError",
    "check_base_model",
    "check_champion_base_model",
]

#: A run warns (log and run summary) when its base model retires within this many days.
RETIREMENT_WARNING_DAYS = 60


class BaseModelError(ValueError):
    """The base model cannot be tuned today: retired, in its blocked month, unknown or not tunable."""


def _choices(catalog: ModelCatalog, today: date, preferred: str | None = None) -> str:
    names = list(catalog.tunable_on(today))
    if preferred in names:  # the successor Google names first
        names.remove(preferred)
        names.insert(0, preferred)
    return ", ".join(names) if names else "(none in this catalog: add a current model to a model_catalog_uri file)"


def _retirement_text(model: TunableModel) -> str:
    assert model.retirement_date is not None
    return f"{model.retirement_date.isoformat()}{' or later' if model.retirement_no_earlier_than else ''}"


def check_base_model(base_model: str, today: date, catalog: ModelCatalog) -> list[str]:
    """Warnings about tuning ``base_model`` on ``today``; raises :class:`BaseModelError` when it cannot be tuned.

    Raises when the model is retired, inside its blocked month before retirement, unknown to ``catalog``
    or not tunable; warns when it retires within :data:`RETIREMENT_WARNING_DAYS` days. A tuned model
    (``projects/…``, continuous tuning) is not a catalog model and is not checked here.
    """
    name = model_id(base_model)
    if name.startswith("projects/"):
        return []
    model = catalog.model(name)
    if model is None:
        retired_family = " (its family has been retired by Vertex AI)" if catalog.is_retired_family(name) else ""
        raise BaseModelError(
            f"base_model {name!r} is not a model this catalog knows as tunable{retired_family}; choose one of "
            f"{_choices(catalog, today)}, or add it to a catalog file given by model_catalog_uri."
        )
    if not model.tunable:
        raise BaseModelError(
            f"base_model {name!r} cannot be tuned on Vertex AI (supervised tuning is not offered for it); choose "
            f"one of {_choices(catalog, today)}, or mark it tunable in a catalog file given by model_catalog_uri "
            "once Google offers it."
        )
    blocked = catalog.blocked_from(model)
    if model.retirement_date is not None and blocked is not None and today >= blocked:
        tense = "retired" if today >= model.retirement_date else "retires"
        raise BaseModelError(
            f"{name} {tense} on {model.retirement_date.isoformat()} (new tuning blocked from "
            f"{blocked.isoformat()}); a tuned model retires with its base. Choose one of "
            f"{_choices(catalog, today, model.successor)}."
        )
    warnings: list[str] = []
    if blocked is not None and (blocked - today).days <= RETIREMENT_WARNING_DAYS:
        warnings.append(
            f"{name} retires on {_retirement_text(model)}: new tuning is blocked from {blocked.isoformat()} "
            f"({(blocked - today).days} days from now), and models tuned from it stop answering on the "
            f"retirement date. Move to one of {_choices(catalog, blocked, model.successor)} soon."
        )
    return warnings


def check_champion_base_model(
    champion_model: str, champion_base_model: str | None, today: date, catalog: ModelCatalog
) -> list[str]:
    """Warnings about the champion's base model: retired, in its blocked month, or retiring within 60 days.

    A tuned model is served until its base model's retirement date and then stops answering, so the
    remedy is always to promote a new model tuned on a current base. ``champion_base_model`` ``None``
    (a record written before the base model was recorded) gives a warning that it cannot be checked.
    """
    if champion_base_model is None:
        return [
            f"The champion {champion_model} records no base model (promoted by an older version), so its "
            "retirement cannot be checked; the next promotion records it."
        ]
    name = model_id(champion_base_model)
    model = catalog.model(name)
    if model is None or model.retirement_date is None:
        return []
    remedy = (
        "Promote a new model tuned on a current base (run with force_retrain and a base_model among "
        f"{_choices(catalog, today, model.successor)}): a tuned model retires with its base."
    )
    retires = model.retirement_date
    if today >= retires:
        return [
            f"The champion {champion_model} was tuned from {name}, which retired on {retires.isoformat()}: it "
            f"no longer answers. {remedy}"
        ]
    if (retires - today).days <= RETIREMENT_WARNING_DAYS:
        return [
            f"The champion {champion_model} was tuned from {name}, which retires on {_retirement_text(model)} "
            f"({(retires - today).days} days from now); the champion stops answering then. {remedy}"
        ]
    return []
