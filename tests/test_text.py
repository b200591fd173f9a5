"""Whitespace cleaning, answer normalization and the token estimate."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gemini_qa_tuning.text import clean_whitespace, estimate_tokens, normalize_answer, token_estimate_for_length


def test_clean_whitespace_collapses_every_kind_of_whitespace_and_keeps_case() -> None:
    assert clean_whitespace("  The\tQuick\n\nBrown\u00a0Fox \r\n") == "The Quick Brown Fox"
    assert clean_whitespace("Saint\u2003Oda\u2028") == "Saint Oda"
    assert clean_whitespace(" \n\t ") == ""


def test_normalize_answer_lowercases_and_collapses_but_keeps_punctuation_and_articles() -> None:
    assert normalize_answer("  The  Brass\nOar! ") == "the brass oar!"
    assert normalize_answer("12,400") == "12,400"


@given(st.text())
def test_cleaning_is_idempotent_and_leaves_no_runs_of_whitespace(text: str) -> None:
    cleaned = clean_whitespace(text)
    assert clean_whitespace(cleaned) == cleaned
    assert "  " not in cleaned and "\n" not in cleaned
    assert cleaned == cleaned.strip()
    assert normalize_answer(text) == clean_whitespace(text.lower())


def test_token_estimate_is_four_characters_per_token_rounded_up() -> None:
    assert [estimate_tokens("x" * n) for n in (0, 1, 4, 5, 8, 9)] == [0, 1, 1, 2, 2, 3]


@given(st.integers(min_value=0, max_value=10**9))
def test_token_estimate_matches_the_ceiling_formula(characters: int) -> None:
    assert token_estimate_for_length(characters) == (characters + 3) // 4
