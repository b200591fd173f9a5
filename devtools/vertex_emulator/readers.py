"""Stand-in "models" of the emulator: small deterministic extractive readers, not Gemini.

They exist so that the pipeline's evaluation has something to measure offline. Offline EM/F1 therefore
measure the pipeline (data flow, prompts, scoring), never the quality of a real model.

* The **base reader** answers verbosely, the way an untuned chat model does: it returns the whole
  context sentence that shares the most words with the question.
* The **tuned reader** is built by a tuning job from the training file it was given, and from nothing
  else (never from test answers). ``build_reader_profile`` learns, from the model turns of the training
  examples, how long answers are (median word count overall and per question type), how often they
  contain a number (digits or number words), and whether they are lower-cased. At answer time it
  picks the same best sentence as the base reader and returns the span of the learned length, next to
  the question's words, that does not repeat them.

Prompts are read with the markers of the project's prompt template: the text after the last
``Context:`` marker up to the last ``Question:`` marker is the context, the rest is the question.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

QUESTION_MARKER = "\n\nQuestion:\n"
CONTEXT_MARKER = "Context:"
READER_PROFILE_KIND = "span-reader-v1"

# A question type needs this many training examples before it gets its own answer length.
MIN_EXAMPLES_PER_QUESTION_TYPE = 3
# Words that carry no evidence of where an answer is; they never count as overlap with the question.
_STOPWORD_LIST = """
    a an and are as at be been being by can could did do does for from had has have how i if in into
    is it its of on or that the their them then there these they this those to was were what when
    where which who whom whose why will with would you your about after before during over under
    than also not no such many much
"""
STOPWORDS = frozenset(_STOPWORD_LIST.split())
_WORD = re.compile(r"\w+", re.UNICODE)
_TOKEN = re.compile(r"\S+")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+")
_EDGE_PUNCTUATION = " \t\n\"'`“”‘’()[]{}.,;:!?"
# Answers follow the question's words a little more often than they precede them.
_WEIGHT_OF_LATER_QUESTION_WORDS = 0.8
_WH_WORDS = ("who", "whom", "whose", "when", "where", "which", "why", "what", "how")
_HOW_SUFFIXES = ("many", "much", "long", "old", "far", "large", "big")
_NUMBER_WORD_LIST = """
    one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred
    thousand million billion first second third half dozen
"""
_NUMBER_WORDS = frozenset(_NUMBER_WORD_LIST.split())


@dataclass(frozen=True)
class ParsedPrompt:
    """The context and question found in a prompt (empty strings when a marker is missing)."""

    context: str
    question: str


def parse_prompt(prompt: str) -> ParsedPrompt:
    """Split a prompt into context and question by the ``Context:`` / ``Question:`` markers.

    Without a ``Question:`` marker the whole prompt is treated as context and the question is empty.
    """
    question_at = prompt.rfind(QUESTION_MARKER)
    if question_at < 0:
        return ParsedPrompt(context=prompt.strip(), question="")
    question = prompt[question_at + len(QUESTION_MARKER) :].strip()
    context_at = prompt.rfind(CONTEXT_MARKER, 0, question_at)
    context_start = 0 if context_at < 0 else context_at + len(CONTEXT_MARKER)
    return ParsedPrompt(context=prompt[context_start:question_at].strip(), question=question)


def words(text: str) -> list[str]:
    """Lower-cased word tokens of ``text``."""
    return [word.lower() for word in _WORD.findall(text)]


def content_words(text: str) -> set[str]:
    """The words of ``text`` that are not stopwords."""
    return {word for word in words(text) if word not in STOPWORDS}


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` (split after ., ! or ? followed by white space)."""
    return [sentence.strip() for sentence in _SENTENCE_END.split(text) if sentence.strip()]


def question_type(question: str) -> str:
    """A coarse question type: the first wh-word ("how many" etc. kept together), else "other"."""
    question_words = words(question)
    for index, word in enumerate(question_words):
        if word == "how" and index + 1 < len(question_words) and question_words[index + 1] in _HOW_SUFFIXES:
            return f"how {question_words[index + 1]}"
        if word in _WH_WORDS:
            return word
    return "other"


def _same_word(left: str, right: str) -> bool:
    # A light stemmer: "founded" matches "founding", "normans" matches "norman".
    return left == right or (len(left) >= 5 and len(right) >= 5 and left[:5] == right[:5])


def _is_question_word(word: str, question_words: Iterable[str]) -> bool:
    return word not in STOPWORDS and any(_same_word(word, other) for other in question_words)


def best_sentence(context: str, question: str) -> str:
    """The context sentence sharing the most question words (the earliest one on a tie)."""
    sentences = split_sentences(context)
    if not sentences:
        return ""
    question_words = content_words(question)
    best, best_score = sentences[0], 0
    for sentence in sentences:
        sentence_words = set(words(sentence))
        score = sum(1 for word in sentence_words if _is_question_word(word, question_words))
        if score > best_score:
            best, best_score = sentence, score
    return best


def base_answer(prompt: str) -> str:
    """The base stand-in model's verbose answer: the best-matching whole sentence of the context."""
    parsed = parse_prompt(prompt)
    return best_sentence(parsed.context, parsed.question)


def _is_numeric_word(word: str) -> bool:
    return word in _NUMBER_WORDS or any(character.isdigit() for character in word)


def _median_words(lengths: Sequence[int]) -> int:
    return max(1, int(statistics.median(lengths) + 0.5))


def build_reader_profile(answers_by_question: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Learn the tuned reader's answer profile from (prompt, answer) pairs of a training file.

    The profile is plain JSON so it can be stored with the tuned model in the emulator's state file.
    """
    lengths: list[int] = []
    lengths_by_type: dict[str, list[int]] = defaultdict(list)
    numeric_by_type: dict[str, list[bool]] = defaultdict(list)
    lower_cased = 0
    for prompt, answer in answers_by_question:
        answer_words = answer.split()
        if not answer_words:
            continue
        kind = question_type(parse_prompt(prompt).question)
        lengths.append(len(answer_words))
        lengths_by_type[kind].append(len(answer_words))
        numeric_by_type[kind].append(any(_is_numeric_word(word) for word in words(answer)))
        lower_cased += answer == answer.lower()
    if not lengths:
        return {"kind": READER_PROFILE_KIND, "example_count": 0, "median_answer_words": 1}
    return {
        "kind": READER_PROFILE_KIND,
        "example_count": len(lengths),
        "median_answer_words": _median_words(lengths),
        "answer_words_by_question_type": {
            kind: _median_words(values)
            for kind, values in sorted(lengths_by_type.items())
            if len(values) >= MIN_EXAMPLES_PER_QUESTION_TYPE
        },
        "numeric_share_by_question_type": {
            kind: round(sum(values) / len(values), 3)
            for kind, values in sorted(numeric_by_type.items())
            if len(values) >= MIN_EXAMPLES_PER_QUESTION_TYPE
        },
        "lower_case_answers": lower_cased / len(lengths) >= 0.9,
    }


def continue_reader_profile(parent: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The profile of a continuous tuning job: the parent's, updated by what the new training file teaches.

    A continued model starts from its parent's weights, so it keeps what the parent learned wherever the new
    data says nothing: a question type the new file has too few examples of keeps the parent's answer length
    and number preference; the rest follows the new data (fine-tuning further moves towards it). A new file
    with no usable answers leaves the parent's profile as it was.
    """
    if not new.get("example_count"):
        return {**parent, "continued_from_examples": parent.get("example_count", 0)}
    merged = dict(new)
    for key in ("answer_words_by_question_type", "numeric_share_by_question_type"):
        merged[key] = {**(parent.get(key) or {}), **(new.get(key) or {})}
    merged["example_count"] = int(parent.get("example_count", 0)) + int(new["example_count"])
    merged["continued_from_examples"] = parent.get("example_count", 0)
    return merged


@dataclass(frozen=True)
class _Token:
    text: str
    word: str  # lower-cased, edge punctuation removed
    start: int
    end: int


def _tokens(sentence: str) -> list[_Token]:
    tokens = []
    for match in _TOKEN.finditer(sentence):
        word = match.group().strip(_EDGE_PUNCTUATION).lower()
        tokens.append(_Token(match.group(), word, match.start(), match.end()))
    return tokens


def _window_score(
    first: int, last: int, tokens: Sequence[_Token], matches: Sequence[int], prefers_numbers: bool
) -> float:
    score = 0.0
    for position in matches:
        gap = first - position - 1 if position < first else position - last - 1
        score += (1.0 if position < first else _WEIGHT_OF_LATER_QUESTION_WORDS) / (1.0 + gap)
    if prefers_numbers and any(_is_numeric_word(token.word) for token in tokens[first : last + 1]):
        score += 1.0
    if tokens[last].word in STOPWORDS:
        score -= 0.5
    if tokens[first].word in STOPWORDS:
        score -= 0.5
    return score


def tuned_answer(prompt: str, profile: dict[str, Any], extra_words: int = 0) -> str:
    """The tuned stand-in model's answer: a short span of the learned length from the best sentence.

    Among the windows of the learned length that repeat none of the question's words, it picks the one
    closest to where the question's words occur (a bonus for numbers applies to question types whose
    training answers mostly contain one); the earliest window wins a tie. ``extra_words`` lengthens the
    window: a checkpoint away from the best epoch answers that many words longer (see ``checkpoint_words``).
    """
    parsed = parse_prompt(prompt)
    sentence = best_sentence(parsed.context, parsed.question)
    tokens = [token for token in _tokens(sentence) if token.word]
    if not tokens:
        return ""
    kind = question_type(parsed.question)
    lengths_by_type = profile.get("answer_words_by_question_type") or {}
    numeric_shares = profile.get("numeric_share_by_question_type") or {}
    length = int(lengths_by_type.get(kind, profile.get("median_answer_words", 1)))
    length = max(1, min(length + max(0, extra_words), len(tokens)))
    prefers_numbers = float(numeric_shares.get(kind, 0.0)) >= 0.5

    question_words = content_words(parsed.question)
    matches = [index for index, token in enumerate(tokens) if _is_question_word(token.word, question_words)]
    best_window: tuple[int, int] | None = None
    best_score = float("-inf")
    for first in range(len(tokens) - length + 1):
        last = first + length - 1
        if any(first <= position <= last for position in matches):
            continue
        if all(token.word in STOPWORDS for token in tokens[first : last + 1]):
            continue
        score = _window_score(first, last, tokens, matches, prefers_numbers)
        if score > best_score:
            best_window, best_score = (first, last), score
    first, last = best_window if best_window is not None else (0, length - 1)
    answer = sentence[tokens[first].start : tokens[last].end].strip(_EDGE_PUNCTUATION)
    return answer.lower() if profile.get("lower_case_answers") else answer


def checkpoint_extra_words(epoch: int, best_epoch: int) -> int:
    """How much longer than learned a checkpoint answers: one word per epoch away from the best one.

    So answer quality rises towards ``best_epoch`` and falls after it (under-fitting, then over-fitting),
    deterministically, for tests of best-checkpoint selection.
    """
    return abs(epoch - best_epoch)
