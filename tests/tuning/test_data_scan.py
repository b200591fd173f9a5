"""The pre-launch check of the tuning files."""

from __future__ import annotations

import json
import re

import pytest

from gemini_qa_tuning.gemini_format import tuning_line
from gemini_qa_tuning.tuning import TrainingDataScan, files_fingerprint, scan_tuning_jsonl

TRAIN = "gs://bucket/datasets/abc/train.jsonl"


def test_scan_counts_examples_and_estimates_tokens_like_the_export() -> None:
    lines = [tuning_line("a" * 8, "bb"), "", tuning_line("c" * 5, "d")]
    scan = scan_tuning_jsonl(lines, TRAIN)
    assert scan.example_count == 2
    assert scan.estimated_tokens == 2 + 1 + 2 + 1
    assert scan_tuning_jsonl(lines, TRAIN).sha256 == scan.sha256
    other = scan_tuning_jsonl([tuning_line("x", "y")], TRAIN)
    assert files_fingerprint(scan, None) != files_fingerprint(scan, other) != files_fingerprint(other, scan)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (['{"contents": '], "line 1 is not a Gemini tuning record"),
        ([tuning_line("a", "b"), '{"text": "x"}'], "line 2 is not a Gemini tuning record"),
        (["", "  "], "holds no examples"),
    ],
)
def test_scan_rejects_malformed_files(lines: list[str], expected: str) -> None:
    with pytest.raises(ValueError, match=re.escape(expected)):
        scan_tuning_jsonl(lines, TRAIN)


def test_scan_round_trips_through_json() -> None:
    scan = scan_tuning_jsonl([tuning_line("q", "a")], TRAIN)
    assert TrainingDataScan.from_json(json.loads(json.dumps(scan.to_json()))) == scan
    with pytest.raises(ValueError, match="training data scan: field 'sha256' is missing"):
        TrainingDataScan.from_json({"uri": TRAIN, "example_count": 1, "estimated_tokens": 2})
