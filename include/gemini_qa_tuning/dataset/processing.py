"""Clean, validate and deduplicate examples.

* :class:`ExampleBuilder` turns one raw source record (whatever the loader) into a whitespace-cleaned
  :class:`QAExample`, or into a :class:`RejectedRecord` when a field is missing, empty or of the wrong
  type. Every loader goes through it, so the rules are the same for every source.
* :func:`validate_examples` rejects examples whose answers are not in their context and examples whose
  prompt (rendered with the prompt template) plus target exceeds the token limit.
* :func:`deduplicate` keeps the first of identical (question, context) pairs — compared after
  :func:`~gemini_qa_tuning.text.normalize_answer`-style normalization, i.e. ignoring case and whitespace —
  and rejects a later example that reuses an id for different content.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gemini_qa_tuning.dataset.records import QAExample, RejectedRecord, RejectReason
from gemini_qa_tuning.prompt import PromptTemplate
from gemini_qa_tuning.text import (
    TOKEN_ESTIMATOR,
    clean_whitespace,
    estimate_tokens,
    normalize_answer,
    token_estimate_for_length,
)

__all__ = [
    "REQUIRED_FIELDS",
    "DeduplicationResult",
    "ExampleBuilder",
    "ValidationResult",
    "deduplicate",
    "example_tokens",
    "validate_examples",
]

REQUIRED_FIELDS = ("id", "title", "context", "question", "answers")
_TEXT_FIELDS = ("id", "title", "context", "question")


class ExampleBuilder:
    """Builds cleaned examples from raw records and remembers cleaned contexts.

    SQuAD has about five questions per paragraph and dozens per article: caching the cleaned context and
    title (keyed by the raw text) cleans each once and lets all their examples share one string object —
    at 1,000,000 examples that is hundreds of MB not held twice. A text that is clean already is kept as
    is, so the cache holds it once, not a raw and a cleaned copy.
    """

    def __init__(self) -> None:
        self._clean_contexts = _CleanedTexts()
        self._clean_titles = _CleanedTexts()

    def clean_context(self, context: str) -> str:
        """The whitespace-cleaned context, computed once per distinct raw context."""
        return self._clean_contexts.get(context)

    def clean_title(self, title: str) -> str:
        """The whitespace-cleaned title, computed once per distinct raw title."""
        return self._clean_titles.get(title)

    def build(self, record: Mapping[str, Any], where: str) -> QAExample | RejectedRecord:
        """A cleaned example from ``record`` (keys of :data:`REQUIRED_FIELDS`), or why it cannot be one.

        ``answers`` may be a list of strings, a list of ``{"text": ...}`` objects (SQuAD JSON) or an
        object ``{"text": [...]}`` (Hugging Face SQuAD); empty answer strings are dropped, and a record
        left without any answer is rejected.
        """
        return self.build_well_formed(record) or self._build_checked(record, where)

    def build_well_formed(self, record: Mapping[str, Any]) -> QAExample | None:
        """The example of a record whose fields all have the expected types and are not empty, else None.

        The fast path for the usual record (at 1,000,000 records every check counts); anything else goes to
        :meth:`_build_checked`, which says what is wrong, so both give the same example for a good record.
        """
        get = record.get
        identifier, title, context, question, raw_answers = (
            get("id"),
            get("title"),
            get("context"),
            get("question"),
            get("answers"),
        )
        if not (
            type(identifier) is str
            and type(title) is str
            and type(context) is str
            and type(question) is str
            and type(raw_answers) is list
        ):
            return None
        answers: list[str] = []
        for answer in raw_answers:
            if type(answer) is not str:
                answer = answer.get("text") if type(answer) is dict else None
                if type(answer) is not str:
                    return None
            cleaned = clean_whitespace(answer)
            if cleaned:
                answers.append(cleaned)
        identifier, question = clean_whitespace(identifier), clean_whitespace(question)
        title, context = self._clean_titles.get(title), self._clean_contexts.get(context)
        if not (answers and identifier and title and context and question):
            return None
        return QAExample(id=identifier, title=title, context=context, question=question, answers=tuple(answers))

    def _build_checked(self, record: Mapping[str, Any], where: str) -> QAExample | RejectedRecord:
        texts: dict[str, str] = {}
        for name in _TEXT_FIELDS:
            value = record.get(name)
            if value is None:
                return RejectedRecord(RejectReason.MISSING_FIELD, f"field {name!r} is missing", where, record)
            if not isinstance(value, str):
                return RejectedRecord(
                    RejectReason.WRONG_TYPE,
                    f"field {name!r} must be a string, got {type(value).__name__}",
                    where,
                    record,
                )
            if name == "context":
                cleaned = self.clean_context(value)
            elif name == "title":
                cleaned = self.clean_title(value)
            else:
                cleaned = clean_whitespace(value)
            if not cleaned:
                return RejectedRecord(RejectReason.EMPTY_FIELD, f"field {name!r} is empty", where, record)
            texts[name] = cleaned
        raw_answers = record.get("answers")
        answers = _answer_texts(raw_answers)
        if answers is RejectReason.MISSING_FIELD:
            return RejectedRecord(answers, "field 'answers' is missing", where, record)
        if isinstance(answers, RejectReason):
            detail = (
                "field 'answers' must be a list of strings, a list of {'text': string} objects "
                f"or {{'text': [strings]}}; got {_describe(raw_answers)}"
            )
            return RejectedRecord(answers, detail, where, record)
        cleaned_answers = tuple(cleaned for cleaned in map(clean_whitespace, answers) if cleaned)
        if not cleaned_answers:
            return RejectedRecord(RejectReason.EMPTY_FIELD, "no non-empty answer", where, record)
        return QAExample(
            id=texts["id"],
            title=texts["title"],
            context=texts["context"],
            question=texts["question"],
            answers=cleaned_answers,
        )


class _CleanedTexts:
    """Whitespace-cleaned texts keyed by their raw text, with the last one looked at first.

    The questions of one paragraph are usually consecutive records: a raw context (a new string object
    per JSONL line, ~500 characters) that equals the previous one is found by one comparison, which stops
    at the first differing character, instead of hashing all of it for the dictionary.
    """

    __slots__ = ("_cleaned", "_last_cleaned", "_last_raw")

    def __init__(self) -> None:
        self._cleaned: dict[str, str] = {}
        self._last_raw: str | None = None
        self._last_cleaned = ""

    def get(self, text: str) -> str:
        if text == self._last_raw:
            return self._last_cleaned
        cleaned = self._cleaned.get(text)
        if cleaned is None:
            cleaned = clean_whitespace(text)
            if cleaned == text:
                cleaned = text  # the same object: the cache then holds one string, not two equal ones
            self._cleaned[text] = cleaned
        self._last_raw, self._last_cleaned = text, cleaned
        return cleaned


def _answer_texts(value: Any) -> list[str] | RejectReason:
    """The answer strings of one of the accepted shapes, or why there are none."""
    if value is None:
        return RejectReason.MISSING_FIELD
    if isinstance(value, Mapping):
        value = value.get("text")
    if not isinstance(value, list | tuple):
        return RejectReason.WRONG_TYPE
    texts: list[str] = []
    for item in value:
        text = item.get("text") if isinstance(item, Mapping) else item
        if not isinstance(text, str):
            return RejectReason.WRONG_TYPE
        texts.append(text)
    return texts


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'…' if len(text) > 60 else ''}"


def _location(source: str, example: QAExample) -> str:
    return f"{source}, example {example.id}" if source else f"example {example.id}"


@dataclass(frozen=True)
class ValidationResult:
    """Examples that passed, and the ones rejected (in input order)."""

    valid: list[QAExample]
    rejects: list[RejectedRecord]


def example_tokens(example: QAExample, template: PromptTemplate) -> int:
    """Estimated tokens of one tuning example: the rendered prompt plus the normalized target."""
    prompt_tokens = template.estimate_prompt_tokens(context=example.context, question=example.question)
    return prompt_tokens + estimate_tokens(normalize_answer(example.answers[0]))


def validate_examples(
    examples: Iterable[QAExample],
    template: PromptTemplate,
    max_prompt_tokens: int,
    where: str = "",
) -> ValidationResult:
    """Reject examples with an answer missing from the context, or too long for one tuning example.

    Containment is checked for every reference answer, case-sensitively, on whitespace-cleaned text:
    SQuAD answers are spans of their paragraph, so an answer that is not there is a broken record.
    """
    valid: list[QAExample] = []
    rejects: list[RejectedRecord] = []
    # The template's own characters, counted once: an example's prompt adds its context and question.
    fixed_prompt_length = template.rendered_length(context="", question="")
    for example in examples:
        context = example.context
        missing = None
        for answer in example.answers:
            if answer not in context:
                missing = answer
                break
        if missing is not None:
            rejects.append(
                RejectedRecord(
                    RejectReason.ANSWER_NOT_IN_CONTEXT,
                    f"answer {missing[:80]!r} does not occur in the context of example {example.id!r}",
                    _location(where, example),
                    example.to_dict(),
                )
            )
            continue
        # example_tokens(example, template), without its per-example keyword calls. An ASCII answer is at
        # least as long as its normalized form (lowercasing keeps its length, collapsing whitespace can only
        # shorten it): when even its own length fits, the target need not be normalized to know that.
        prompt_tokens = token_estimate_for_length(fixed_prompt_length + len(context) + len(example.question))
        target = example.answers[0]
        if target.isascii() and prompt_tokens + token_estimate_for_length(len(target)) <= max_prompt_tokens:
            valid.append(example)
            continue
        tokens = prompt_tokens + token_estimate_for_length(len(normalize_answer(target)))
        if tokens > max_prompt_tokens:
            rejects.append(
                RejectedRecord(
                    RejectReason.PROMPT_TOO_LONG,
                    f"example {example.id!r} needs about {tokens} tokens with template {template.version!r}, "
                    f"over the limit of {max_prompt_tokens} (tokens estimated as {TOKEN_ESTIMATOR})",
                    _location(where, example),
                    example.to_dict(),
                )
            )
            continue
        valid.append(example)
    return ValidationResult(valid, rejects)


@dataclass(frozen=True)
class DeduplicationResult:
    """The first example of every (question, context) pair, how many repeats were dropped, and id clashes."""

    kept: list[QAExample]
    duplicates_dropped: int
    rejects: list[RejectedRecord]


def deduplicate(examples: Sequence[QAExample], where: str = "") -> DeduplicationResult:
    """Keep the first example of each (question, context) pair, ignoring case and whitespace.

    An example whose pair is new but whose id is already taken is rejected (``duplicate_id``): the
    evaluation joins predictions to references by id.
    """
    context_digests: dict[str, bytes] = {}
    # A blake2b state keyed with the current context's digest: a copy of it hashes one question to the
    # same digest as a new keyed blake2b, for less than keying one (a paragraph's questions are adjacent).
    current_context: str | None = None
    pair_hasher = hashlib.blake2b(digest_size=16)  # replaced at the first example
    seen_pairs: set[bytes] = set()
    seen_ids: set[str] = set()
    kept: list[QAExample] = []
    rejects: list[RejectedRecord] = []
    duplicates = 0
    for example in examples:
        if example.context is not current_context:
            current_context = example.context
            context_digest = context_digests.get(current_context)
            if context_digest is None:
                context_digest = hashlib.blake2b(normalize_answer(current_context).encode(), digest_size=16).digest()
                context_digests[current_context] = context_digest
            pair_hasher = hashlib.blake2b(digest_size=16, key=context_digest)
        pair_hash = pair_hasher.copy()
        pair_hash.update(normalize_answer(example.question).encode())
        pair = pair_hash.digest()
        if pair in seen_pairs:
            duplicates += 1
            continue
        if example.id in seen_ids:
            rejects.append(
                RejectedRecord(
                    RejectReason.DUPLICATE_ID,
                    f"id {example.id!r} is already used by another question or context",
                    _location(where, example),
                    example.to_dict(),
                )
            )
            continue
        seen_pairs.add(pair)
        seen_ids.add(example.id)
        kept.append(example)
    return DeduplicationResult(kept, duplicates, rejects)
