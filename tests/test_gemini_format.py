"""Gemini tuning JSONL records: exact shape, round trip, refusal of other shapes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gemini_qa_tuning.gemini_format import (
    TuningRecordError,
    parse_tuning_line,
    parse_tuning_record,
    tuning_line,
    tuning_record,
)


def test_tuning_line_has_the_vertex_shape_compact_and_utf8() -> None:
    line = tuning_line("Frage: Größe?", "12,400")
    assert line == (
        '{"contents":[{"role":"user","parts":[{"text":"Frage: Größe?"}]},{"role":"model","parts":[{"text":"12,400"}]}]}'
    )
    assert json.loads(line) == tuning_record("Frage: Größe?", "12,400")


@given(prompt=st.text(), answer=st.text())
def test_line_round_trip_is_one_line(prompt: str, answer: str) -> None:
    line = tuning_line(prompt, answer)
    assert "\n" not in line  # newlines inside texts are escaped, so one record is one JSONL line
    assert parse_tuning_line(line) == (prompt, answer)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({}, "expected"),
        ({"contents": [{"role": "user", "parts": [{"text": "p"}]}]}, "expected"),
        (
            {"contents": [{"role": "model", "parts": [{"text": "a"}]}, {"role": "user", "parts": [{"text": "p"}]}]},
            "'user' turn",
        ),
        ({"contents": [{"role": "user", "parts": []}, {"role": "model", "parts": [{"text": "a"}]}]}, "one part"),
        (
            {"contents": [{"role": "user", "parts": [{"text": 1}]}, {"role": "model", "parts": [{"text": "a"}]}]},
            "string",
        ),
    ],
)
def test_other_shapes_are_refused(record: dict, message: str) -> None:
    with pytest.raises(TuningRecordError, match=message):
        parse_tuning_record(record)


def test_a_line_that_is_not_json_is_refused() -> None:
    with pytest.raises(TuningRecordError, match="not JSON"):
        parse_tuning_line("{nope")
