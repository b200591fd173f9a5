"""The JSON shapes typed records convert to and from (XCom payloads and stored JSON files).

Every record that crosses a task boundary or is stored as JSON is a frozen dataclass with one pair
``to_json(self) -> JsonObject`` / ``from_json(cls, data: Mapping[str, object]) -> Self``; the JSON form is
what Airflow stores as XCom and what lands in ``metrics.json``, ``summary.json`` and the champion record.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias

__all__ = [
    "JsonObject",
    "JsonValue",
    "json_counts",
    "json_float",
    "json_int",
    "json_object",
    "json_optional_str",
    "json_str",
]

JsonValue: TypeAlias = "str | int | float | bool | list[JsonValue] | dict[str, JsonValue] | None"
JsonObject: TypeAlias = "dict[str, JsonValue]"


def json_int(data: Mapping[str, object], key: str) -> int:
    """``data[key]`` as an integer (JSON int64 values may arrive as strings); a clear error otherwise."""
    value = data.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise ValueError(f"{key!r} must be a whole number, not {value!r}")


def json_float(data: Mapping[str, object], key: str) -> float:
    """``data[key]`` as a float; a clear error names the key when it is missing or not a number."""
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key!r} must be a number, not {value!r}")
    return float(value)


def json_str(data: Mapping[str, object], key: str) -> str:
    """``data[key]`` as a string; a clear error names the key when it is missing or not text."""
    value = data.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{key!r} must be a string, not {value!r}")
    return value


def json_optional_str(data: Mapping[str, object], key: str) -> str | None:
    """``data[key]`` as a string, or ``None`` when it is missing or null."""
    value = data.get(key)
    return None if value is None else json_str(data, key)


def json_object(data: Mapping[str, object], key: str) -> Mapping[str, object]:
    """``data[key]`` as a JSON object; a clear error names the key otherwise."""
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise ValueError(f"{key!r} must be a JSON object, not {value!r}")
    return value


def json_counts(data: Mapping[str, object], key: str) -> dict[str, int]:
    """``data[key]`` as a mapping of names to whole numbers (e.g. rejects by reason)."""
    counts = json_object(data, key)
    return {str(name): json_int(counts, name) for name in counts}
