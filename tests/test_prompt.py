"""The versioned prompt template: render, parse back, validation, manifest form."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gemini_qa_tuning.prompt import DEFAULT_PROMPT_TEMPLATE, PromptTemplate, PromptTemplateError


def test_default_template_is_the_agreed_one() -> None:
    assert DEFAULT_PROMPT_TEMPLATE.version == "squad-span-v1"
    prompt = DEFAULT_PROMPT_TEMPLATE.render(context="Vellmoor is a town.", question="What is Vellmoor?")
    assert prompt == (
        "Answer the question with the shortest span copied from the context. Reply with the answer only.\n\n"
        "Context:\nVellmoor is a town.\n\nQuestion:\nWhat is Vellmoor?"
    )


@given(context=st.text(), question=st.text().filter(lambda q: "\n\nQuestion:\n" not in q))
def test_parse_inverts_render(context: str, question: str) -> None:
    prompt = DEFAULT_PROMPT_TEMPLATE.render(context=context, question=question)
    assert DEFAULT_PROMPT_TEMPLATE.parse(prompt) == (context, question)
    assert DEFAULT_PROMPT_TEMPLATE.rendered_length(context=context, question=question) == len(prompt)


def test_parse_takes_the_question_after_the_last_separator() -> None:
    context = "Tricky.\n\nQuestion:\nnot this one"
    prompt = DEFAULT_PROMPT_TEMPLATE.render(context=context, question="this one?")
    assert DEFAULT_PROMPT_TEMPLATE.parse(prompt) == (context, "this one?")


def test_parse_rejects_a_prompt_of_another_shape() -> None:
    with pytest.raises(PromptTemplateError, match="does not start and end like"):
        DEFAULT_PROMPT_TEMPLATE.parse("Context:\nx\n\nQuestion:\ny")


def test_braces_in_values_are_not_format_fields() -> None:
    template = PromptTemplate("v-braces", "C: {context} | {{literal}} | Q: {question}")
    assert template.render(context="{question}", question="{0}") == "C: {question} | {literal} | Q: {0}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{question} then {context}", "exactly one"),
        ("{context} {question} {context}", "exactly one"),
        ("{context}{question}", "literal text between"),
        ("{context} {other}", "exactly one"),
        ("{context!r} {question}", "format spec or conversion"),
        ("{context} {question", "not a valid format string"),
    ],
)
def test_malformed_templates_are_refused(text: str, message: str) -> None:
    with pytest.raises(PromptTemplateError, match=message):
        PromptTemplate("bad", text)


def test_a_template_needs_a_version() -> None:
    with pytest.raises(PromptTemplateError, match="version"):
        PromptTemplate(" ", "{context} / {question}")


def test_manifest_form_round_trips_and_detects_edits() -> None:
    recorded = DEFAULT_PROMPT_TEMPLATE.to_dict()
    assert PromptTemplate.from_dict(recorded) == DEFAULT_PROMPT_TEMPLATE
    assert recorded["sha256"] != PromptTemplate("squad-span-v2", DEFAULT_PROMPT_TEMPLATE.text).sha256
    with pytest.raises(PromptTemplateError, match="does not match"):
        PromptTemplate.from_dict({**recorded, "text": recorded["text"] + " "})


def test_token_estimate_of_a_prompt_matches_the_rendered_text() -> None:
    from gemini_qa_tuning.text import estimate_tokens

    prompt = DEFAULT_PROMPT_TEMPLATE.render(context="c" * 101, question="q?")
    assert DEFAULT_PROMPT_TEMPLATE.estimate_prompt_tokens(context="c" * 101, question="q?") == estimate_tokens(prompt)
