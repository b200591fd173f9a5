"""What evaluating costs, online and in batch: tokens × list price; batch at half the online price.

Batch discount: "Batch requests for Gemini models are discounted 50% from standard requests"
(https://cloud.google.com/vertex-ai/generative-ai/docs/multimodal/batch-prediction-gemini, read 2026-12-01).

Online list prices (USD per million tokens) are those on Google's pricing page
https://cloud.google.com/vertex-ai/generative-ai/pricing ; that page was NOT retrievable offline on
2026-12-01 (see /work/notes/vertex-facts.md §3), so :data:`INFERENCE_LIST_PRICES` holds the best figures
found, each with its (third-party) source: treat them as approximate. The model catalog
(``tuning/models.json``) holds training prices only. Thinking tokens are billed as output tokens.
A model without a price gives ``None`` costs (tokens are still counted).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Self

from gemini_qa_tuning.json_types import JsonObject, read_int, read_optional_float, read_str

__all__ = [
    "BATCH_DISCOUNT",
    "INFERENCE_LIST_PRICES",
    "EvaluationCost",
    "InferencePrice",
    "estimate_evaluation_cost",
    "inference_price",
]

#: Batch price = online price × (1 - BATCH_DISCOUNT).
BATCH_DISCOUNT = 0.5


@dataclass(frozen=True)
class InferencePrice:
    """Online list price of one model, USD per million tokens, and where it comes from."""

    input_per_million: float
    output_per_million: float
    source: str


INFERENCE_LIST_PRICES: Mapping[str, InferencePrice] = {
    "gemini-3.5-flash-lite": InferencePrice(
        0.30, 2.50, "vercel.com/ai-gateway/models/gemini-3.5-flash-lite (providers google, vertex; third-party)"
    ),
    "gemini-3.5-flash": InferencePrice(1.50, 9.00, "apidog.com/blog/gemini-3-5-flash-pricing (May 2026; third-party)"),
    "gemini-3.1-flash-lite": InferencePrice(
        0.25, 1.50, "vercel.com/ai-gateway/models/gemini-3.1-flash-lite (third-party)"
    ),
}


def inference_price(model: str) -> InferencePrice | None:
    """The online list price of a publisher model (a tuned model is billed at its base model's price)."""
    return INFERENCE_LIST_PRICES.get(model.rsplit("/", 1)[-1])


@dataclass(frozen=True)
class EvaluationCost:
    """The tokens of an evaluation and what they cost online and in batch (``None``: no list price)."""

    mode: str  # the mode the run evaluates in: online or batch
    models: int
    questions: int
    input_tokens: int
    output_tokens: int
    online_usd: float | None
    batch_usd: float | None

    @property
    def paid_usd(self) -> float | None:
        """What the run's mode pays."""
        return self.batch_usd if self.mode == "batch" else self.online_usd

    def describe(self) -> str:
        if self.online_usd is None or self.batch_usd is None:
            tokens = f"{self.input_tokens} input + {self.output_tokens} output tokens"
            return f"evaluation cost unknown (no list price); {tokens}"
        return (
            f"evaluation ({self.mode}) of {self.models} model(s) × {self.questions} questions: online "
            f"${self.online_usd:.4f}, batch ${self.batch_usd:.4f} (half price)"
        )

    def to_json(self) -> JsonObject:
        return {
            "mode": self.mode,
            "models": self.models,
            "questions": self.questions,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "online_usd": self.online_usd,
            "batch_usd": self.batch_usd,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        where = "evaluation cost"
        return cls(
            mode=read_str(data, "mode", where),
            models=read_int(data, "models", where),
            questions=read_int(data, "questions", where),
            input_tokens=read_int(data, "input_tokens", where),
            output_tokens=read_int(data, "output_tokens", where),
            online_usd=read_optional_float(data, "online_usd", where),
            batch_usd=read_optional_float(data, "batch_usd", where),
        )


def estimate_evaluation_cost(
    *,
    mode: str,
    models: int,
    questions: int,
    input_tokens_per_model: int,
    output_tokens_per_answer: int,
    price: InferencePrice | None,
) -> EvaluationCost:
    """The cost of asking ``models`` models ``questions`` questions: ``input_tokens_per_model`` prompt tokens
    each, at most ``output_tokens_per_answer`` (the ``maxOutputTokens`` cap, thoughts included) per answer."""
    input_tokens = models * input_tokens_per_model
    output_tokens = models * questions * output_tokens_per_answer
    online = None
    if price is not None:
        online = round(
            (input_tokens * price.input_per_million + output_tokens * price.output_per_million) / 1_000_000, 6
        )
    return EvaluationCost(
        mode=mode,
        models=models,
        questions=questions,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        online_usd=online,
        batch_usd=round(online * (1 - BATCH_DISCOUNT), 6) if online is not None else None,
    )
