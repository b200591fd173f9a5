"""What a new tuning job starts from: the run's base model, the champion's tuned model, or a successor.

Continuous tuning (Param ``tune_from="champion"``)
    The job continues the champion's tuned model on the new data (Vertex AI continuous tuning, see
    :mod:`gemini_qa_tuning.tuning.request`). Without a champion to continue — none yet, or one that is a
    publisher model or records no tuned model — the job tunes the base model and the plan says so in a
    warning: the first run of a pipeline configured to continue its champion must be able to make one, and
    failing it would leave the user to run once with ``tune_from="base"`` by hand, to the same effect.
    A champion tuned from another base model than the run's is refused instead (:class:`TuningStartError`):
    continuing it would tune, and compare against, a base model the run was not asked to use.

Rebase on retirement (Param ``rebase_on_retirement``)
    A tuned model stops answering on its base model's retirement date. When the champion's base retires
    within :data:`~gemini_qa_tuning.tuning.lifecycle.RETIREMENT_WARNING_DAYS` days (or has retired):
    ``off`` does nothing here (the run's warnings still say it), ``warn`` adds a plan warning naming the
    catalog's successor, and ``retune`` tunes a fresh model on the successor, from the base (a tuned model
    cannot be continued onto another base), which is then judged like any challenger. Vertex also
    documents ``tuningJobs:rebaseTunedModel`` ("retunes it on a new base model version", discovery
    revision 20261106), but google-genai has no call for it and it returns a long-running operation
    rather than a job with our identity labels; a fresh tune on the successor goes through the same
    launch, reuse, wait and judgement as every other job. The retune applies when the run's base model is
    the champion's retiring one: a run already configured with another base tunes that one anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from gemini_qa_tuning.tuning.catalog import ModelCatalog, model_id
from gemini_qa_tuning.tuning.config import TUNE_FROM_CHOICES
from gemini_qa_tuning.tuning.lifecycle import RETIREMENT_WARNING_DAYS, BaseModelError, check_base_model

__all__ = ["REBASE_CHOICES", "TuningStart", "TuningStartError", "choose_tuning_start", "retiring_base"]

#: Values of the ``rebase_on_retirement`` Param.
REBASE_CHOICES = ("off", "warn", "retune")


class TuningStartError(ValueError):
    """The requested start cannot be honoured; the message says which Param to change."""


@dataclass(frozen=True)
class TuningStart:
    """What the job tunes: ``base_model`` itself, or (``tune_from="champion"``) ``pre_tuned_model`` on it.

    ``rebased_from`` names the retiring base a rebase moved away from; ``warnings`` are for the log and
    the run summary.
    """

    base_model: str
    tune_from: str = "base"
    pre_tuned_model: str | None = None
    rebased_from: str | None = None
    warnings: tuple[str, ...] = ()


def retiring_base(base_model: str | None, today: date, catalog: ModelCatalog) -> date | None:
    """The retirement date of ``base_model`` when it is at most :data:`RETIREMENT_WARNING_DAYS` away (or past)."""
    if not base_model:
        return None
    model = catalog.model(model_id(base_model))
    if model is None or model.retirement_date is None:
        return None
    return model.retirement_date if (model.retirement_date - today).days <= RETIREMENT_WARNING_DAYS else None


def choose_tuning_start(
    *,
    base_model: str,
    tune_from: str,
    rebase_on_retirement: str,
    champion_tuned_model: str | None,
    champion_base_model: str | None,
    has_champion: bool,
    today: date,
    catalog: ModelCatalog,
) -> TuningStart:
    """The start of this run's job (see the module docstring for the rules).

    :param base_model: the run's base model (Param ``base_model``).
    :param tune_from: ``"base"`` or ``"champion"``.
    :param rebase_on_retirement: ``"off"``, ``"warn"`` or ``"retune"``.
    :param champion_tuned_model: the champion's tuned model resource (``projects/…/models/M@V``), if any.
    :param champion_base_model: the base model the champion was tuned from, if recorded.
    :param has_champion: whether there is a champion at all.
    :raises TuningStartError: an unknown choice, or a champion to continue that was tuned on another base.
    """
    if tune_from not in TUNE_FROM_CHOICES:
        raise TuningStartError(f"tune_from is {tune_from!r}; use one of {list(TUNE_FROM_CHOICES)}.")
    if rebase_on_retirement not in REBASE_CHOICES:
        raise TuningStartError(f"rebase_on_retirement is {rebase_on_retirement!r}; use one of {list(REBASE_CHOICES)}.")
    rebased = _rebase(base_model, rebase_on_retirement, champion_base_model, today, catalog)
    if isinstance(rebased, TuningStart):
        return rebased
    warnings = rebased
    if tune_from == "base":
        return TuningStart(base_model=base_model, warnings=warnings)
    if not has_champion or not champion_tuned_model or not champion_tuned_model.startswith("projects/"):
        why = "there is no champion yet" if not has_champion else "the champion is not a tuned model of this pipeline"
        return TuningStart(
            base_model=base_model,
            warnings=(
                *warnings,
                f"tune_from is 'champion' but {why}: tuning {model_id(base_model)} from the base instead; "
                "the next run continues the champion once one is promoted.",
            ),
        )
    if champion_base_model is not None and model_id(champion_base_model) != model_id(base_model):
        raise TuningStartError(
            f"tune_from is 'champion', but the champion {champion_tuned_model} was tuned from "
            f"{model_id(champion_base_model)} and this run's base_model is {model_id(base_model)}: continuing it "
            f"would tune and judge another base than asked. Set base_model to {model_id(champion_base_model)} to "
            "continue the champion, or tune_from to 'base' to tune the run's base model afresh."
        )
    return TuningStart(
        base_model=base_model, tune_from="champion", pre_tuned_model=champion_tuned_model, warnings=warnings
    )


def _rebase(
    base_model: str, mode: str, champion_base_model: str | None, today: date, catalog: ModelCatalog
) -> TuningStart | tuple[str, ...]:
    """The rebased start, or the warnings about the champion's retiring base (none when nothing retires)."""
    retires = retiring_base(champion_base_model, today, catalog)
    if mode == "off" or retires is None or champion_base_model is None:
        return ()
    retiring = model_id(champion_base_model)
    known = catalog.model(retiring)
    successor = known.successor if known is not None else None
    tense = "retired" if today >= retires else "retires"
    situation = f"the champion's base model {retiring} {tense} on {retires.isoformat()}"
    if successor is None:
        return (f"{situation} and the catalog names no successor: choose a current base_model to rebase onto.",)
    if mode == "warn":
        return (
            f"{situation}: set rebase_on_retirement to 'retune' to tune a new model on its successor "
            f"{successor}, or set base_model to {successor}.",
        )
    if model_id(base_model) != retiring:
        return (f"{situation}; this run tunes {model_id(base_model)} already, so no rebase is needed.",)
    try:
        successor_warnings = tuple(check_base_model(successor, today, catalog))
    except BaseModelError as error:
        return (f"{situation}, but its successor {successor} cannot be tuned ({error}); no rebase.",)
    return TuningStart(
        base_model=successor,
        rebased_from=retiring,
        warnings=(
            f"Rebasing: {situation}; tuning a fresh model on its successor {successor} (judged like any "
            "challenger, against the base model and the champion).",
            *successor_warnings,
        ),
    )
