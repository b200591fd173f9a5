"""Builders of small sources for the dataset tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gemini_qa_tuning.dataset import QAExample


def article(title: str, paragraphs: int = 2, questions: int = 3, prefix: str = "") -> dict[str, Any]:
    """A SQuAD article whose every answer is a span of its paragraph."""
    result: dict[str, Any] = {"title": title, "paragraphs": []}
    for p in range(paragraphs):
        context = f"{title} paragraph {p} says: " + " ".join(f"fact{q} is Value{p}x{q}." for q in range(questions))
        qas = []
        for q in range(questions):
            answer = f"Value{p}x{q}"
            qas.append(
                {
                    "id": f"{prefix}{title}-{p}-{q}",
                    "question": f"What is fact{q} in paragraph {p} of {title}?",
                    "answers": [
                        {"text": answer, "answer_start": context.index(answer)},
                        {"text": f"is {answer}", "answer_start": context.index(answer) - 3},
                    ],
                }
            )
        result["paragraphs"].append({"context": context, "qas": qas})
    return result


def squad_document(*articles: dict[str, Any], version: str = "1.1") -> dict[str, Any]:
    return {"version": version, "data": list(articles)}


@pytest.fixture
def write_json(tmp_path: Path) -> Callable[[str, Any], str]:
    def write(name: str, document: Any) -> str:
        path = tmp_path / name
        path.write_text(json.dumps(document), encoding="utf-8")
        return str(path)

    return write


@pytest.fixture
def write_jsonl(tmp_path: Path) -> Callable[[str, list[Any]], str]:
    def write(name: str, records: list[Any]) -> str:
        path = tmp_path / name
        lines = [record if isinstance(record, str) else json.dumps(record, ensure_ascii=False) for record in records]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return str(path)

    return write


def example(
    id: str = "q1",
    title: str = "T",
    context: str = "Rollo led the Norse.",
    question: str = "Who led the Norse?",
    answers: tuple[str, ...] = ("Rollo",),
) -> QAExample:
    return QAExample(id=id, title=title, context=context, question=question, answers=answers)


@pytest.fixture
def make_example() -> Callable[..., QAExample]:
    return example


@pytest.fixture
def make_article() -> Callable[..., dict[str, Any]]:
    return article


@pytest.fixture
def make_squad() -> Callable[..., dict[str, Any]]:
    return squad_document
