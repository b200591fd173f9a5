"""What a launch did: the tuning job it created or reused, and its estimated and billed cost.

How the launch looks for a job an unanswered create may have made is :mod:`gemini_qa_tuning.create_lookup`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Self

from gemini_qa_tuning.json_types import (
    JsonObject,
    read_float,
    read_int,
    read_object,
    read_optional_str,
    read_str,
)
from gemini_qa_tuning.tuning.request import TuningRequest

__all__ = ["TuningJobLaunch"]


@dataclass(frozen=True)
class TuningJobLaunch:
    """The job a launch created or reused, and what it is estimated (and, once known, billed) to cost.

    ``job_name`` is ``None`` after a dry run, which validated ``request`` and sent nothing.
    """

    dry_run: bool
    base_model: str
    dataset_fingerprint: str
    config_hash: str
    labels: Mapping[str, str]
    epochs: int
    training_examples: int
    estimated_billable_tokens: int
    estimated_cost_usd: float | None
    request: TuningRequest
    job_name: str | None = None
    state: str | None = None
    reused: bool = False
    console_url: str | None = None
    billable_tokens: int | None = None
    actual_cost_usd: float | None = None

    def to_json(self) -> JsonObject:
        return {
            "job_name": self.job_name,
            "state": self.state,
            "reused": self.reused,
            "dry_run": self.dry_run,
            "console_url": self.console_url,
            "base_model": self.base_model,
            "dataset_fingerprint": self.dataset_fingerprint,
            "config_hash": self.config_hash,
            "labels": dict(self.labels),
            "epochs": self.epochs,
            "training_examples": self.training_examples,
            "estimated_billable_tokens": self.estimated_billable_tokens,
            "estimated_cost_usd": self.estimated_cost_usd,
            "billable_tokens": self.billable_tokens,
            "actual_cost_usd": self.actual_cost_usd,
            "request": self.request.to_json(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        where = "tuning job launch"

        def optional_number(key: str) -> float | None:
            return None if data.get(key) is None else read_float(data, key, where)

        labels = read_object(data, "labels", where)
        return cls(
            job_name=read_optional_str(data, "job_name", where),
            state=read_optional_str(data, "state", where),
            reused=data.get("reused") is True,
            dry_run=data.get("dry_run") is True,
            console_url=read_optional_str(data, "console_url", where),
            base_model=read_str(data, "base_model", where),
            dataset_fingerprint=read_str(data, "dataset_fingerprint", where),
            config_hash=read_str(data, "config_hash", where),
            labels={str(key): str(value) for key, value in labels.items()},
            epochs=read_int(data, "epochs", where),
            training_examples=read_int(data, "training_examples", where),
            estimated_billable_tokens=read_int(data, "estimated_billable_tokens", where),
            estimated_cost_usd=optional_number("estimated_cost_usd"),
            billable_tokens=None if data.get("billable_tokens") is None else read_int(data, "billable_tokens", where),
            actual_cost_usd=optional_number("actual_cost_usd"),
            request=TuningRequest.from_json(read_object(data, "request", where)),
        )
