"""The JSON shapes typed records convert to and from (XCom payloads and stored JSON files), and the one
set of typed field readers their ``from_json`` methods use.

Every record that crosses a task boundary or is stored as JSON is a frozen dataclass with one pair
``to_json(self) -> JsonObject`` / ``from_json(cls, data: Mapping[str, object]) -> Self``; the JSON form is
what Airflow stores as XCom and what lands in ``metrics.json``, ``summary.json`` and the champion record.

Each ``read_*`` takes the record's name as ``where``, so a renamed or corrupted key in a stored file or an
XCom payload fails on reading with a message that names the record and the field (and the fields that
are there), not later with a ``KeyError`` deep inside a report.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias, TypeVar

__all__ = [
    "JsonObject",
    "JsonValue",
    "RecordFieldError",
    "read_bool",
    "read_counts",
    "read_float",
    "read_int",
    "read_json_object",
    "read_list",
    "read_object",
    "read_optional_float",
    "read_optional_int",
    "read_optional_object",
    "read_optional_str",
    "read_str",
    "read_str_list",
    "read_str_map",
]

JsonValue: TypeAlias = "str | int | float | bool | list[JsonValue] | dict[str, JsonValue] | None"
JsonObject: TypeAlias = "dict[str, JsonValue]"

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
        present = ", ".join(sorted(map(str, data))) or "none"
        raise RecordFieldError(f"{where}: field {key!r} is missing (fields present: {present}).")
    return value


def _wrong(where: str, key: str, kind: str, value: object) -> RecordFieldError:
    return RecordFieldError(f"{where}: field {key!r} must be {kind}, got {value!r}.")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def read_str(data: Mapping[str, object], key: str, where: str) -> str:
    value = _get(data, key, where, optional=False)
    if not isinstance(value, str):
        raise _wrong(where, key, "a string", value)
    return value


def read_optional_str(data: Mapping[str, object], key: str, where: str) -> str | None:
    """A string, or ``None`` when the field is missing or null."""
    value = _get(data, key, where, optional=True)
    if value is not None and not isinstance(value, str):
        raise _wrong(where, key, "a string or null", value)
    return value


def read_int(data: Mapping[str, object], key: str, where: str) -> int:
    value = _get(data, key, where, optional=False)
    if not _is_int(value):
        raise _wrong(where, key, "a whole number", value)
    assert isinstance(value, int)
    return value


def read_optional_int(data: Mapping[str, object], key: str, where: str) -> int | None:
    """A whole number, or ``None`` when the field is missing or null."""
    value = _get(data, key, where, optional=True)
    if value is None:
        return None
    if not _is_int(value):
        raise _wrong(where, key, "a whole number or null", value)
    assert isinstance(value, int)
    return value


def read_float(data: Mapping[str, object], key: str, where: str) -> float:
    value = _get(data, key, where, optional=False)
    if not _is_number(value):
        raise _wrong(where, key, "a number", value)
    assert isinstance(value, int | float)
    return float(value)


def read_optional_float(data: Mapping[str, object], key: str, where: str) -> float | None:
    """A number, or ``None`` when the field is missing or null."""
    value = _get(data, key, where, optional=True)
    if value is None:
        return None
    if not _is_number(value):
        raise _wrong(where, key, "a number or null", value)
    assert isinstance(value, int | float)
    return float(value)


def read_bool(data: Mapping[str, object], key: str, where: str) -> bool:
    value = _get(data, key, where, optional=False)
    if not isinstance(value, bool):
        raise _wrong(where, key, "true or false", value)
    return value


def read_str_list(data: Mapping[str, object], key: str, where: str) -> list[str]:
    return read_list(data, key, where, str, "strings")


def read_list(data: Mapping[str, object], key: str, where: str, item_type: type[_T], kind: str) -> list[_T]:
    """A JSON array whose items are all ``item_type`` (``kind`` describes it in the error)."""
    value = _get(data, key, where, optional=False)
    if not isinstance(value, list) or not all(
        isinstance(item, item_type) and not (item_type is int and isinstance(item, bool)) for item in value
    ):
        raise _wrong(where, key, f"a list of {kind}", value)
    return list(value)


def read_object(data: Mapping[str, object], key: str, where: str) -> Mapping[str, object]:
    value = _get(data, key, where, optional=False)
    if not isinstance(value, Mapping) or not all(isinstance(name, str) for name in value):
        raise _wrong(where, key, "a JSON object", value)
    return value


def read_optional_object(data: Mapping[str, object], key: str, where: str) -> Mapping[str, object] | None:
    """A JSON object, or ``None`` when the field is missing or null."""
    value = _get(data, key, where, optional=True)
    if value is None:
        return None
    return read_object(data, key, where)


def read_str_map(data: Mapping[str, object], key: str, where: str) -> dict[str, str]:
    """A JSON object of strings to strings; a missing field is an empty mapping."""
    value = _get(data, key, where, optional=True)
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise _wrong(where, key, "an object of strings to strings", value)
    return dict(value)


def read_counts(data: Mapping[str, object], key: str, where: str) -> dict[str, int]:
    """A JSON object of names to whole numbers (e.g. rejects by reason)."""
    counts = read_object(data, key, where)
    return {name: read_int(counts, name, f"{where}: {key}") for name in counts}


def read_json_object(data: Mapping[str, object], key: str, where: str) -> JsonObject:
    """A nested object kept as JSON (e.g. a report's free-form ``context``); checked to be JSON."""
    value = read_object(data, key, where)
    return {name: _json_value(item, where, f"{key}.{name}") for name, item in value.items()}


def _json_value(value: object, where: str, path: str) -> JsonValue:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list):
        return [_json_value(item, where, f"{path}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, Mapping) and all(isinstance(name, str) for name in value):
        return {name: _json_value(item, where, f"{path}.{name}") for name, item in value.items()}
    raise _wrong(where, path, "a JSON value", value)
