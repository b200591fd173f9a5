"""native_arguments: one type check per argument, with the likely cause when a template rendered text."""

from __future__ import annotations

import pytest

from gemini_qa_tuning.native_arguments import (
    FLAG,
    INTEGER,
    NON_NEGATIVE_NUMBER,
    NUMBER,
    POSITIVE_NUMBER,
    TEXT,
    TEXT_MAPPING,
    TEXT_OR_TEXTS,
    ArgumentTypeError,
    argument_problem,
    check_arguments,
)


def test_the_message_names_argument_type_value_and_cause() -> None:
    assert argument_problem("epochs", "3", INTEGER) == (
        "epochs must be an integer, got str '3' — is render_template_as_native_obj=True set on the DAG?"
    )
    assert argument_problem("epochs", 2.0, INTEGER) == "epochs must be an integer, got float 2.0"
    assert argument_problem("adapter_size", "4", INTEGER, optional=True).startswith(  # type: ignore[union-attr]
        "adapter_size must be an integer or None, got str '4'"
    )


@pytest.mark.parametrize(
    ("expected", "good", "bad"),
    [
        (INTEGER, [0, 3, -1], [True, 1.0, "1", None]),
        (NUMBER, [0, 1.5, -2], [False, "1.5", None]),
        (POSITIVE_NUMBER, [0.1, 3], [0, -1, float("nan"), True, "1"]),
        (NON_NEGATIVE_NUMBER, [0, 0.0, 2.5], [-0.1, float("nan"), True, "2.5"]),
        (FLAG, [True, False], [0, 1, "True", None]),
        (TEXT, ["", "x"], [1, None, b"x"]),
        (TEXT_MAPPING, [{}, {"a": "b"}], [{"a": 1}, {1: "a"}, '{"a": "b"}', [("a", "b")]]),
        (TEXT_OR_TEXTS, ["a", ["a", "b"], ("a",)], [1, ["a", 2], None]),
    ],
)
def test_each_kind_accepts_only_its_values(expected: object, good: list[object], bad: list[object]) -> None:
    for value in good:
        assert argument_problem("x", value, expected) is None, value  # type: ignore[arg-type]
    for value in bad:
        assert argument_problem("x", value, expected) is not None, value  # type: ignore[arg-type]
    assert argument_problem("x", None, expected, optional=True) is None  # type: ignore[arg-type]


def test_text_arguments_get_no_rendering_hint() -> None:
    problem = argument_problem("labels", '{"a": "b"}', TEXT_MAPPING)
    assert problem is not None and "render_template_as_native_obj" in problem
    assert "render_template_as_native_obj" not in (argument_problem("base_model", 3, TEXT) or "")


def test_check_arguments_lists_every_problem() -> None:
    check_arguments("Task t", [None, None])
    with pytest.raises(ArgumentTypeError) as caught:
        check_arguments("Task t", [None, "a must be x", "b must be y"])
    assert caught.value.problems == ["a must be x", "b must be y"]
    assert str(caught.value).startswith("Task t: 2 argument(s) of the wrong type:\n  - a must be x")
