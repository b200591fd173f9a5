"""Text cleaning shared by the dataset export and the evaluation: one definition, used by both.

Two operations, deliberately small:

* :func:`clean_whitespace` — what contexts, questions, titles and reference answers get: every run of
  whitespace (spaces, tabs, newlines, non-breaking spaces — anything ``str.isspace`` accepts) becomes
  one space and the ends are stripped. Case and punctuation are kept. A cleaned text therefore never
  contains a newline, which keeps the prompt's ``Context:`` / ``Question:`` sections unambiguous.
* :func:`normalize_answer` — what the model must learn to answer (the ``model`` text of a tuning
  example): the whitespace cleaning above plus lowercasing.

This is *not* the official SQuAD metric normalization (which also drops punctuation and articles); that
one lives in :mod:`gemini_qa_tuning.evaluation.scoring` and is applied when scoring, on top of this.

Token counts are estimated, not measured, with :func:`estimate_tokens`: ``ceil(characters / 4)``, the
"4 characters per token" rule of thumb for English text that the offline Vertex emulator also uses for
``countTokens`` and billing. It runs without a tokenizer or a network call; expect it to be within
roughly ±25 % of Gemini's real count on SQuAD-like English prose.
"""

from __future__ import annotations

__all__ = [
    "CHARACTERS_PER_TOKEN",
    "TOKEN_ESTIMATOR",
    "clean_whitespace",
    "estimate_tokens",
    "normalize_answer",
    "token_estimate_for_length",
]

CHARACTERS_PER_TOKEN = 4
TOKEN_ESTIMATOR = "ceil(characters / 4)"


def clean_whitespace(text: str) -> str:
    """Collapse every run of whitespace to one space and strip both ends; case is kept."""
    # str.split() without arguments splits on any Unicode whitespace and drops empty pieces,
    # which is both the definition we want and much faster than a regular expression.
    return text if _is_clean(text) else " ".join(text.split())


def normalize_answer(text: str) -> str:
    """The training target form of an answer: lowercase, whitespace collapsed, ends stripped."""
    lowered = text.lower()
    return lowered if _is_clean(lowered) else " ".join(lowered.split())


def _is_clean(text: str) -> bool:
    """Whether ``text`` is already whitespace-clean: its only whitespace is single inner ASCII spaces.

    A fast path (most texts are clean): every whitespace character but the ASCII space is non-printable
    (control or separator), so a printable text holds no other, and then no double, leading or trailing
    space is all that is left to rule out.
    """
    return text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " "


def estimate_tokens(text: str) -> int:
    """Estimated token count of ``text``: ``ceil(len(text) / 4)`` (see the module docstring)."""
    return token_estimate_for_length(len(text))


def token_estimate_for_length(characters: int) -> int:
    """The estimate of :func:`estimate_tokens` for a text of ``characters`` characters."""
    return -(-characters // CHARACTERS_PER_TOKEN)
