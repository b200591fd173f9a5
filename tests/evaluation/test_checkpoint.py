"""The answer checkpoint: parts written in batches, read back latest-success-wins, bad parts named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gemini_qa_tuning import storage
from gemini_qa_tuning.evaluation.checkpoint import (
    AnswerRecord,
    CheckpointProgress,
    CheckpointWriter,
    read_checkpoint,
    reusable_answers,
)
from gemini_qa_tuning.evaluation.questions import EvaluationQuestion, prompt_hash


def question(question_id: str, prompt: str = "Where is Normandy?") -> EvaluationQuestion:
    return EvaluationQuestion(
        id=question_id, question=prompt, prompt=prompt, answers=("France",), prompt_sha256=prompt_hash(prompt)
    )


def answered(item: EvaluationQuestion, text: str = "France") -> AnswerRecord:
    return AnswerRecord(
        id=item.id,
        prompt_sha256=item.prompt_sha256,
        status="ok",
        response=text,
        blocked=False,
        finish_reason="STOP",
        error=None,
        attempts=1,
        latency_seconds=0.01,
        prompt_tokens=10,
        output_tokens=1,
        total_tokens=11,
    )


async def test_writer_writes_a_part_per_full_batch_and_the_rest_on_flush(tmp_path: Path) -> None:
    prefix = str(tmp_path / "checkpoint")
    seen: list[CheckpointProgress] = []
    writer = CheckpointWriter(prefix, 1, 2, seen.append, lambda uri: CheckpointProgress(uri, 0, 0, 3))
    for index in range(3):
        await writer.add(answered(question(f"q{index}")))
    assert [progress.part_uri for progress in seen] == [f"{prefix}/part-000001.jsonl"]
    await writer.flush()
    await writer.flush()  # nothing buffered: no empty part
    assert sorted(storage.list_uris(prefix + "/")) == [f"{prefix}/part-000001.jsonl", f"{prefix}/part-000002.jsonl"]
    records, next_part = read_checkpoint(prefix)
    assert sorted(records) == ["q0", "q1", "q2"] and next_part == 3


def test_a_success_is_never_replaced_and_only_the_same_prompt_is_reused(tmp_path: Path) -> None:
    prefix = str(tmp_path / "checkpoint")
    first, second = question("q1"), question("q2")
    failed = AnswerRecord.failed(first, "HTTP 503", attempts=2)
    storage.write_text(f"{prefix}/part-000001.jsonl", json.dumps(answered(first).to_json()) + "\n")
    storage.write_text(
        f"{prefix}/part-000002.jsonl", json.dumps(failed.to_json()) + "\n" + json.dumps(answered(second).to_json())
    )
    records, next_part = read_checkpoint(prefix)
    assert records["q1"].ok and next_part == 3
    reused = reusable_answers([first, question("q2", "A changed prompt?")], records)
    assert list(reused) == ["q1"]


def test_an_unreadable_part_is_named_with_its_line(tmp_path: Path) -> None:
    prefix = str(tmp_path / "checkpoint")
    storage.write_text(f"{prefix}/part-000001.jsonl", json.dumps(answered(question("q1")).to_json()) + "\n{oops\n")
    with pytest.raises(ValueError, match=r"part-000001\.jsonl line 2 is not a checkpoint answer"):
        read_checkpoint(prefix)
