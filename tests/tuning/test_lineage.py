"""Where a job starts: the base, the champion's tuned model (continuous tuning), or a retiring base's successor."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from gemini_qa_tuning.tuning import default_catalog
from gemini_qa_tuning.tuning.lineage import TuningStart, TuningStartError, choose_tuning_start, retiring_base

CATALOG = default_catalog()
TODAY = date(2026, 12, 1)
CHAMPION = "projects/123/locations/us-central1/models/9@1"
RETIRING = "gemini-2.5-flash"  # retires 2026-10-20 (new tuning blocked from 2026-09-20)
BEFORE_ITS_BLOCKED_MONTH = date(2026, 9, 1)


def start(**overrides: Any) -> TuningStart:
    arguments: dict[str, Any] = {
        "base_model": "gemini-3.5-flash-lite",
        "tune_from": "base",
        "rebase_on_retirement": "off",
        "champion_tuned_model": CHAMPION,
        "champion_base_model": "gemini-3.5-flash-lite",
        "has_champion": True,
        "today": TODAY,
        "catalog": CATALOG,
        **overrides,
    }
    return choose_tuning_start(**arguments)


def test_tune_from_base_tunes_the_base() -> None:
    assert start() == TuningStart(base_model="gemini-3.5-flash-lite")


def test_tune_from_champion_continues_the_champions_tuned_model() -> None:
    chosen = start(tune_from="champion")
    assert chosen == TuningStart(base_model="gemini-3.5-flash-lite", tune_from="champion", pre_tuned_model=CHAMPION)


@pytest.mark.parametrize(
    ("champion", "why"),
    [
        (
            {"has_champion": False, "champion_tuned_model": None, "champion_base_model": None},
            "there is no champion yet",
        ),
        ({"champion_tuned_model": None}, "the champion is not a tuned model of this pipeline"),
    ],
)
def test_without_a_tuned_champion_the_base_is_tuned_with_a_warning(champion: dict[str, Any], why: str) -> None:
    chosen = start(tune_from="champion", **champion)
    assert chosen.tune_from == "base" and chosen.pre_tuned_model is None
    (warning,) = chosen.warnings
    assert why in warning and "tuning gemini-3.5-flash-lite from the base instead" in warning


def test_a_champion_on_another_base_is_refused_saying_which_param_to_change() -> None:
    with pytest.raises(TuningStartError, match=r"was tuned from gemini-3\.5-flash and this run's base_model is"):
        start(tune_from="champion", champion_base_model="gemini-3.5-flash")


def test_unknown_choices_are_refused() -> None:
    with pytest.raises(TuningStartError, match="tune_from is 'parent'"):
        start(tune_from="parent")
    with pytest.raises(TuningStartError, match="rebase_on_retirement is 'yes'"):
        start(rebase_on_retirement="yes")


def test_the_retirement_window_is_the_lifecycle_warning_window() -> None:
    assert retiring_base(RETIRING, BEFORE_ITS_BLOCKED_MONTH, CATALOG) == date(2026, 10, 20)
    assert retiring_base(RETIRING, date(2026, 8, 1), CATALOG) is None  # 80 days ahead
    assert retiring_base("gemini-3.5-flash-lite", TODAY, CATALOG) is None
    assert retiring_base(None, TODAY, CATALOG) is None


def test_rebase_off_warn_and_retune() -> None:
    successor = CATALOG.model(RETIRING).successor  # type: ignore[union-attr]
    assert successor
    retiring = {"base_model": RETIRING, "champion_base_model": RETIRING, "today": BEFORE_ITS_BLOCKED_MONTH}
    assert start(**retiring) == TuningStart(base_model=RETIRING)
    (warning,) = start(rebase_on_retirement="warn", **retiring).warnings
    assert f"the champion's base model {RETIRING} retires on 2026-10-20" in warning
    assert f"set rebase_on_retirement to 'retune' to tune a new model on its successor {successor}" in warning

    rebased = start(rebase_on_retirement="retune", **retiring)
    assert rebased.base_model == successor and rebased.tune_from == "base" and rebased.rebased_from == RETIRING
    assert rebased.warnings[0].startswith(f"Rebasing: the champion's base model {RETIRING} retires on 2026-10-20")
    # Rebasing wins over continuing the champion: a tuned model cannot move to another base.
    assert start(rebase_on_retirement="retune", tune_from="champion", **retiring).base_model == successor


def test_a_run_on_another_base_needs_no_rebase() -> None:
    chosen = start(rebase_on_retirement="retune", champion_base_model=RETIRING, today=BEFORE_ITS_BLOCKED_MONTH)
    assert chosen.base_model == "gemini-3.5-flash-lite"
    assert "this run tunes gemini-3.5-flash-lite already, so no rebase is needed" in chosen.warnings[0]


def test_no_successor_means_no_rebase_and_a_warning(tmp_path: Any) -> None:
    import json

    from gemini_qa_tuning.tuning import load_catalog

    data = CATALOG.to_json()
    for model in data["models"]:  # type: ignore[union-attr]
        if model["name"] == RETIRING:  # type: ignore[index]
            model["successor"] = None  # type: ignore[index]
    path = tmp_path / "models.json"
    path.write_text(json.dumps(data))
    chosen = start(
        rebase_on_retirement="retune",
        base_model=RETIRING,
        champion_base_model=RETIRING,
        today=BEFORE_ITS_BLOCKED_MONTH,
        catalog=load_catalog(str(path)),
    )
    assert chosen.base_model == RETIRING
    assert "the catalog names no successor" in chosen.warnings[0]
