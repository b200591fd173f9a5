"""Fault suite, dataset stage: malformed and mistyped sources (see README.md in this folder).

Each scenario runs the refresh as the DAG's first task does (``refresh_dataset`` into a staging folder)
and, when the refresh lets the data through, the export; and asserts three things: the step ends as it
should (which error, or success with the bad records set aside), the message names the cause (and no
setting unrelated to it), and nothing is written that a later step could pay for — no dataset objects,
and for a source that cannot be read at all, nothing staged either.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gemini_qa_tuning.dataset import (
    DatasetError,
    DatasetLimitError,
    DatasetSettings,
    RejectShareExceededError,
    SourceError,
    export_dataset,
    refresh_dataset,
)

# Settings a source problem has nothing to do with: a message that names them sends the user the wrong way.
UNRELATED_SETTINGS = ("validation_fraction", "test_fraction", "group_by", "max_train_examples")


@dataclass(frozen=True)
class Outcome:
    error: DatasetError | None
    staging: Path
    datasets: Path

    def written(self, folder: Path) -> list[str]:
        return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def run_refresh_then_export(tmp_path: Path, kind: str, uri: str) -> Outcome:
    staging, datasets = tmp_path / "staging", tmp_path / "datasets"
    try:
        refreshed = refresh_dataset(DatasetSettings(source_kind=kind, source_uri=uri), str(staging))
        export_dataset(refreshed, str(datasets))
    except DatasetError as error:
        return Outcome(error, staging, datasets)
    return Outcome(None, staging, datasets)


def assert_refused_before_anything_is_written(outcome: Outcome, error_type: type, *phrases: str) -> str:
    assert isinstance(outcome.error, error_type), f"expected {error_type.__name__}, got {outcome.error!r}"
    message = str(outcome.error)
    for phrase in phrases:
        assert phrase in message, f"{phrase!r} not in: {message}"
    for setting in UNRELATED_SETTINGS:
        assert setting not in message, f"the message sends the user to {setting}: {message}"
    assert not outcome.staging.exists(), f"staged although unreadable: {outcome.written(outcome.staging)}"
    assert not outcome.datasets.exists(), "dataset objects written for a source that cannot be tuned on"
    return message


def good_squad(make_squad: Callable[..., dict[str, Any]], make_article: Callable[..., dict[str, Any]]) -> dict:
    return make_squad(*(make_article(f"Article{i}", 2, 3) for i in range(6)))


def good_records(make_squad: Callable, make_article: Callable) -> list[dict[str, Any]]:
    records = []
    for article in good_squad(make_squad, make_article)["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                records.append(
                    {
                        "id": qa["id"],
                        "title": article["title"],
                        "context": paragraph["context"],
                        "question": qa["question"],
                        "answers": [answer["text"] for answer in qa["answers"]],
                    }
                )
    return records


# --------------------------------------------------------------------------- refused before anything is written
@pytest.mark.parametrize(("kind", "name"), [("squad_json", "empty.json"), ("jsonl", "empty.jsonl")])
@pytest.mark.parametrize("content", [b"", b"\n \n"], ids=["0-bytes", "blank-lines"])
def test_an_empty_source_says_it_is_empty(tmp_path: Path, kind: str, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    outcome = run_refresh_then_export(tmp_path, kind, str(path))
    assert_refused_before_anything_is_written(outcome, SourceError, str(path), "is empty")


def test_a_source_of_only_unanswerable_questions_says_so_with_the_count(
    tmp_path: Path, write_json: Callable, make_squad: Callable, make_article: Callable
) -> None:
    document = good_squad(make_squad, make_article)
    document["version"] = "v2.0"
    for article in document["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                qa.update(answers=[], plausible_answers=qa["answers"], is_impossible=True)
    outcome = run_refresh_then_export(tmp_path, "squad_json", write_json("v2.json", document))
    assert_refused_before_anything_is_written(outcome, SourceError, "All 36 questions", "unanswerable")


def test_a_pretty_printed_squad_file_given_as_jsonl_names_the_right_kind(
    tmp_path: Path, make_squad: Callable, make_article: Callable
) -> None:
    path = tmp_path / "train.json"
    path.write_text(json.dumps(good_squad(make_squad, make_article), indent=2))
    outcome = run_refresh_then_export(tmp_path, "jsonl", str(path))
    assert_refused_before_anything_is_written(
        outcome, SourceError, str(path), "this looks like a SQuAD JSON file: use source_kind='squad_json'"
    )


def test_a_jsonl_file_given_as_squad_json_names_the_right_kind(
    tmp_path: Path, write_jsonl: Callable, make_squad: Callable, make_article: Callable
) -> None:
    uri = write_jsonl("train.jsonl", good_records(make_squad, make_article))
    outcome = run_refresh_then_export(tmp_path, "squad_json", uri)
    assert_refused_before_anything_is_written(outcome, SourceError, uri, "use source_kind='jsonl'")


def test_a_truncated_squad_file_says_it_looks_truncated(
    tmp_path: Path, make_squad: Callable, make_article: Callable
) -> None:
    path = tmp_path / "cut.json"
    data = json.dumps(good_squad(make_squad, make_article), indent=1).encode()
    path.write_bytes(data[: len(data) // 2])
    outcome = run_refresh_then_export(tmp_path, "squad_json", str(path))
    assert_refused_before_anything_is_written(outcome, SourceError, str(path), "truncated")


def test_a_squad_file_that_is_not_utf8_names_the_encoding(
    tmp_path: Path, make_squad: Callable, make_article: Callable
) -> None:
    document = good_squad(make_squad, make_article)
    document["data"][0]["title"] = "Café"
    path = tmp_path / "latin1.json"
    path.write_bytes(json.dumps(document, ensure_ascii=False).encode("latin-1"))
    outcome = run_refresh_then_export(tmp_path, "squad_json", str(path))
    assert_refused_before_anything_is_written(outcome, SourceError, str(path), "is not UTF-8 text (byte 0xe9")


# --------------------------------------------------------------------------- bad records: set aside, not fatal
def test_a_jsonl_file_cut_mid_line_loses_only_that_line(
    tmp_path: Path, make_squad: Callable, make_article: Callable
) -> None:
    lines = [json.dumps(record) for record in good_records(make_squad, make_article)]
    path = tmp_path / "cut.jsonl"
    path.write_text("\n".join(lines)[:-25], encoding="utf-8")  # the last record is cut off
    outcome = run_refresh_then_export(tmp_path, "jsonl", str(path))
    assert outcome.error is None
    (reject,) = [json.loads(line) for line in (outcome.staging / "rejects.jsonl").read_text().splitlines()]
    assert reject["reason"] == "invalid_json" and reject["where"].endswith(f"line {len(lines)}")
    manifests = list(outcome.datasets.rglob("manifest.json"))
    assert len(manifests) == 1 and json.loads(manifests[0].read_text())["counts"]["train"] > 0


def test_a_jsonl_file_of_non_utf8_lines_fails_on_the_reject_share_after_keeping_the_rejects(
    tmp_path: Path, make_squad: Callable, make_article: Callable
) -> None:
    records = good_records(make_squad, make_article)
    for record in records:
        record["title"] += " Café"
    path = tmp_path / "latin1.jsonl"
    path.write_bytes("\n".join(json.dumps(record, ensure_ascii=False) for record in records).encode("latin-1"))
    outcome = run_refresh_then_export(tmp_path, "jsonl", str(path))
    assert isinstance(outcome.error, RejectShareExceededError), outcome.error
    assert "invalid_json" in str(outcome.error) and "rejects.jsonl" in str(outcome.error)
    rejects = [json.loads(line) for line in (outcome.staging / "rejects.jsonl").read_text().splitlines()]
    assert len(rejects) == len(records) and all("utf-8" in reject["detail"] for reject in rejects)
    assert not outcome.datasets.exists(), "dataset objects written although the refresh failed"


# --------------------------------------------------------------------------- nothing left to train on: which step
def test_every_record_rejected_points_at_the_rejects_not_the_split(tmp_path: Path, write_jsonl: Callable) -> None:
    records = [
        {"id": str(i), "title": "T", "context": "abc", "question": f"q{i}", "answers": ["zzz"]} for i in range(3)
    ]
    staging = tmp_path / "staging"
    with pytest.raises(DatasetLimitError) as raised:
        refresh_dataset(
            DatasetSettings(source_kind="jsonl", source_uri=write_jsonl("bad.jsonl", records), max_reject_share=1),
            str(staging),
        )
    message = str(raised.value)
    assert "every record was rejected" in message and "answer_not_in_context" in message
    assert str(staging / "rejects.jsonl") in message
    assert not any(setting in message for setting in UNRELATED_SETTINGS), message


def test_a_held_out_source_that_covers_every_article_says_so(
    tmp_path: Path, write_json: Callable, make_squad: Callable, make_article: Callable
) -> None:
    train = write_json("train.json", make_squad(make_article("Shared", 2, 3)))
    test = write_json("test.json", make_squad(make_article("Shared", 1, 2, prefix="dev-")))
    settings = DatasetSettings(source_kind="squad_json", source_uri=train, test_source_uri=test)
    with pytest.raises(DatasetLimitError, match="share a title or context with the held-out test source") as raised:
        refresh_dataset(settings, str(tmp_path / "staging"))
    assert "test_source_uri" in str(raised.value)
    assert not any(setting in str(raised.value) for setting in UNRELATED_SETTINGS), raised.value
    assert not (tmp_path / "datasets").exists()


def test_a_split_that_leaves_train_empty_names_the_fractions(
    tmp_path: Path, write_json: Callable, make_squad: Callable, make_article: Callable
) -> None:
    # One article is one group: with test_fraction 0.6 its middle falls in test, and train keeps nothing.
    uri = write_json("one.json", make_squad(make_article("Only", 2, 3)))
    settings = DatasetSettings(source_kind="squad_json", source_uri=uri, test_fraction=0.6, validation_fraction=0)
    with pytest.raises(DatasetLimitError, match=r"the split gave all 6 examples to validation / test") as raised:
        refresh_dataset(settings, str(tmp_path / "staging"))
    assert "test_fraction" in str(raised.value)


# --------------------------------------------------------------------------- more sources a user meets
@pytest.mark.integration
def test_a_gcs_folder_given_as_a_file_source_says_it_is_not_a_file(
    tmp_path: Path, gcs_bucket_uri: str, make_squad: Callable, make_article: Callable
) -> None:
    """``gs://bucket/squad/`` (a folder of files) where one file is expected: there is no object by that name."""
    from gemini_qa_tuning import storage

    folder = f"{gcs_bucket_uri}/squad"
    storage.write_text(f"{folder}/train.json", json.dumps(good_squad(make_squad, make_article)))
    for uri in (folder, f"{folder}/"):
        outcome = run_refresh_then_export(tmp_path, "squad_json", uri)
        assert_refused_before_anything_is_written(outcome, SourceError, uri, "is not a file", "source_uri")


def save_hf_dataset(folder: Path, splits: dict[str, list[dict[str, Any]]]) -> str:
    import datasets

    features = datasets.Features(
        {
            "id": datasets.Value("string"),
            "title": datasets.Value("string"),
            "context": datasets.Value("string"),
            "question": datasets.Value("string"),
            "answers": {
                "text": datasets.Sequence(datasets.Value("string")),
                "answer_start": datasets.Sequence(datasets.Value("int32")),
            },
        }
    )

    def columns(records: list[dict[str, Any]]) -> dict[str, list[Any]]:
        # Column lists, not from_list: an empty split must still carry the columns (a 0-row table).
        answers = [{"text": r["answers"], "answer_start": [0] * len(r["answers"])} for r in records]
        return {name: [r[name] for r in records] for name in features if name != "answers"} | {"answers": answers}

    datasets.DatasetDict(
        {name: datasets.Dataset.from_dict(columns(records), features=features) for name, records in splits.items()}
    ).save_to_disk(str(folder))
    return str(folder)


def test_a_saved_hugging_face_dataset_of_no_rows_says_it_is_empty(tmp_path: Path) -> None:
    """One saved Dataset (not a DatasetDict) without rows: used as split train, which is empty."""
    import datasets

    string = datasets.Value("string")
    features = datasets.Features(
        {"id": string, "title": string, "context": string, "question": string, "answers": {"text": [string]}}
    )
    datasets.Dataset.from_dict({name: [] for name in features}, features=features).save_to_disk(str(tmp_path / "one"))
    settings_uri = str(tmp_path / "one")
    staging = tmp_path / "staging"
    with pytest.raises(SourceError) as raised:
        refresh_dataset(
            DatasetSettings(source_kind="huggingface", source_uri=settings_uri, test_source_uri="none"), str(staging)
        )
    message = str(raised.value)
    assert "split train is empty" in message and "source_uri" in message, message
    assert not staging.exists()


@pytest.mark.parametrize(("empty_split", "setting"), [("validation", "test_source_uri"), ("train", "source_uri")])
def test_a_saved_hugging_face_dataset_with_an_empty_split_names_the_split_and_its_setting(
    tmp_path: Path, make_squad: Callable, make_article: Callable, empty_split: str, setting: str
) -> None:
    records = good_records(make_squad, make_article)
    splits = {"train": records, "validation": records[:6]} | {empty_split: []}
    uri = save_hf_dataset(tmp_path / "saved", splits)
    outcome = run_refresh_then_export(tmp_path, "huggingface", uri)
    assert_refused_before_anything_is_written(outcome, SourceError, f"split {empty_split}", "is empty", setting)


def test_contexts_over_max_prompt_tokens_are_set_aside_and_named_with_the_limit(
    tmp_path: Path, write_jsonl: Callable, make_squad: Callable, make_article: Callable
) -> None:
    """A few huge contexts (over the default 131,072-token limit) are rejects; the rest is tuned on."""
    records = good_records(make_squad, make_article)
    huge = "word " * 110_000  # 550,000 characters: about 137,500 tokens at 4 characters a token
    giants = [
        {**record, "id": f"huge-{i}", "context": huge + record["context"]} for i, record in enumerate(records[:1])
    ]
    outcome = run_refresh_then_export(tmp_path, "jsonl", write_jsonl("huge.jsonl", records + giants))
    # 1 of 37 records is over the 5 % reject share? No: 2.7 %, so the refresh goes on without it.
    assert outcome.error is None, outcome.error
    (reject,) = [json.loads(line) for line in (outcome.staging / "rejects.jsonl").read_text().splitlines()]
    assert reject["reason"] == "prompt_too_long" and "over the limit of 131072" in reject["detail"], reject
    (manifest,) = outcome.datasets.rglob("manifest.json")
    counts = json.loads(manifest.read_text())["counts"]
    assert counts["train"] + counts["validation"] + counts["test"] == len(records)


def test_a_source_of_mostly_huge_contexts_fails_on_the_reject_share_naming_max_prompt_tokens(
    tmp_path: Path, write_jsonl: Callable, make_squad: Callable, make_article: Callable
) -> None:
    records = good_records(make_squad, make_article)
    huge = "word " * 1_000
    for record in records[: len(records) // 2]:
        record["context"] = huge + record["context"]
    staging, datasets = tmp_path / "staging", tmp_path / "datasets"
    settings = DatasetSettings(
        source_kind="jsonl", source_uri=write_jsonl("huge.jsonl", records), max_prompt_tokens=1_000
    )
    with pytest.raises(RejectShareExceededError) as raised:
        export_dataset(refresh_dataset(settings, str(staging)), str(datasets))
    message = str(raised.value)
    assert "prompt_too_long" in message and "18 examples are over max_prompt_tokens (1,000); raise it" in message, (
        message
    )
    assert (staging / "rejects.jsonl").exists() and not datasets.exists()
