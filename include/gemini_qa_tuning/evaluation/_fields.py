"""Typed reads of one key of a JSON object, for the ``from_json`` of the evaluation's records.

Each getter names the record (``where``) and the key when a value is missing or of the wrong type, so
a renamed or corrupted key in a stored file or XCom payload fails on reading with a message that says
which one, not later with a ``KeyError`` deep inside a report.
"""

from __future__ import annotations

from collections.abc import Mapping

from gemini_qa_tuning.json_types import JsonObject, JsonValue

_MISSING = object()


def _value(data: Mapping[str, object], key: str, where: str) -> object:
    value = data.get(key, _MISSING)
    if value is _MISSING:
        raise ValueError(f"{where}: the key {key!r} is missing (keys present: {sorted(data)})")
    return value


def _wrong(where: str, key: str, expected: str, value: object) -> ValueError:
    return ValueError(f"{where}: {key!r} must be {expected}, not {type(value).__name__} {value!r}")


def get_str(data: Mapping[str, object], key: str, where: str) -> str:
    value = _value(data, key, where)
    if not isinstance(value, str):
        raise _wrong(where, key, "a string", value)
    return value


def get_optional_str(data: Mapping[str, object], key: str, where: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise _wrong(where, key, "a string or null", value)
    return value


def get_int(data: Mapping[str, object], key: str, where: str) -> int:
    value = _value(data, key, where)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong(where, key, "an integer", value)
    return value


def get_optional_int(data: Mapping[str, object], key: str, where: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong(where, key, "an integer or null", value)
    return value


def get_float(data: Mapping[str, object], key: str, where: str) -> float:
    value = _value(data, key, where)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _wrong(where, key, "a number", value)
    return float(value)


def get_optional_float(data: Mapping[str, object], key: str, where: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _wrong(where, key, "a number or null", value)
    return float(value)


def get_bool(data: Mapping[str, object], key: str, where: str) -> bool:
    value = _value(data, key, where)
    if not isinstance(value, bool):
        raise _wrong(where, key, "true or false", value)
    return value


def get_str_list(data: Mapping[str, object], key: str, where: str) -> list[str]:
    value = _value(data, key, where)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _wrong(where, key, "a list of strings", value)
    return list(value)


def get_object(data: Mapping[str, object], key: str, where: str) -> Mapping[str, object]:
    value = _value(data, key, where)
    if not isinstance(value, Mapping) or not all(isinstance(name, str) for name in value):
        raise _wrong(where, key, "a JSON object", value)
    return value


def get_json_object(data: Mapping[str, object], key: str, where: str) -> JsonObject:
    """A nested object kept as JSON (e.g. a report's free-form ``context``); checked to be JSON."""
    value = get_object(data, key, where)
    return {name: _json_value(item, where, f"{key}.{name}") for name, item in value.items()}


def _json_value(value: object, where: str, path: str) -> JsonValue:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list):
        return [_json_value(item, where, f"{path}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, Mapping) and all(isinstance(name, str) for name in value):
        return {name: _json_value(item, where, f"{path}.{name}") for name, item in value.items()}
    raise _wrong(where, path, "a JSON value", value)
