"""The retirement guard: retired, blocked-month, unknown and untunable base models; 60-day warnings."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from gemini_qa_tuning.tuning import (
    BaseModelError,
    check_base_model,
    check_champion_base_model,
    default_catalog,
    load_catalog,
)
from gemini_qa_tuning.tuning.catalog import months_before

CATALOG = default_catalog()


def test_a_current_model_far_from_retirement_is_fine() -> None:
    assert check_base_model("gemini-3.5-flash-lite", date(2026, 12, 1), CATALOG) == []
    assert check_base_model("publishers/google/models/gemini-3.5-flash", date(2026, 12, 1), CATALOG) == []


def test_a_retired_model_fails_naming_its_date_the_blocked_month_and_the_successor_first() -> None:
    with pytest.raises(BaseModelError) as caught:
        check_base_model("gemini-2.5-flash", date(2026, 12, 1), CATALOG)
    message = str(caught.value)
    assert message.startswith("gemini-2.5-flash retired on 2026-10-20 (new tuning blocked from 2026-09-20)")
    assert "Choose one of gemini-3.5-flash, gemini-3.5-flash-lite, gemini-3.1-flash-lite." in message


def test_the_blocked_month_before_retirement_fails_like_a_retirement() -> None:
    assert check_base_model("gemini-2.5-flash", date(2026, 9, 19), CATALOG)  # last day: a warning only
    with pytest.raises(BaseModelError, match=r"gemini-2\.5-flash retires on 2026-10-20 \(new tuning blocked from"):
        check_base_model("gemini-2.5-flash", date(2026, 9, 20), CATALOG)


def test_a_model_whose_blocked_month_starts_within_60_days_warns() -> None:
    warnings = check_base_model("gemini-3.5-flash", date(2027, 3, 1), CATALOG)  # blocked from 2027-04-19
    assert len(warnings) == 1
    assert "gemini-3.5-flash retires on 2027-05-19 or later: new tuning is blocked from 2027-04-19" in warnings[0]
    assert "(49 days from now)" in warnings[0]
    assert check_base_model("gemini-3.5-flash", date(2027, 2, 17), CATALOG) == []  # 61 days ahead: quiet


def test_an_unknown_model_fails_and_says_how_to_add_it() -> None:
    with pytest.raises(BaseModelError) as caught:
        check_base_model("gemini-9.9-ultra", date(2026, 12, 1), CATALOG)
    assert str(caught.value) == (
        "base_model 'gemini-9.9-ultra' is not a model this catalog knows as tunable; choose one of "
        "gemini-3.5-flash-lite, gemini-3.5-flash, gemini-3.1-flash-lite, or add it to a catalog file given by "
        "model_catalog_uri."
    )
    with pytest.raises(BaseModelError, match="its family has been retired"):
        check_base_model("gemini-1.5-pro-002", date(2026, 12, 1), CATALOG)


def test_a_current_model_without_supervised_tuning_fails() -> None:
    with pytest.raises(BaseModelError, match=r"'gemini-3\.8-flash' cannot be tuned on Vertex AI"):
        check_base_model("gemini-3.8-flash", date(2026, 12, 1), CATALOG)


def test_a_tuned_model_as_base_is_not_a_catalog_question() -> None:
    assert check_base_model("projects/1/locations/us-central1/models/7@1", date(2026, 12, 1), CATALOG) == []


def test_a_catalog_file_can_add_a_model(tmp_path: Path) -> None:
    data = json.loads(json.dumps(CATALOG.to_json()))
    custom = dict(data["models"][0], name="gemini-9.9-ultra", family="gemini-9.9", retirement_date="2028-01-31")
    data["models"].append(custom)
    path = tmp_path / "models.json"
    path.write_text(json.dumps(data), encoding="utf-8")

    catalog = load_catalog(str(path))

    assert check_base_model("gemini-9.9-ultra", date(2026, 12, 1), catalog) == []
    assert catalog.blocked_from(catalog.model("gemini-9.9-ultra")) == date(2027, 12, 31)  # type: ignore[arg-type]
    assert "gemini-9.9-ultra" in catalog.tunable_on(date(2026, 12, 1))


def test_the_blocked_month_is_one_calendar_month_back_clamped_to_the_month() -> None:
    assert months_before(date(2026, 10, 20), 1) == date(2026, 9, 20)
    assert months_before(date(2026, 3, 31), 1) == date(2026, 2, 28)
    assert months_before(date(2027, 1, 15), 1) == date(2026, 12, 15)
    assert months_before(date(2027, 1, 15), 0) == date(2027, 1, 15)


def test_a_champion_tuned_from_a_retired_base_warns_what_to_do() -> None:
    warnings = check_champion_base_model(
        "projects/1/locations/us-central1/endpoints/9", "gemini-2.5-flash", date(2026, 12, 1), CATALOG
    )
    assert len(warnings) == 1
    assert "was tuned from gemini-2.5-flash, which retired on 2026-10-20: it no longer answers" in warnings[0]
    assert "Promote a new model tuned on a current base" in warnings[0]
    assert "a tuned model retires with its base" in warnings[0]


def test_a_champion_whose_base_retires_within_60_days_warns_and_a_current_one_is_quiet() -> None:
    endpoint = "projects/1/locations/us-central1/endpoints/9"
    warnings = check_champion_base_model(endpoint, "gemini-3.5-flash", date(2027, 4, 1), CATALOG)
    assert len(warnings) == 1 and "(48 days from now)" in warnings[0]
    assert check_champion_base_model(endpoint, "gemini-3.5-flash-lite", date(2026, 12, 1), CATALOG) == []


def test_a_champion_record_without_base_model_says_it_cannot_be_checked() -> None:
    (warning,) = check_champion_base_model("projects/1/locations/l/endpoints/9", None, date(2026, 12, 1), CATALOG)
    assert "records no base model" in warning
