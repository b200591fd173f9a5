"""Reading typed fields out of parsed JSON, with errors that name the record and the field.

Shared by every ``from_json`` of the tuning records and by the model catalog loader. Private: the
public face is each record's ``from_json`` and :class:`RecordFieldError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

__all__ = ["RecordFieldError"]

_T = TypeVar("_T")
_MISSING = object()


class RecordFieldError(ValueError):
    """A JSON record lacks a field or holds a value of the wrong type; the message names both."""


def _get(data: Mapping[str, object], key: str, where: str, *, optional: bool) -> object:
    if not isinstance(data, Mapping):
        raise RecordFieldError(f"{where}: expected a JSON object, got {type(data).__name__}.")
    value = data.get(key, _MISSING)
    if value is _MISSING:
        if optional:
            return None
        raise RecordFieldError(f"{where}: field {key!r} is missing.")
    return value


def _wrong(where: str, key: str, kind: str, value: object) -> RecordFieldError:
    return RecordFieldError(f"{where}: field {key!r} must be {kind}, got {value!r}.")


def read_str(data: Mapping[str, object], key: str, where: str) -> str:
    value = _get(data, key, where, optional=False)
    if not isinstance(value, str):
        raise _wrong(where, key, "a string", value)
    return value


def read_optional_str(data: Mapping[str, object], key: str, where: str) -> str | None:
    value = _get(data, key, where, optional=True)
    if value is not None and not isinstance(value, str):
        raise _wrong(where, key, "a string or null", value)
    return value


def read_int(data: Mapping[str, object], key: str, where: str) -> int:
    value = _get(data, key, where, optional=False)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong(where, key, "a whole number", value)
    return value


def read_optional_int(data: Mapping[str, object], key: str, where: str) -> int | None:
    value = _get(data, key, where, optional=True)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise _wrong(where, key, "a whole number or null", value)
    return value


def read_float(data: Mapping[str, object], key: str, where: str) -> float:
    value = _get(data, key, where, optional=False)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _wrong(where, key, "a number", value)
    return float(value)


def read_optional_float(data: Mapping[str, object], key: str, where: str) -> float | None:
    value = _get(data, key, where, optional=True)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _wrong(where, key, "a number or null", value)
    return float(value)


def read_bool(data: Mapping[str, object], key: str, where: str) -> bool:
    value = _get(data, key, where, optional=False)
    if not isinstance(value, bool):
        raise _wrong(where, key, "true or false", value)
    return value


def read_str_map(data: Mapping[str, object], key: str, where: str) -> dict[str, str]:
    """A JSON object of strings to strings; a missing field is an empty mapping."""
    value = _get(data, key, where, optional=True)
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise _wrong(where, key, "an object of strings to strings", value)
    return dict(value)


def read_optional_object(data: Mapping[str, object], key: str, where: str) -> Mapping[str, object] | None:
    value = _get(data, key, where, optional=True)
    if value is not None and not isinstance(value, Mapping):
        raise _wrong(where, key, "an object or null", value)
    return value


def read_list(data: Mapping[str, object], key: str, where: str, item_type: type[_T], kind: str) -> list[_T]:
    """A JSON array whose items are all ``item_type`` (``kind`` describes it in the error)."""
    value = _get(data, key, where, optional=False)
    if not isinstance(value, list) or not all(
        isinstance(item, item_type) and not (item_type is int and isinstance(item, bool)) for item in value
    ):
        raise _wrong(where, key, f"a list of {kind}", value)
    return list(value)
