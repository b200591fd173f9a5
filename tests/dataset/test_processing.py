"""Cleaning, every reject reason, deduplication."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gemini_qa_tuning.dataset import QAExample, RejectedRecord, RejectReason
from gemini_qa_tuning.dataset.processing import ExampleBuilder, deduplicate, validate_examples
from gemini_qa_tuning.prompt import DEFAULT_PROMPT_TEMPLATE, PromptTemplate

GOOD: dict[str, Any] = {
    "id": "q1",
    "title": " Normans ",
    "context": "The  Normans\n\twere in\u00a0Normandy.",
    "question": "Where  were the Normans?\n",
    "answers": ["Normandy", " in  Normandy "],
}


def build(**changes: Any) -> QAExample | RejectedRecord:
    record = {**GOOD, **changes}
    record = {key: value for key, value in record.items() if value is not DROP}
    return ExampleBuilder().build(record, "src: line 1")


DROP = object()


def test_builder_cleans_whitespace_and_keeps_case() -> None:
    built = build()
    assert built == QAExample(
        id="q1",
        title="Normans",
        context="The Normans were in Normandy.",
        question="Where were the Normans?",
        answers=("Normandy", "in Normandy"),
    )


@pytest.mark.parametrize(
    "answers",
    [
        ["Normandy"],
        [{"text": "Normandy", "answer_start": 20}],
        {"text": ["Normandy"], "answer_start": [20]},
        ("Normandy",),
    ],
)
def test_builder_accepts_each_answer_shape(answers: Any) -> None:
    built = build(answers=answers)
    assert isinstance(built, QAExample) and built.answers == ("Normandy",)


def test_builder_drops_empty_reference_strings_but_keeps_the_rest() -> None:
    built = build(answers=["  ", "Normandy"])
    assert isinstance(built, QAExample) and built.answers == ("Normandy",)


@pytest.mark.parametrize(
    ("changes", "reason", "detail"),
    [
        ({"id": DROP}, RejectReason.MISSING_FIELD, "'id' is missing"),
        ({"title": None}, RejectReason.MISSING_FIELD, "'title' is missing"),
        ({"answers": DROP}, RejectReason.MISSING_FIELD, "'answers' is missing"),
        ({"context": " \n "}, RejectReason.EMPTY_FIELD, "'context' is empty"),
        ({"question": ""}, RejectReason.EMPTY_FIELD, "'question' is empty"),
        ({"answers": []}, RejectReason.EMPTY_FIELD, "no non-empty answer"),
        ({"answers": [" "]}, RejectReason.EMPTY_FIELD, "no non-empty answer"),
        ({"id": 17}, RejectReason.WRONG_TYPE, "'id' must be a string, got int"),
        ({"context": ["a"]}, RejectReason.WRONG_TYPE, "'context' must be a string, got list"),
        ({"answers": "Normandy"}, RejectReason.WRONG_TYPE, "'answers' must be a list"),
        ({"answers": [1]}, RejectReason.WRONG_TYPE, "'answers' must be a list"),
        ({"answers": {"start": [1]}}, RejectReason.WRONG_TYPE, "'answers' must be a list"),
    ],
)
def test_builder_rejects_with_reason_and_location(changes: dict, reason: RejectReason, detail: str) -> None:
    built = build(**changes)
    assert isinstance(built, RejectedRecord)
    assert built.reason is reason
    assert detail in built.detail
    assert built.where == "src: line 1"
    assert built.to_dict()["reason"] == str(reason)


def test_builder_cleans_each_distinct_context_once() -> None:
    builder = ExampleBuilder()
    first = builder.build({**GOOD, "id": "a"}, "x")
    second = builder.build({**GOOD, "id": "b"}, "x")
    assert isinstance(first, QAExample) and isinstance(second, QAExample)
    assert first.context is second.context


def test_validation_rejects_an_answer_missing_from_the_context(make_example: Callable) -> None:
    ok = make_example(id="ok")
    wrong = make_example(id="wrong", answers=("Rollo", "Charles"))
    case = make_example(id="case", answers=("rollo",))  # containment is case-sensitive: spans are copied
    result = validate_examples([ok, wrong, case], DEFAULT_PROMPT_TEMPLATE, max_prompt_tokens=1000)
    assert result.valid == [ok]
    assert [(r.reason, r.record["id"]) for r in result.rejects] == [
        (RejectReason.ANSWER_NOT_IN_CONTEXT, "wrong"),
        (RejectReason.ANSWER_NOT_IN_CONTEXT, "case"),
    ]
    assert "'Charles'" in result.rejects[0].detail


def test_validation_rejects_an_example_over_the_token_limit_and_keeps_one_at_it(make_example: Callable) -> None:
    template = PromptTemplate("t", "C:{context}\nQ:{question}")
    # prompt "C:" + 36 chars + "\nQ:" + 4 chars = 45 chars -> 12 tokens; target "rollo" -> 2 tokens.
    example = make_example(context="Rollo" + "." * 31, question="Who?", answers=("Rollo",))
    at_limit = validate_examples([example], template, max_prompt_tokens=14)
    over = validate_examples([example], template, max_prompt_tokens=13)
    assert at_limit.valid == [example] and not at_limit.rejects
    assert over.valid == [] and over.rejects[0].reason is RejectReason.PROMPT_TOO_LONG
    assert "about 14 tokens" in over.rejects[0].detail and "limit of 13" in over.rejects[0].detail


def test_the_token_limit_counts_the_normalized_target_not_the_raw_answer(make_example: Callable) -> None:
    template = PromptTemplate("t", "C:{context}\nQ:{question}")
    # prompt 45 chars -> 12 tokens. The raw answer "Rollo   X" is 9 chars (3 tokens), but the target is
    # its normalized form "rollo x", 7 chars -> 2 tokens: 14 in all, which fits a limit of 14.
    example = make_example(context="Rollo   X" + "." * 27, question="Who?", answers=("Rollo   X",))
    assert validate_examples([example], template, max_prompt_tokens=14).valid == [example]
    over = validate_examples([example], template, max_prompt_tokens=13)
    assert "about 14 tokens" in over.rejects[0].detail
    # A non-ASCII answer whose lowercase is longer: "İİİİ" (1 token) lowercases to 8 characters (2 tokens).
    dotted = make_example(context="İİİİ" + "." * 32, question="Who?", answers=("İİİİ",))
    assert validate_examples([dotted], template, max_prompt_tokens=14).valid == [dotted]
    assert "about 14 tokens" in validate_examples([dotted], template, max_prompt_tokens=13).rejects[0].detail


def test_dedup_ignores_case_and_whitespace_and_keeps_the_first(make_example: Callable) -> None:
    first = make_example(id="1", question="Who led the Norse?")
    louder = make_example(id="2", question="WHO  led the norse?")
    other_context = make_example(id="3", context="Rollo led the Norse!", question="Who led the Norse?")
    other_question = make_example(id="4", question="Who led them?")
    result = deduplicate([first, louder, other_context, other_question])
    assert result.kept == [first, other_context, other_question]
    assert result.duplicates_dropped == 1 and not result.rejects


def test_dedup_rejects_a_reused_id_for_different_content(make_example: Callable) -> None:
    first = make_example(id="same")
    clash = make_example(id="same", question="Whom did Rollo lead?")
    result = deduplicate([first, clash])
    assert result.kept == [first]
    assert [reject.reason for reject in result.rejects] == [RejectReason.DUPLICATE_ID]
