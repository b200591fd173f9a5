"""The emulator's own table of Gemini models (``models.json``): what it tunes, serves and how they think.

The emulator never imports the library: this is its own copy of the facts, each with its source in the
JSON file. Retirement follows Vertex AI's lifecycle rule: one month before a model's retirement date new
access is blocked (the emulator refuses new tuning jobs from then on); from the retirement date the model
id answers 404 everywhere, and so do the tuned models built on it (they share the base model's date).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

MODELS_FILE = Path(__file__).with_name("models.json")
PUBLISHER_PREFIX = "publishers/google/models/"
THINKING_LEVELS = ("MINIMAL", "LOW", "MEDIUM", "HIGH")


@dataclass(frozen=True)
class Thinking:
    """How a model thinks: its default (a level, or a budget mode), what can be asked, the budget range."""

    default_level: str | None  # Gemini 3: the level used when the request sets none
    default_budget: str | None  # Gemini 2.5 without a level: "dynamic" (thinks) or "off"
    levels: tuple[str, ...]  # thinkingLevel values accepted; empty: thinkingLevel is refused
    can_disable: bool  # whether thinkingBudget 0 turns thinking off (else 400)
    budget_min: int | None
    budget_max: int

    @property
    def thinks_by_default(self) -> bool:
        return self.default_level is not None or self.default_budget == "dynamic"


@dataclass(frozen=True)
class ModelFacts:
    """One row of the table."""

    model_id: str
    tunable: bool
    retires: date | None
    adapter_sizes: tuple[int, ...]
    max_tokens_per_example: int
    thinking: Thinking | None  # None: the model does not think at all (Gemini 2.0)

    def blocked_from(self) -> date | None:
        """The first day new tuning jobs are refused: one calendar month before retirement."""
        if self.retires is None:
            return None
        year, month = (
            (self.retires.year, self.retires.month - 1)
            if self.retires.month > 1
            else (
                self.retires.year - 1,
                12,
            )
        )
        return date(year, month, min(self.retires.day, 28))

    def retired(self, today: date) -> bool:
        return self.retires is not None and today >= self.retires

    def new_access_blocked(self, today: date) -> bool:
        blocked = self.blocked_from()
        return blocked is not None and today >= blocked


@dataclass(frozen=True)
class ModelTable:
    """Every model the emulator knows, and the dataset limits common to tuning."""

    models: dict[str, ModelFacts]
    validation_examples_max: int
    training_examples_min: int

    def get(self, model: str) -> ModelFacts | None:
        """The facts of ``model`` (a bare id or ``publishers/google/models/{id}``), or None if unknown."""
        return self.models.get(model.removeprefix(PUBLISHER_PREFIX))

    def servable(self, model: str, today: date) -> ModelFacts | None:
        """The facts of a model that answers today; None when unknown or retired (Vertex answers 404)."""
        facts = self.get(model)
        return None if facts is None or facts.retired(today) else facts

    def tunable_now(self, today: date) -> list[str]:
        """The model ids a new tuning job may use on ``today``."""
        return sorted(
            model_id for model_id, facts in self.models.items() if facts.tunable and not facts.new_access_blocked(today)
        )


def _thinking(raw: dict[str, Any] | None) -> Thinking | None:
    if raw is None:
        return None
    return Thinking(
        default_level=raw.get("default_level"),
        default_budget=raw.get("default_budget"),
        levels=tuple(raw.get("levels") or ()),
        can_disable=bool(raw["can_disable"]),
        budget_min=raw.get("budget_min"),
        budget_max=int(raw["budget_max"]),
    )


def parse_model_table(document: dict[str, Any]) -> ModelTable:
    """A ``ModelTable`` from the JSON document of ``models.json``."""
    models = {
        model_id: ModelFacts(
            model_id=model_id,
            tunable=bool(raw["tunable"]),
            retires=date.fromisoformat(raw["retires"]) if raw.get("retires") else None,
            adapter_sizes=tuple(int(size) for size in raw["adapter_sizes"]),
            max_tokens_per_example=int(raw["max_tokens_per_example"]),
            thinking=_thinking(raw.get("thinking")),
        )
        for model_id, raw in document["models"].items()
    }
    limits = document["tuning_limits"]
    return ModelTable(
        models=models,
        validation_examples_max=int(limits["validation_examples_max"]),
        training_examples_min=int(limits["training_examples_min"]),
    )


@cache
def model_table() -> ModelTable:
    """The table shipped with the emulator (read once)."""
    return parse_model_table(json.loads(MODELS_FILE.read_text(encoding="utf-8")))
