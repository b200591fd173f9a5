"""The answer checkpoint: each answer saved as it arrives (grouped writes), parts merged at the end,
read back latest-success-wins, bad parts named."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from gemini_qa_tuning import storage
from gemini_qa_tuning.evaluation.checkpoint import (
    AnswerRecord,
    CheckpointProgress,
    CheckpointWriter,
    load_checkpoint,
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


async def test_each_answer_is_saved_before_save_returns_and_concurrent_ones_share_a_write(tmp_path: Path) -> None:
    prefix = str(tmp_path / "checkpoint")
    seen: list[CheckpointProgress] = []
    writer = CheckpointWriter(prefix, 1, seen.append, lambda uri: CheckpointProgress(uri, 0, 0, 3))
    await writer.save(answered(question("q0")))
    records, _ = read_checkpoint(prefix)
    assert sorted(records) == ["q0"]  # saved, not buffered
    await asyncio.gather(*(writer.save(answered(question(f"q{index}"))) for index in range(1, 9)))
    records, next_part = read_checkpoint(prefix)
    assert sorted(records) == [f"q{index}" for index in range(9)]
    assert 2 <= writer.parts_written < 9  # grouped: answers arriving during a write go into the next one
    assert [progress.part_uri for progress in seen] == list(writer.part_uris)
    await writer.flush()  # nothing buffered: no empty part
    assert next_part == writer.parts_written + 1


async def test_compact_merges_earlier_and_new_parts_into_one_object(tmp_path: Path) -> None:
    prefix = str(tmp_path / "checkpoint")
    storage.write_text(f"{prefix}/part-000001.jsonl", json.dumps(answered(question("old")).to_json()) + "\n")
    earlier = load_checkpoint(prefix)
    writer = CheckpointWriter(prefix, earlier.next_part, None, lambda uri: CheckpointProgress(uri, 0, 0, 3))
    for index in range(3):
        await writer.save(answered(question(f"q{index}")))
    await writer.compact(earlier)
    assert storage.list_uris(prefix + "/") == [f"{prefix}/part-000005.jsonl"]
    assert sorted(load_checkpoint(prefix).records) == ["old", "q0", "q1", "q2"]


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
