"""What a tuning job costs: one formula, one price rule.

Vertex AI bills supervised tuning by the tokens in the training dataset times the number of epochs, at
the base model's price per million tokens. The export's estimate, the plan's budget check, the launch's
estimate and the sensor's actual cost all use :func:`estimate_training_cost`, so they compare.
"""

from __future__ import annotations

import math

from gemini_qa_tuning.tuning.catalog import ModelCatalog, default_catalog

__all__ = ["estimate_training_cost", "resolve_price", "tuning_cost_usd"]


def estimate_training_cost(training_tokens: int, epochs: int, price_per_million_tokens: float) -> float:
    """Estimated tuning cost: training tokens × epochs × price per million tokens (in the price's currency)."""
    if training_tokens < 0:
        raise ValueError(f"training_tokens must be >= 0, not {training_tokens}")
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, not {epochs}")
    if not math.isfinite(price_per_million_tokens) or price_per_million_tokens < 0:
        raise ValueError(f"price_per_million_tokens must be a finite number >= 0, not {price_per_million_tokens}")
    return training_tokens * epochs * price_per_million_tokens / 1_000_000


def tuning_cost_usd(tokens: int | None, epochs: int | None, price_per_million: float | None) -> float | None:
    """:func:`estimate_training_cost` rounded to 1/10000 USD; ``None`` when any input is unknown."""
    if tokens is None or epochs is None or price_per_million is None:
        return None
    return round(estimate_training_cost(tokens, epochs, price_per_million), 4)


def resolve_price(explicit: float | None, base_model: str | None, catalog: ModelCatalog | None = None) -> float | None:
    """USD per million training tokens: ``explicit`` when given, else the base model's list price.

    ``None`` when neither is known. ``catalog`` defaults to the packaged one. Raises ``ValueError`` for
    an explicit price that is negative or not a finite number.
    """
    if explicit is not None:
        if isinstance(explicit, bool) or not isinstance(explicit, int | float) or not math.isfinite(explicit):
            raise ValueError(f"The price per million training tokens must be a finite number (USD), got {explicit!r}.")
        if explicit < 0:
            raise ValueError(f"The price per million training tokens must be >= 0 (USD), got {explicit!r}.")
        return float(explicit)
    if not base_model:
        return None
    return (catalog or default_catalog()).price_per_million(base_model)
