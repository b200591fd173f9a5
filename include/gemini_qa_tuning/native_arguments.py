"""Type checks for operator arguments, which arrive as native values once their templates are rendered.

The DAGs render templates as native objects (``render_template_as_native_obj=True``), so ``"{{ params.epochs }}"``
reaches an operator as the int ``3`` and an absent XCom as ``None``. Nothing here turns text back into values:
a string where a number belongs is refused with a message that points at the likely cause, once, at execute
time (a template is still a string when the DAG is parsed). Plain Python: no Airflow import.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "FLAG",
    "INTEGER",
    "NON_NEGATIVE_NUMBER",
    "NUMBER",
    "POSITIVE_NUMBER",
    "TEXT",
    "TEXT_MAPPING",
    "TEXT_OR_TEXTS",
    "ArgumentTypeError",
    "Expected",
    "argument_problem",
    "check_arguments",
]

NATIVE_RENDERING_HINT = "is render_template_as_native_obj=True set on the DAG?"


@dataclass(frozen=True)
class Expected:
    """What an argument must be: a description for messages and the test of a value."""

    description: str
    accepts: Callable[[object], bool]


def _is_number(value: object) -> bool:
    # bool is an int subclass, but True is never meant as 1 epoch or 1 USD.
    return isinstance(value, int | float) and not isinstance(value, bool)


INTEGER = Expected("an integer", lambda value: isinstance(value, int) and not isinstance(value, bool))
NUMBER = Expected("a number", _is_number)
POSITIVE_NUMBER = Expected("a number > 0", lambda value: _is_number(value) and value > 0)  # type: ignore[operator]
NON_NEGATIVE_NUMBER = Expected(
    "a number >= 0",
    lambda value: _is_number(value) and not math.isnan(value) and value >= 0,  # type: ignore[arg-type,operator]
)
FLAG = Expected("true or false (a bool)", lambda value: isinstance(value, bool))
TEXT = Expected("a string", lambda value: isinstance(value, str))
TEXT_MAPPING = Expected(
    "a mapping of strings to strings",
    lambda value: (
        isinstance(value, Mapping)
        and all(isinstance(key, str) and isinstance(item, str) for key, item in value.items())
    ),
)
TEXT_OR_TEXTS = Expected(
    "a string or a list of strings",
    lambda value: (
        isinstance(value, str) or (isinstance(value, Sequence) and all(isinstance(item, str) for item in value))
    ),
)


def argument_problem(name: str, value: object, expected: Expected, *, optional: bool = False) -> str | None:
    """One sentence saying why ``value`` is not ``expected`` (``None`` when it is, or is an allowed ``None``).

    >>> argument_problem("epochs", "3", INTEGER)
    "epochs must be an integer, got str '3' — is render_template_as_native_obj=True set on the DAG?"
    """
    if value is None and optional:
        return None
    if expected.accepts(value):
        return None
    allowed = f"{expected.description} or None" if optional else expected.description
    problem = f"{name} must be {allowed}, got {type(value).__name__} {value!r}"
    if isinstance(value, str) and expected is not TEXT and expected is not TEXT_OR_TEXTS:
        problem += f" — {NATIVE_RENDERING_HINT}"
    return problem


class ArgumentTypeError(TypeError):
    """Arguments of the wrong type. ``problems`` has one sentence per argument."""

    def __init__(self, where: str, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        listed = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"{where}: {len(self.problems)} argument(s) of the wrong type:\n{listed}")


def check_arguments(where: str, problems: Sequence[str | None]) -> None:
    """Raise :class:`ArgumentTypeError` naming ``where`` when any of ``problems`` is not ``None``."""
    found = [problem for problem in problems if problem is not None]
    if found:
        raise ArgumentTypeError(where, found)
