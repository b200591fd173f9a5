"""How much a model may think while it answers a test question, and how many output tokens that needs.

Gemini 2.5+ models think by default, and thinking tokens come out of ``maxOutputTokens`` before the
answer does: with a 64-token cap and no thinking configuration an answer can come back empty with
``finishReason: MAX_TOKENS``. So the evaluation chooses the thinking per model from the model catalog
(:class:`~gemini_qa_tuning.tuning.catalog.ThinkingBehaviour`; for a tuned endpoint, the facts of its base
model), unless a setting overrides it:

* ``auto`` (the default): thinking **off** (``thinking_budget=0``) where the model can turn it off; else
  its **minimum**: the lowest ``thinking_level`` of a level-based (Gemini 3) model, e.g. ``MINIMAL``, or
  the smallest budget of a budget-based one (``min_budget``, e.g. 128 on Gemini 2.5 Pro); nothing for a
  model that does not think. A model the catalog does not know gets no thinking configuration.
* a level (``MINIMAL``, ``LOW``, ``MEDIUM``, ``HIGH``, any case): that ``thinking_level``;
* a whole number of tokens: that ``thinking_budget`` (``0`` = off).

**The output-cap rule**: ``maxOutputTokens`` = the answer cap + the thinking tokens reserved for the
choice: ``0`` when off, the budget for a budget, the catalog's ``expected_level_tokens`` for a level
(:data:`FALLBACK_LEVEL_TOKENS` when the catalog gives no number for that level).
The answer keeps its whole cap whatever the model thinks; the reserve costs nothing unless spent.
No Airflow import here.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from gemini_qa_tuning.json_types import JsonObject
from gemini_qa_tuning.tuning.catalog import THINKING_LEVELS, ModelCatalog, ThinkingBehaviour, default_catalog

__all__ = [
    "AUTO",
    "FALLBACK_LEVEL_TOKENS",
    "ThinkingChoice",
    "ThinkingSettingError",
    "choose_thinking",
    "thinking_for_model",
]

#: The override value that leaves the choice to the catalog.
AUTO = "auto"
#: Thinking tokens reserved for a level when the catalog entry has no ``expected_level_tokens`` for it:
#: generous bounds (unused reserve costs nothing), the top one the Gemini 2.5 Flash budget maximum.
FALLBACK_LEVEL_TOKENS = MappingProxyType({"MINIMAL": 512, "LOW": 2048, "MEDIUM": 8192, "HIGH": 24576})


class ThinkingSettingError(ValueError):
    """A thinking override the model cannot take (or that cannot be read); the message says what to use."""


@dataclass(frozen=True)
class ThinkingChoice:
    """What the evaluation sends as ``thinkingConfig`` and how many output tokens it reserves for thoughts.

    At most one of ``level`` and ``budget`` is set; neither means "send no thinking configuration".
    ``reason`` says in a few words why (for the logs and the run's record).
    """

    level: str | None
    budget: int | None
    reserved_tokens: int
    reason: str

    def __post_init__(self) -> None:
        if self.level is not None and self.budget is not None:
            raise ValueError("A thinking choice sets a level or a budget, not both (Vertex answers 400 to both).")
        if self.reserved_tokens < 0:
            raise ValueError(f"reserved_tokens must be >= 0, got {self.reserved_tokens}")

    def output_cap(self, answer_tokens: int) -> int:
        """``maxOutputTokens`` for an answer of up to ``answer_tokens``: the answer cap plus the reserve."""
        return answer_tokens + self.reserved_tokens

    def describe(self) -> str:
        if self.level is not None:
            setting = f"thinking_level {self.level}"
        elif self.budget is not None:
            setting = "thinking off (budget 0)" if self.budget == 0 else f"thinking_budget {self.budget}"
        else:
            setting = "no thinking configuration"
        return f"{setting}, {self.reserved_tokens} tokens reserved for thoughts ({self.reason})"

    def to_json(self) -> JsonObject:
        return {
            "level": self.level,
            "budget": self.budget,
            "reserved_tokens": self.reserved_tokens,
            "reason": self.reason,
        }


def _parse_override(override: str | int | None) -> str | int:
    """``auto``, a level name (upper case) or a budget (int >= 0) from a setting's value."""
    if override is None:
        return AUTO
    if isinstance(override, bool):
        raise ThinkingSettingError(f"The thinking setting must be 'auto', a level or a budget, not {override!r}.")
    if isinstance(override, int):
        value: str | int = override
    else:
        text = override.strip()
        if not text or text.lower() == AUTO:
            return AUTO
        value = int(text) if text.lstrip("-").isdigit() else text.upper()
    if isinstance(value, int):
        if value < 0:
            raise ThinkingSettingError(
                f"Thinking budget {value} is not allowed: use 0 (off) or a positive number of tokens; a dynamic "
                "budget (-1) would leave the output cap unbounded."
            )
        return value
    if value not in THINKING_LEVELS:
        raise ThinkingSettingError(
            f"Unknown thinking setting {override!r}: use 'auto', one of {list(THINKING_LEVELS)} or a budget in tokens."
        )
    return value


def _level_tokens(thinking: ThinkingBehaviour, level: str) -> int:
    return thinking.expected_level_tokens.get(level, FALLBACK_LEVEL_TOKENS[level])


def _automatic(model: str, thinking: ThinkingBehaviour) -> ThinkingChoice:
    if thinking.can_disable:
        return ThinkingChoice(level=None, budget=0, reserved_tokens=0, reason=f"auto: {model} can turn thinking off")
    lowest = thinking.lowest_level
    if lowest is not None:
        return ThinkingChoice(
            level=lowest,
            budget=None,
            reserved_tokens=_level_tokens(thinking, lowest),
            reason=f"auto: {model} cannot turn thinking off; {lowest} is its lowest level",
        )
    budget = max(thinking.min_budget or 1, 1)
    return ThinkingChoice(
        level=None,
        budget=budget,
        reserved_tokens=budget,
        reason=f"auto: {model} cannot turn thinking off; {budget} is its smallest budget",
    )


def choose_thinking(
    model: str, thinking: ThinkingBehaviour | None, override: str | int | None = None
) -> ThinkingChoice:
    """The thinking of an evaluation of ``model`` whose catalog facts are ``thinking``.

    ``thinking`` is ``None`` for a model that does not think; ``override`` is ``None``/``"auto"``, a level
    or a budget (module docstring). Raises :class:`ThinkingSettingError` for an override the model
    refuses (a level on a budget model, off on a model that cannot turn thinking off, a budget out of range).
    """
    wanted = _parse_override(override)
    if thinking is None:
        if wanted == AUTO or wanted == 0:
            return ThinkingChoice(level=None, budget=None, reserved_tokens=0, reason=f"{model} does not think")
        raise ThinkingSettingError(f"{model} does not think; set the thinking to 'auto' (no thinking configuration).")
    if wanted == AUTO:
        return _automatic(model, thinking)
    if isinstance(wanted, str):
        if wanted not in thinking.levels:
            choices = f"one of {list(thinking.levels)}" if thinking.levels else "a budget in tokens (no level)"
            raise ThinkingSettingError(f"{model} does not accept thinking_level {wanted}; use {choices} or 'auto'.")
        return ThinkingChoice(
            level=wanted, budget=None, reserved_tokens=_level_tokens(thinking, wanted), reason="set explicitly"
        )
    if wanted == 0:
        if not thinking.can_disable:
            lowest = thinking.lowest_level or thinking.min_budget
            raise ThinkingSettingError(
                f"{model} cannot turn thinking off (Vertex answers 400 to a zero budget); use its minimum {lowest!r} "
                "or 'auto'."
            )
        return ThinkingChoice(level=None, budget=0, reserved_tokens=0, reason="set explicitly")
    low, high = thinking.min_budget or 1, thinking.max_budget
    if wanted < low or (high is not None and wanted > high):
        raise ThinkingSettingError(
            f"Thinking budget {wanted} is out of range for {model}: use {low}..{high if high is not None else '…'}"
            f"{', 0 (off)' if thinking.can_disable else ''} or 'auto'."
        )
    return ThinkingChoice(level=None, budget=wanted, reserved_tokens=wanted, reason="set explicitly")


def thinking_for_model(
    facts_model: str, override: str | int | None = None, catalog: ModelCatalog | None = None
) -> ThinkingChoice:
    """:func:`choose_thinking` with the facts of ``facts_model`` in ``catalog`` (default: the packaged one).

    ``facts_model`` is the publisher model whose facts apply: the model itself, or for a tuned endpoint
    its base model. A model the catalog does not know gets no thinking configuration under ``auto``
    (and an explicit budget as given, with that budget reserved; a level needs the catalog's facts).
    """
    entry = (catalog or default_catalog()).model(facts_model)
    if entry is not None:
        return choose_thinking(facts_model, entry.thinking, override)
    wanted = _parse_override(override)
    if wanted == AUTO:
        return ThinkingChoice(
            level=None,
            budget=None,
            reserved_tokens=0,
            reason=f"{facts_model} is not in the model catalog: the model's own default",
        )
    if isinstance(wanted, str):
        raise ThinkingSettingError(
            f"{facts_model} is not in the model catalog, so how many tokens thinking_level {wanted} needs is unknown; "
            "set a budget in tokens instead, or add the model to the catalog."
        )
    return ThinkingChoice(level=None, budget=wanted, reserved_tokens=wanted, reason="set explicitly")
