"""The test questions: the lines of the exported ``test.jsonl``, each tied to the exact prompt sent.

``test.jsonl`` holds one ``{"id", "title", "question", "prompt", "answers"}`` object per line, the prompt
already rendered with the export's prompt template. What changes this module: the export's test-record
format.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from gemini_qa_tuning import storage

__all__ = ["EvaluationQuestion", "load_test_questions", "prompt_hash"]


@dataclass(frozen=True)
class EvaluationQuestion:
    """One line of ``test.jsonl``; ``prompt_sha256`` ties a stored answer to the exact prompt sent."""

    id: str
    question: str
    prompt: str
    answers: tuple[str, ...]
    prompt_sha256: str


def prompt_hash(prompt: str) -> str:
    """SHA-256 (hex) of the prompt's UTF-8 bytes: a stored answer is reused only for the same prompt."""
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()


def load_test_questions(test_uri: str) -> list[EvaluationQuestion]:
    """Read ``test.jsonl`` (``{"id", "title", "question", "prompt", "answers"}`` per line)."""
    questions: list[EvaluationQuestion] = []
    seen: set[str] = set()
    for line_number, line in enumerate(storage.iter_lines(test_uri), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            question_id = str(record["id"])
            prompt = record["prompt"]
            answers = tuple(str(answer) for answer in record["answers"])
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise ValueError(
                f"{test_uri} line {line_number} is not a test record with id, prompt and answers "
                f"({error!r}). Re-export the test split."
            ) from error
        if not isinstance(prompt, str) or not prompt:
            raise ValueError(f"{test_uri} line {line_number}: prompt must be a non-empty string")
        if question_id in seen:
            raise ValueError(f"{test_uri} line {line_number}: duplicate question id {question_id!r}")
        seen.add(question_id)
        questions.append(
            EvaluationQuestion(
                id=question_id,
                question=str(record.get("question", "")),
                prompt=prompt,
                answers=answers,
                prompt_sha256=prompt_hash(prompt),
            )
        )
    if not questions:
        raise ValueError(f"{test_uri} holds no test questions; check the export step.")
    return questions
