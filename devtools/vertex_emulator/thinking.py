"""Thinking tokens: how many a generateContent request spends, and which thinking configs are refused.

Gemini 2.5+ models think by default and the thoughts draw on ``maxOutputTokens`` before the answer does
(thinking page in models.json's sources; dev.to/multigrid and gist unhaya 2026-05-13 for the shared
allowance). The emulator's token model is fixed per request, so tests can compute it:

* a thinking level costs ``LEVEL_TOKENS[level]`` (MINIMAL 16, LOW 128, MEDIUM 512, HIGH 2048);
* dynamic thinking (a Gemini 2.5 default, or ``thinkingBudget: -1``) costs ``DYNAMIC_TOKENS`` (1024);
* an explicit ``thinkingBudget`` B > 0 costs ``min(B, DYNAMIC_TOKENS)``; 0 costs nothing where allowed.
"""

from __future__ import annotations

from typing import Any

from devtools.vertex_emulator.errors import invalid_argument
from devtools.vertex_emulator.models import ModelFacts

LEVEL_TOKENS = {"MINIMAL": 16, "LOW": 128, "MEDIUM": 512, "HIGH": 2048}
DYNAMIC_TOKENS = 1024
DYNAMIC_BUDGET = -1
_CAMEL_NAMES = {
    "thinking_level": "thinkingLevel",
    "thinking_budget": "thinkingBudget",
    "include_thoughts": "includeThoughts",
}


def _thinking_config(body: dict[str, Any]) -> dict[str, Any]:
    generation_config = body.get("generationConfig") or {}
    config = generation_config.get("thinkingConfig") if isinstance(generation_config, dict) else None
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise invalid_argument("generationConfig.thinkingConfig must be an object.")
    # Proto JSON accepts a field's snake_case name as well as its lowerCamelCase one.
    return {_CAMEL_NAMES.get(str(key), str(key)): value for key, value in config.items()}


def _budget_tokens(budget: Any, facts: ModelFacts) -> int:
    thinking = facts.thinking
    assert thinking is not None
    if isinstance(budget, bool) or not isinstance(budget, int):
        raise invalid_argument(f"generationConfig.thinkingConfig.thinkingBudget must be an integer, got {budget!r}.")
    if budget == 0:
        if not thinking.can_disable:
            # The wording users report for Gemini 2.5 Pro (vercel/ai #8027); Gemini 3 cannot turn it off either.
            raise invalid_argument(
                f"Budget 0 is invalid. This model only works in thinking mode ({facts.model_id} cannot turn "
                f"thinking off; use its lowest setting, e.g. thinkingLevel {_lowest(facts)!r})."
            )
        return 0
    if budget == DYNAMIC_BUDGET:
        return DYNAMIC_TOKENS
    low = thinking.budget_min or 1
    if not low <= budget <= thinking.budget_max:
        raise invalid_argument(
            f"thinkingBudget {budget} is out of range for {facts.model_id}: use {low}..{thinking.budget_max}, "
            f"-1 (dynamic){' or 0 (off)' if thinking.can_disable else ''}."
        )
    return min(budget, DYNAMIC_TOKENS)


def _lowest(facts: ModelFacts) -> str | int:
    assert facts.thinking is not None
    return facts.thinking.levels[0] if facts.thinking.levels else (facts.thinking.budget_min or 1)


def thinking_tokens(body: dict[str, Any], facts: ModelFacts, model_thinking: bool) -> int:
    """The thinking tokens this request spends on ``facts``' model; raises 400 for a config it refuses.

    ``model_thinking=False`` (a config key) still checks the config but spends nothing.
    """
    config = _thinking_config(body)
    level, budget = config.get("thinkingLevel"), config.get("thinkingBudget")
    if level == "THINKING_LEVEL_UNSPECIFIED":
        level = None
    thinking = facts.thinking
    if thinking is None:
        if level is not None or budget not in (None, 0):
            raise invalid_argument(f"Thinking is not supported by {facts.model_id}; remove thinkingConfig.")
        return 0
    if level is not None and budget is not None:
        raise invalid_argument("thinkingConfig may set thinkingLevel or thinkingBudget, not both.")
    if level is not None:
        if level not in thinking.levels:
            if not thinking.levels:
                raise invalid_argument(
                    f"thinking_level is not supported by {facts.model_id}; use thinkingBudget instead."
                )
            raise invalid_argument(
                f"thinkingLevel {level!r} is not supported by {facts.model_id}; use one of {list(thinking.levels)}."
            )
        spent = LEVEL_TOKENS[level]
    elif budget is not None:
        spent = _budget_tokens(budget, facts)
    elif thinking.default_level is not None:
        spent = LEVEL_TOKENS[thinking.default_level]
    else:
        spent = DYNAMIC_TOKENS if thinking.default_budget == "dynamic" else 0
    return spent if model_thinking else 0
