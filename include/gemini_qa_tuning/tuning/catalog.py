"""The tunable Gemini models as data: prices, adapter sizes, limits, thinking and retirement.

Google changes these facts every few months, so they live in ``models.json`` next to this module (each
fact with the page it comes from and the date it was read), not in code. Adding or changing a model is
an edit of that file, or of a copy passed to :func:`load_catalog` (no release needed).

The module-level constants (:data:`DEFAULT_BASE_MODEL`, :data:`TUNABLE_BASE_MODELS`,
:data:`RETIRED_BASE_MODEL_PREFIXES`) are read from the packaged file once, for code that needs a
value at import time (e.g. the DAG's Param defaults).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Self

from gemini_qa_tuning.json_types import (
    JsonObject,
    JsonValue,
    RecordFieldError,
    read_bool,
    read_int,
    read_list,
    read_optional_float,
    read_optional_int,
    read_optional_object,
    read_optional_str,
    read_str,
)

__all__ = [
    "ADAPTER_SIZES",
    "DEFAULT_BASE_MODEL",
    "RETIRED_BASE_MODEL_PREFIXES",
    "THINKING_LEVELS",
    "TUNABLE_BASE_MODELS",
    "CatalogError",
    "FactSource",
    "ModelCatalog",
    "ThinkingBehaviour",
    "TunableModel",
    "default_catalog",
    "load_catalog",
    "model_id",
    "price_per_million_tokens",
]

#: LoRA adapter sizes the API accepts (``google.genai.types.AdapterSize``), the API's vocabulary. Which
#: of them a model supports is a catalog fact (:attr:`TunableModel.adapter_sizes`).
ADAPTER_SIZES: Mapping[int, str] = MappingProxyType(
    {
        1: "ADAPTER_SIZE_ONE",
        2: "ADAPTER_SIZE_TWO",
        4: "ADAPTER_SIZE_FOUR",
        8: "ADAPTER_SIZE_EIGHT",
        16: "ADAPTER_SIZE_SIXTEEN",
        32: "ADAPTER_SIZE_THIRTY_TWO",
    }
)

CATALOG_SCHEMA_VERSION = 1
#: What may follow a catalog name in a versioned model id (``-001``, ``-preview-06-17``): not ``-lite``,
#: so ``gemini-3.5-flash-lite`` is never taken for a version of ``gemini-3.5-flash``.
_VERSION_SUFFIX = re.compile(r"-(?:[0-9]+|preview|exp|latest)(?:-[0-9a-z-]*)?")
PUBLISHER_PREFIX = "publishers/google/models/"
PACKAGED_CATALOG = "models.json"


class CatalogError(ValueError):
    """A model catalog file cannot be read or holds an invalid entry; the message names file and field."""


def model_id(base_model: str) -> str:
    """``base_model`` without surrounding space and the ``publishers/google/models/`` prefix."""
    return base_model.strip().removeprefix(PUBLISHER_PREFIX)


def _parse_date(text: str | None, key: str, where: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise RecordFieldError(f"{where}: field {key!r} must be an ISO date (YYYY-MM-DD), got {text!r}.") from None


def months_before(day: date, months: int) -> date:
    """The same day of the month ``months`` calendar months earlier (clamped to the month's last day)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    next_month = date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - date.resolution).day
    return date(year, month, min(day.day, last_day))


def _refuse_unknown_fields(data: Mapping[str, object], known: frozenset[str], where: str) -> None:
    unknown = sorted(set(data) - known)
    if unknown:
        raise RecordFieldError(
            f"{where}: unknown field(s) {unknown}; known fields are {sorted(known)} (a misspelt fact would "
            "otherwise be ignored)."
        )


@dataclass(frozen=True)
class FactSource:
    """Where a fact of the catalog comes from: the page, what it supports, and when it was read."""

    url: str
    supports: str
    retrieved: date

    _FIELDS = frozenset({"url", "supports", "retrieved"})

    def to_json(self) -> JsonObject:
        return {"url": self.url, "supports": self.supports, "retrieved": self.retrieved.isoformat()}

    @classmethod
    def from_json(cls, data: Mapping[str, object], where: str = "source") -> Self:
        _refuse_unknown_fields(data, cls._FIELDS, where)
        url = read_str(data, "url", where)
        if not url.startswith(("https://", "http://")):
            raise RecordFieldError(f"{where}: field 'url' must be a web address, got {url!r}.")
        retrieved = _parse_date(read_str(data, "retrieved", where), "retrieved", where)
        assert retrieved is not None  # read_str never returns None
        return cls(url=url, supports=read_str(data, "supports", where), retrieved=retrieved)


#: The ``thinking_level`` values of the API (Gemini 3 models), lowest first.
THINKING_LEVELS = ("MINIMAL", "LOW", "MEDIUM", "HIGH")


@dataclass(frozen=True)
class ThinkingBehaviour:
    """How a model thinks: on by default? can a zero budget turn it off? the smallest non-zero budget.

    Gemini 3 models are steered by level (``levels``: the ``thinking_level`` values the model accepts,
    lowest first; ``default_level``); Gemini 2.5 models by budget (``min_budget``..``max_budget``
    tokens). ``expected_level_tokens`` is how many thinking tokens an answer may spend at each level: the
    evaluation reserves that many in ``maxOutputTokens`` on top of the answer (a generous bound; only the
    tokens spent are billed). The JSON keys of the last four facts are optional (older catalog files).
    """

    default_on: bool
    can_disable: bool
    min_budget: int | None
    max_budget: int | None = None
    levels: tuple[str, ...] = ()
    default_level: str | None = None
    expected_level_tokens: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    _FIELDS = frozenset(
        {"default_on", "can_disable", "min_budget", "max_budget", "levels", "default_level", "expected_level_tokens"}
    )

    @property
    def level_based(self) -> bool:
        """Whether the model is steered by ``thinkingLevel`` (Gemini 3) rather than ``thinkingBudget``."""
        return bool(self.levels)

    @property
    def lowest_level(self) -> str | None:
        """The lowest ``thinking_level`` the model accepts; ``None`` for a budget-based model."""
        return self.levels[0] if self.levels else None

    def to_json(self) -> JsonObject:
        return {
            "default_on": self.default_on,
            "can_disable": self.can_disable,
            "min_budget": self.min_budget,
            "max_budget": self.max_budget,
            "levels": list[JsonValue](self.levels),
            "default_level": self.default_level,
            "expected_level_tokens": dict[str, JsonValue](self.expected_level_tokens),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object], where: str = "thinking") -> Self:
        _refuse_unknown_fields(data, cls._FIELDS, where)
        budgets = {key: read_optional_int(data, key, where) for key in ("min_budget", "max_budget")}
        for key, value in budgets.items():
            if value is not None and value < 0:
                raise RecordFieldError(f"{where}: field {key!r} must be >= 0, got {value}.")
        levels = tuple(read_list(data, "levels", where, str, "strings")) if "levels" in data else ()
        if any(level not in THINKING_LEVELS for level in levels) or list(levels) != sorted(
            set(levels), key=THINKING_LEVELS.index
        ):
            raise RecordFieldError(
                f"{where}: field 'levels' must list distinct values among {list(THINKING_LEVELS)}, lowest first; "
                f"got {list(levels)}."
            )
        default_level = read_optional_str(data, "default_level", where)
        if default_level is not None and default_level not in levels:
            raise RecordFieldError(
                f"{where}: field 'default_level' {default_level!r} is not among 'levels' {list(levels)}."
            )
        raw_tokens = read_optional_object(data, "expected_level_tokens", where) or {}
        expected = {level: read_int(raw_tokens, level, f"{where} expected_level_tokens") for level in raw_tokens}
        # Empty: no page gives the numbers; the evaluation then reserves its documented fallback per level.
        if expected and (set(expected) != set(levels) or any(tokens < 0 for tokens in expected.values())):
            raise RecordFieldError(
                f"{where}: field 'expected_level_tokens' must give a number >= 0 for each of the levels "
                f"{list(levels)} and nothing else (or be empty); got {expected}."
            )
        return cls(
            default_on=read_bool(data, "default_on", where),
            can_disable=read_bool(data, "can_disable", where),
            min_budget=budgets["min_budget"],
            max_budget=budgets["max_budget"],
            levels=levels,
            default_level=default_level,
            expected_level_tokens=MappingProxyType({level: expected[level] for level in levels if level in expected}),
        )


@dataclass(frozen=True)
class TunableModel:
    """One Gemini base model that Vertex AI can tune (supervised fine-tuning), with its facts.

    :param name: the model id as passed to ``client.tunings.tune``, e.g. ``gemini-2.5-flash``.
    :param family: e.g. ``gemini-2.5``.
    :param price_per_million_training_tokens_usd: list price of tuning per million training tokens
        (tokens in the training data x epochs); ``None`` when not known.
    :param adapter_sizes: the LoRA adapter sizes Vertex accepts for this model.
    :param max_example_tokens: input plus output tokens one training example may have.
    :param max_validation_examples: examples a validation file may have.
    :param thinking: how the model thinks; ``None`` for a model that does not think.
    :param retirement_date: the day Vertex stops serving it (and every model tuned from it); ``None``
        when none is announced.
    :param successor: the model Google recommends instead, if named.
    :param sources: where the facts come from.
    :param tunable: whether Vertex AI offers supervised tuning of it (a current model may not be tunable).
    :param release_date: the day Google released it, when known.
    :param retirement_no_earlier_than: ``retirement_date`` is Google's "on this day or later" (Google never
        moves a retirement earlier than listed), not a fixed day.
    :param notes: assumptions and gaps, e.g. why the price is ``None``.
    """

    name: str
    family: str
    price_per_million_training_tokens_usd: float | None
    adapter_sizes: tuple[int, ...]
    max_example_tokens: int
    max_validation_examples: int
    thinking: ThinkingBehaviour | None
    retirement_date: date | None
    successor: str | None
    sources: tuple[FactSource, ...]
    tunable: bool = True
    release_date: date | None = None
    retirement_no_earlier_than: bool = False
    notes: tuple[str, ...] = ()

    _FIELDS = frozenset(
        {
            "tunable",
            "release_date",
            "retirement_no_earlier_than",
            "notes",
            "name",
            "family",
            "price_per_million_training_tokens_usd",
            "adapter_sizes",
            "max_example_tokens",
            "max_validation_examples",
            "thinking",
            "retirement_date",
            "successor",
            "sources",
        }
    )

    def is_retired(self, on: date) -> bool:
        """Whether the model is retired on day ``on`` (retirement day included)."""
        return self.retirement_date is not None and on >= self.retirement_date

    def to_json(self) -> JsonObject:
        return {
            "name": self.name,
            "family": self.family,
            "price_per_million_training_tokens_usd": self.price_per_million_training_tokens_usd,
            "adapter_sizes": list[JsonValue](self.adapter_sizes),
            "max_example_tokens": self.max_example_tokens,
            "max_validation_examples": self.max_validation_examples,
            "thinking": self.thinking.to_json() if self.thinking is not None else None,
            "retirement_date": self.retirement_date.isoformat() if self.retirement_date else None,
            "successor": self.successor,
            "sources": [source.to_json() for source in self.sources],
            "tunable": self.tunable,
            "release_date": self.release_date.isoformat() if self.release_date else None,
            "retirement_no_earlier_than": self.retirement_no_earlier_than,
            "notes": list[JsonValue](self.notes),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object], where: str = "model") -> Self:
        name = read_str(data, "name", where).strip()
        if not name:
            raise RecordFieldError(f"{where}: field 'name' is empty.")
        where = f"{where} ({name})"
        _refuse_unknown_fields(data, cls._FIELDS, where)
        price = read_optional_float(data, "price_per_million_training_tokens_usd", where)
        if price is not None and not (math.isfinite(price) and price >= 0):
            raise RecordFieldError(
                f"{where}: field 'price_per_million_training_tokens_usd' must be a number >= 0 or null, got {price}."
            )
        adapter_sizes = read_list(data, "adapter_sizes", where, int, "whole numbers")
        unknown_sizes = sorted(set(adapter_sizes) - set(ADAPTER_SIZES))
        if not adapter_sizes or unknown_sizes:
            raise RecordFieldError(
                f"{where}: field 'adapter_sizes' must list sizes among {sorted(ADAPTER_SIZES)}, got {adapter_sizes}."
            )
        limits = {key: read_int(data, key, where) for key in ("max_example_tokens", "max_validation_examples")}
        for key, value in limits.items():
            if value < 1:
                raise RecordFieldError(f"{where}: field {key!r} must be at least 1, got {value}.")
        thinking = read_optional_object(data, "thinking", where)
        raw_sources = read_list(data, "sources", where, dict, "source objects")
        if not raw_sources:
            raise RecordFieldError(f"{where}: field 'sources' is empty; say where the facts come from.")
        return cls(
            name=name,
            family=read_str(data, "family", where),
            price_per_million_training_tokens_usd=price,
            adapter_sizes=tuple(sorted(set(adapter_sizes))),
            max_example_tokens=limits["max_example_tokens"],
            max_validation_examples=limits["max_validation_examples"],
            thinking=ThinkingBehaviour.from_json(thinking, f"{where} thinking") if thinking is not None else None,
            retirement_date=_parse_date(read_optional_str(data, "retirement_date", where), "retirement_date", where),
            successor=read_optional_str(data, "successor", where),
            sources=tuple(
                FactSource.from_json(source, f"{where} sources[{index}]") for index, source in enumerate(raw_sources)
            ),
            tunable=read_bool(data, "tunable", where) if data.get("tunable") is not None else True,
            release_date=_parse_date(read_optional_str(data, "release_date", where), "release_date", where),
            retirement_no_earlier_than=(
                read_bool(data, "retirement_no_earlier_than", where)
                if data.get("retirement_no_earlier_than") is not None
                else False
            ),
            notes=tuple(read_list(data, "notes", where, str, "strings")) if data.get("notes") is not None else (),
        )


@dataclass(frozen=True)
class ModelCatalog:
    """The tunable models, the default one, and the name prefixes of retired model families."""

    default_model: str
    models: tuple[TunableModel, ...]
    retired_prefixes: tuple[str, ...]
    retired_prefixes_sources: tuple[FactSource, ...] = ()
    #: Vertex's lifecycle rule: new access (tuning included) is blocked this many months before retirement.
    blocked_months_before_retirement: int = 1
    blocked_sources: tuple[FactSource, ...] = ()

    _FIELDS = frozenset(
        {
            "schema_version",
            "default_model",
            "models",
            "retired_prefixes",
            "retired_prefixes_sources",
            "new_access_blocked_months_before_retirement",
            "new_access_blocked_sources",
        }
    )

    @property
    def names(self) -> tuple[str, ...]:
        """The model names, in file order."""
        return tuple(model.name for model in self.models)

    def model(self, base_model: str) -> TunableModel | None:
        """The entry for ``base_model``, ``None`` when the catalog does not know it.

        Matches versioned names too (``gemini-2.5-flash-001`` -> ``gemini-2.5-flash``) by longest prefix,
        and ignores a ``publishers/google/models/`` prefix.
        """
        wanted = model_id(base_model)
        matches = [
            model
            for model in self.models
            if wanted == model.name
            or (wanted.startswith(model.name) and _VERSION_SUFFIX.fullmatch(wanted[len(model.name) :]))
        ]
        return max(matches, key=lambda model: len(model.name)) if matches else None

    def blocked_from(self, model: TunableModel) -> date | None:
        """The first day Vertex refuses new tuning jobs on ``model`` (``None``: no retirement announced)."""
        if model.retirement_date is None:
            return None
        return months_before(model.retirement_date, self.blocked_months_before_retirement)

    def tunable_on(self, day: date) -> tuple[str, ...]:
        """The models a new tuning job may use on ``day`` (tunable, not retired, not in the blocked month)."""
        return tuple(
            model.name
            for model in self.models
            if model.tunable and ((blocked := self.blocked_from(model)) is None or day < blocked)
        )

    def price_per_million(self, base_model: str) -> float | None:
        """List price (USD per million training tokens) of tuning ``base_model``; ``None`` when unknown."""
        model = self.model(base_model)
        return model.price_per_million_training_tokens_usd if model is not None else None

    def prices(self) -> Mapping[str, float]:
        """Model name -> list price, for the models whose price is known."""
        return MappingProxyType(
            {
                model.name: model.price_per_million_training_tokens_usd
                for model in self.models
                if model.price_per_million_training_tokens_usd is not None
            }
        )

    def is_retired_family(self, base_model: str) -> bool:
        """Whether ``base_model`` belongs to a family Vertex has retired altogether (e.g. Gemini 1.5)."""
        return model_id(base_model).startswith(self.retired_prefixes)

    def to_json(self) -> JsonObject:
        return {
            "schema_version": CATALOG_SCHEMA_VERSION,
            "default_model": self.default_model,
            "retired_prefixes": list[JsonValue](self.retired_prefixes),
            "retired_prefixes_sources": [source.to_json() for source in self.retired_prefixes_sources],
            "new_access_blocked_months_before_retirement": self.blocked_months_before_retirement,
            "new_access_blocked_sources": [source.to_json() for source in self.blocked_sources],
            "models": [model.to_json() for model in self.models],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object], where: str = "model catalog") -> Self:
        _refuse_unknown_fields(data, cls._FIELDS, where)
        version = read_int(data, "schema_version", where)
        if version != CATALOG_SCHEMA_VERSION:
            raise RecordFieldError(
                f"{where}: schema_version {version} is not supported; this package reads version "
                f"{CATALOG_SCHEMA_VERSION}."
            )
        raw_models = read_list(data, "models", where, dict, "model objects")
        models = tuple(TunableModel.from_json(raw, f"{where}: models[{index}]") for index, raw in enumerate(raw_models))
        names = [model.name for model in models]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise RecordFieldError(f"{where}: field 'models' lists {duplicates} more than once.")
        if not models:
            raise RecordFieldError(f"{where}: field 'models' is empty; list at least one tunable model.")
        default_model = read_str(data, "default_model", where)
        if default_model not in names:
            raise RecordFieldError(
                f"{where}: field 'default_model' is {default_model!r}, which is not among the models {names}."
            )
        raw_sources = data.get("retired_prefixes_sources", [])
        if not isinstance(raw_sources, list):
            raise RecordFieldError(f"{where}: field 'retired_prefixes_sources' must be a list of source objects.")
        raw_blocked_sources = data.get("new_access_blocked_sources", [])
        if not isinstance(raw_blocked_sources, list):
            raise RecordFieldError(f"{where}: field 'new_access_blocked_sources' must be a list of source objects.")
        blocked_months = (
            read_int(data, "new_access_blocked_months_before_retirement", where)
            if data.get("new_access_blocked_months_before_retirement") is not None
            else 1
        )
        if not 0 <= blocked_months <= 24:
            raise RecordFieldError(
                f"{where}: field 'new_access_blocked_months_before_retirement' must be 0 to 24, got {blocked_months}."
            )
        return cls(
            default_model=default_model,
            models=models,
            retired_prefixes=tuple(read_list(data, "retired_prefixes", where, str, "strings")),
            retired_prefixes_sources=tuple(
                FactSource.from_json(source, f"{where}: retired_prefixes_sources[{index}]")
                for index, source in enumerate(raw_sources)
            ),
            blocked_months_before_retirement=blocked_months,
            blocked_sources=tuple(
                FactSource.from_json(source, f"{where}: new_access_blocked_sources[{index}]")
                for index, source in enumerate(raw_blocked_sources)
            ),
        )


def load_catalog(path: str | Path | None = None) -> ModelCatalog:
    """The model catalog from ``path`` (a local JSON file or a ``gs://`` URI), or the packaged one when ``None``.

    An empty ``path`` counts as ``None``. Raises :class:`CatalogError` naming the file and, for an invalid
    entry, the model and the field.
    """
    if path is None or (isinstance(path, str) and not path.strip()):
        return default_catalog()
    if isinstance(path, str) and path.strip().startswith("gs://"):
        from gemini_qa_tuning import storage  # the Cloud Storage client only when a gs:// catalog is asked for

        uri = path.strip()
        try:
            text = storage.read_text(uri)
        except FileNotFoundError:
            raise CatalogError(
                f"model catalog {uri} does not exist; upload a JSON file laid out like the packaged "
                f"{PACKAGED_CATALOG}, or clear model_catalog_uri to use the packaged catalog."
            ) from None
        return _parse_catalog(text, f"model catalog {uri}")
    return _read_catalog(path)


def _read_catalog(path: str | Path | None) -> ModelCatalog:
    if path is None:
        where = f"packaged catalog {__package__}/{PACKAGED_CATALOG}"
        text = resources.files(__package__ or "gemini_qa_tuning.tuning").joinpath(PACKAGED_CATALOG).read_text("utf-8")
    else:
        where = f"model catalog {path}"
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise CatalogError(
                f"{where} cannot be read ({error.strerror or error}); pass the path of a JSON file laid out like "
                f"the packaged {PACKAGED_CATALOG}."
            ) from None
    return _parse_catalog(text, where)


def _parse_catalog(text: str, where: str) -> ModelCatalog:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise CatalogError(
            f"{where} is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}."
        ) from None
    if not isinstance(data, Mapping):
        raise CatalogError(f"{where} must hold a JSON object with 'models', got {type(data).__name__}.")
    try:
        return ModelCatalog.from_json(data, where)
    except RecordFieldError as error:
        raise CatalogError(str(error)) from None


@cache
def default_catalog() -> ModelCatalog:
    """The packaged catalog, read once per process."""
    return _read_catalog(None)


def price_per_million_tokens(base_model: str) -> float | None:
    """List price (USD per million training tokens) of tuning ``base_model`` in the packaged catalog."""
    return default_catalog().price_per_million(base_model)


#: The default base model (the packaged catalog's ``default_model``).
DEFAULT_BASE_MODEL: str = default_catalog().default_model
#: Model name -> list price in USD per million training tokens (``None``: no price known), for the packaged
#: catalog's models that are tunable and not yet retired (nor in their blocked month) on the day of import.
TUNABLE_BASE_MODELS: Mapping[str, float | None] = MappingProxyType(
    {name: default_catalog().price_per_million(name) for name in default_catalog().tunable_on(datetime.now(UTC).date())}
)
#: Name prefixes of model families Vertex has retired; launching on them would fail at Vertex.
RETIRED_BASE_MODEL_PREFIXES: tuple[str, ...] = default_catalog().retired_prefixes
