"""The JSON shapes typed records convert to and from (XCom payloads and stored JSON files).

Every record that crosses a task boundary or is stored as JSON is a frozen dataclass with one pair
``to_json(self) -> JsonObject`` / ``from_json(cls, data: Mapping[str, object]) -> Self``; the JSON form is
what Airflow stores as XCom and what lands in ``metrics.json``, ``summary.json`` and the champion record.
"""

from __future__ import annotations

from typing import TypeAlias

__all__ = ["JsonObject", "JsonValue"]

JsonValue: TypeAlias = "str | int | float | bool | None | list[JsonValue] | dict[str, JsonValue]"
JsonObject: TypeAlias = "dict[str, JsonValue]"
