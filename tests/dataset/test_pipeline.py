"""refresh_dataset + export_dataset end to end on local paths: files, manifest, fingerprint, limits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from gemini_qa_tuning import storage
from gemini_qa_tuning.dataset import (
    DatasetError,
    DatasetLimitError,
    DatasetSettings,
    RejectShareExceededError,
    check_reject_share,
    export_dataset,
    export_refreshed,
    refresh_dataset,
    refresh_examples,
)
from gemini_qa_tuning.dataset import export as export_module
from gemini_qa_tuning.dataset import pipeline as pipeline_module
from gemini_qa_tuning.dataset.results import DatasetCounts, DatasetSource, RefreshedDataset
from gemini_qa_tuning.gemini_format import parse_tuning_line
from gemini_qa_tuning.prompt import DEFAULT_PROMPT_TEMPLATE, PromptTemplate
from gemini_qa_tuning.text import normalize_answer


def read_jsonl(uri: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(uri).read_text(encoding="utf-8").splitlines()]


def titles(records: list[dict[str, Any]]) -> set[str]:
    return {record["title"] for record in records}


SAMPLE_REJECTS_BY_REASON = {"answer_not_in_context": 1, "empty_field": 1, "missing_field": 1, "wrong_type": 1}


def test_sample_refresh_and_export_produce_leak_free_gemini_files(tmp_path: Path) -> None:
    summary = refresh_dataset(DatasetSettings(source_kind="sample"), str(tmp_path / "staging"))
    assert type(summary).from_json(json.loads(json.dumps(summary.to_json()))) == summary  # an XCom value is JSON
    train = read_jsonl(summary.train_examples_uri)
    validation = read_jsonl(summary.validation_examples_uri)
    test = read_jsonl(summary.test_examples_uri)
    assert titles(train) and titles(validation) and titles(test)
    assert not titles(train) & titles(test) and not titles(validation) & titles(test)
    assert not titles(train) & titles(validation)
    # The sample's deliberately flawed questions (see sample_data/README.md): one reject per reason, two repeats.
    assert summary.rejects_by_reason == SAMPLE_REJECTS_BY_REASON
    assert summary.counts.rejected == 4 and summary.duplicates_dropped == 2
    assert summary.reject_share == pytest.approx(4 / 1266, abs=1e-6)
    assert summary.counts.train + summary.counts.validation + summary.counts.test == 1260

    exported = export_dataset(summary, str(tmp_path / "datasets"))
    assert type(exported).from_json(json.loads(json.dumps(exported.to_json()))) == exported
    assert exported.dataset_uri == str(tmp_path / "datasets" / exported.fingerprint)
    assert len(exported.fingerprint) == 32
    assert exported.objects_written == 5
    assert exported.counts.train == len(train)

    # Tuning lines: the prompt is the template's, the target the normalized first answer.
    by_id = {record["id"]: record for record in train}
    lines = Path(exported.train_uri).read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(train)
    for line, record in zip(lines, train, strict=True):
        prompt, answer = parse_tuning_line(line)
        assert DEFAULT_PROMPT_TEMPLATE.parse(prompt) == (record["context"], record["question"])
        assert answer == normalize_answer(by_id[record["id"]]["answers"][0])

    test_lines = read_jsonl(exported.test_uri)
    assert [line["id"] for line in test_lines] == [record["id"] for record in test]
    assert set(test_lines[0]) == {"id", "title", "question", "prompt", "answers"}
    assert test_lines[0]["answers"] == test[0]["answers"]  # all references, raw case

    manifest = json.loads(Path(exported.manifest_uri).read_text())
    assert manifest["fingerprint"] == exported.fingerprint
    assert manifest["template"] == DEFAULT_PROMPT_TEMPLATE.to_dict()
    assert manifest["counts"]["test"] == len(test)
    assert manifest["token_estimates"]["estimator"] == "ceil(characters / 4)"
    assert manifest["training_tokens"] == exported.training_tokens > 0
    assert manifest["files"]["train.jsonl"]["bytes"] == Path(exported.train_uri).stat().st_size
    assert "packaged sample" in manifest["source"]["description"]
    assert manifest["rejects_by_reason"] == SAMPLE_REJECTS_BY_REASON and manifest["duplicates_dropped"] == 2
    rejects = read_jsonl(exported.rejects_uri)
    assert sorted(reject["reason"] for reject in rejects) == sorted(SAMPLE_REJECTS_BY_REASON)
    assert all(reject["detail"] and reject["where"] and reject["record"] for reject in rejects)
    assert manifest["files"]["rejects.jsonl"]["examples"] == 4


def test_same_input_gives_the_same_bytes_and_fingerprint_anywhere(tmp_path: Path) -> None:
    first = export_dataset(refresh_dataset(DatasetSettings(), str(tmp_path / "s1")), str(tmp_path / "d1"))
    second = export_dataset(refresh_dataset(DatasetSettings(), str(tmp_path / "s2")), str(tmp_path / "d2"))
    assert first.fingerprint == second.fingerprint
    for name in ("train.jsonl", "validation.jsonl", "test.jsonl", "rejects.jsonl", "manifest.json"):
        assert (Path(first.dataset_uri) / name).read_bytes() == (Path(second.dataset_uri) / name).read_bytes()


def test_the_dataset_does_not_depend_on_the_process_hash_seed(tmp_path: Path) -> None:
    # Set iteration order changes with PYTHONHASHSEED; none of it may leak into files or the fingerprint.
    script = (
        "import sys\n"
        "from gemini_qa_tuning.dataset import DatasetSettings, export_refreshed, refresh_examples\n"
        "print(export_refreshed(refresh_examples(DatasetSettings()), sys.argv[1]).dataset_uri)\n"
    )
    folders = []
    for hash_seed in ("1", "2"):
        completed = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / hash_seed)],
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            capture_output=True,
            text=True,
            check=True,
        )
        folders.append(Path(completed.stdout.strip()))
    assert folders[0].name == folders[1].name  # the fingerprint
    for name in ("train.jsonl", "validation.jsonl", "test.jsonl", "rejects.jsonl", "manifest.json"):
        assert (folders[0] / name).read_bytes() == (folders[1] / name).read_bytes(), name


def test_an_interrupted_export_leaves_no_manifest_and_a_rerun_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = refresh_examples(DatasetSettings())
    put_file_if_changed = storage.put_file_if_changed

    # The split files are rendered to local files and put from there (they may be ~1 GB).
    def upload_failing_at_test_jsonl(uri: str, path: Path, **kwargs: Any) -> bool:
        if uri.endswith("/test.jsonl"):
            raise ConnectionError("connection reset while uploading test.jsonl")
        return put_file_if_changed(uri, path, **kwargs)

    monkeypatch.setattr(storage, "put_file_if_changed", upload_failing_at_test_jsonl)
    with pytest.raises(ConnectionError):
        export_refreshed(result, str(tmp_path / "datasets"))
    monkeypatch.undo()
    (folder,) = (tmp_path / "datasets").iterdir()
    # The manifest is written last: a folder without one is an export that did not finish.
    assert sorted(path.name for path in folder.iterdir()) == ["train.jsonl", "validation.jsonl"]

    exported = export_refreshed(result, str(tmp_path / "datasets"))
    assert exported.dataset_uri == str(folder)
    assert exported.objects_written == 3  # test.jsonl, rejects.jsonl, manifest.json; the rest was complete


def test_re_export_writes_nothing_and_returns_the_same_uris(tmp_path: Path) -> None:
    summary = refresh_dataset(DatasetSettings(), str(tmp_path / "staging"))
    first = export_dataset(summary, str(tmp_path / "datasets"))
    again = export_dataset(summary, str(tmp_path / "datasets"))
    assert again.objects_written == 0
    assert replace(again, objects_written=first.objects_written) == first


def test_staged_and_in_memory_paths_export_the_same_dataset(tmp_path: Path) -> None:
    staged = export_dataset(refresh_dataset(DatasetSettings(seed=3), str(tmp_path / "staging")), str(tmp_path / "a"))
    in_memory = export_refreshed(refresh_examples(DatasetSettings(seed=3)), str(tmp_path / "b"))
    assert staged.fingerprint == in_memory.fingerprint


def test_template_and_seed_change_the_fingerprint(tmp_path: Path) -> None:
    base = export_refreshed(refresh_examples(DatasetSettings()), str(tmp_path / "a")).fingerprint
    other_template = PromptTemplate("squad-span-v1-terse", "Context: {context}\nQuestion: {question}")
    with_template = export_refreshed(
        refresh_examples(DatasetSettings(), other_template), str(tmp_path / "b"), other_template
    )
    reseeded = export_refreshed(refresh_examples(DatasetSettings(seed=99)), str(tmp_path / "c")).fingerprint
    assert len({base, with_template.fingerprint, reseeded}) == 3
    assert json.loads(Path(with_template.manifest_uri).read_text())["template"]["version"] == "squad-span-v1-terse"


def test_export_refuses_a_template_other_than_the_refresh_checked(tmp_path: Path) -> None:
    summary = refresh_dataset(DatasetSettings(), str(tmp_path / "staging"))
    with pytest.raises(DatasetError, match="pass the same template to both steps"):
        export_dataset(summary, str(tmp_path / "datasets"), PromptTemplate("other", "{context} / {question}"))


def test_sizes_are_params_sampled_deterministically(tmp_path: Path) -> None:
    params = {"max_train_examples": 50, "max_validation_examples": 10, "max_test_examples": 20, "seed": 1}
    small = refresh_examples(DatasetSettings(**params))
    assert [len(small.splits.train), len(small.splits.validation), len(small.splits.test)] == [50, 10, 20]
    assert small.refreshed.counts.available_train > 50
    full = refresh_examples(DatasetSettings(seed=1))
    assert small.splits.train == full.splits.train[:50]  # a sample is a prefix of the seeded order


def test_cost_estimate_goes_into_the_manifest(tmp_path: Path) -> None:
    exported = export_refreshed(
        refresh_examples(DatasetSettings()), str(tmp_path / "d"), epochs=4, price_per_million_tokens=3.0
    )
    manifest = json.loads(Path(exported.manifest_uri).read_text())
    assert manifest["cost_estimate"] == exported.cost_estimate.to_json()
    assert exported.cost_estimate.estimated_cost == pytest.approx(exported.training_tokens * 4 * 3.0 / 1e6)


def _bad_source(write_jsonl: Callable, bad: int, good: int = 40) -> str:
    records: list[Any] = []
    for index in range(good):
        context = f"Article {index % 8} says the answer is Value{index}."
        records.append(
            {
                "id": f"g{index}",
                "title": f"A{index % 8}",
                "context": context,
                "question": f"Q{index}?",
                "answers": [f"Value{index}"],
            }
        )
    records += ["{not json"] * bad
    return write_jsonl("source.jsonl", records)


def test_too_many_rejects_fail_after_the_rejects_are_written(tmp_path: Path, write_jsonl: Callable) -> None:
    uri = _bad_source(write_jsonl, bad=3)
    with pytest.raises(RejectShareExceededError, match=r"3 of 43 records \(6\.98%\).*invalid_json.*rejects\.jsonl"):
        refresh_dataset(DatasetSettings(source_kind="jsonl", source_uri=uri), str(tmp_path / "staging"))
    rejects = read_jsonl(str(tmp_path / "staging" / "rejects.jsonl"))
    assert [reject["reason"] for reject in rejects] == ["invalid_json"] * 3
    # The same data passes with a looser limit, and the rejects travel into the dataset folder.
    summary = refresh_dataset(
        DatasetSettings(source_kind="jsonl", source_uri=uri, max_reject_share=0.1), str(tmp_path / "staging")
    )
    exported = export_dataset(summary, str(tmp_path / "datasets"))
    assert exported.rejects_by_reason == {"invalid_json": 3}
    assert len(read_jsonl(exported.rejects_uri)) == 3


def test_held_out_source_becomes_test_and_its_articles_leave_train(
    tmp_path: Path, write_json: Callable, make_article: Callable, make_squad: Callable
) -> None:
    train_uri = write_json(
        "train.json", make_squad(*(make_article(f"Train{i}", 2, 3) for i in range(6)), make_article("Shared", 1, 2))
    )
    test_uri = write_json(
        "dev.json", make_squad(make_article("Shared", 1, 2, prefix="dev-"), make_article("Dev", 1, 3))
    )
    result = refresh_examples(
        DatasetSettings(
            source_kind="squad_json", source_uri=train_uri, test_source_uri=test_uri, validation_fraction=0.2
        )
    )
    test_titles = {e.title for e in result.splits.test}
    assert test_titles == {"Shared", "Dev"}
    assert not test_titles & {e.title for e in result.splits.train + result.splits.validation}
    assert result.refreshed.counts.leakage_dropped == 2
    assert result.splits.validation and result.splits.train


def test_no_validation_examples_means_no_validation_file(tmp_path: Path) -> None:
    exported = export_refreshed(refresh_examples(DatasetSettings(validation_fraction=0)), str(tmp_path / "d"))
    assert exported.validation_uri is None
    assert not (Path(exported.dataset_uri) / "validation.jsonl").exists()


def test_vertex_training_limits_fail_early(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(pipeline_module, "VERTEX_MAX_TRAINING_EXAMPLES", 100)
    with pytest.raises(DatasetLimitError, match="set max_train_examples to at most 100"):
        refresh_examples(DatasetSettings())
    monkeypatch.setattr(pipeline_module, "VERTEX_MAX_TRAINING_EXAMPLES", 10**6)
    monkeypatch.setattr(pipeline_module, "VERTEX_MAX_TRAINING_BYTES", 10_000)
    with pytest.raises(DatasetLimitError, match="1 GB limit"):
        refresh_examples(DatasetSettings())
    monkeypatch.setattr(export_module, "VERTEX_MAX_TRAINING_BYTES", 10_000)
    result = refresh_examples(DatasetSettings(max_train_examples=5))
    with pytest.raises(DatasetLimitError, match="Lower max_train_examples"):
        export_refreshed(
            type(result)(
                splits=type(result.splits)(result.splits.train * 10, [], []), rejects=[], refreshed=result.refreshed
            ),
            str(tmp_path / "d"),
        )
    assert not (tmp_path / "d").exists()  # nothing written


def test_nothing_left_to_train_on_is_a_clear_error(tmp_path: Path, write_jsonl: Callable) -> None:
    uri = write_jsonl("one.jsonl", [{"id": "1", "title": "T", "context": "abc", "question": "q", "answers": ["zzz"]}])
    params = {"source_kind": "jsonl", "source_uri": uri, "max_reject_share": 1}
    with pytest.raises(DatasetLimitError, match=r"No training examples .*answer_not_in_context.*rejects\.jsonl"):
        refresh_dataset(DatasetSettings(**params), str(tmp_path / "staging"))
    assert read_jsonl(str(tmp_path / "staging" / "rejects.jsonl"))[0]["reason"] == "answer_not_in_context"
    with pytest.raises(DatasetLimitError, match="No training examples"):
        export_refreshed(refresh_examples(DatasetSettings(**params)), str(tmp_path / "d"))


def test_prompt_limit_setting_rejects_long_examples() -> None:
    result = refresh_examples(DatasetSettings(max_prompt_tokens=190, max_reject_share=1))
    by_reason = result.refreshed.rejects_by_reason
    assert by_reason["prompt_too_long"] > 0
    assert {reason: count for reason, count in by_reason.items() if reason != "prompt_too_long"} == (
        SAMPLE_REJECTS_BY_REASON
    )
    assert result.refreshed.counts.rejected == len(result.rejects) == sum(by_reason.values())
    too_long = [reject.detail for reject in result.rejects if reject.reason == "prompt_too_long"]
    assert all("tokens estimated as ceil(characters / 4)" in detail for detail in too_long)
    assert result.splits.train


def _refreshed(rejected: int, records_read: int, unanswerable: int, limit: float) -> RefreshedDataset:
    considered = records_read - unanswerable
    return RefreshedDataset(
        source=DatasetSource(kind="jsonl", uri="source.jsonl", test_source=None, description="test source"),
        settings=DatasetSettings(),
        template={},
        counts=DatasetCounts(
            records_read=records_read,
            unanswerable_skipped=unanswerable,
            rejected=rejected,
            duplicates_dropped=0,
            leakage_dropped=0,
            available_train=0,
            available_validation=0,
            available_test=0,
            train=0,
            validation=0,
            test=0,
        ),
        rejects_by_reason={"wrong_type": rejected} if rejected else {},
        reject_share=round(rejected / considered, 6) if considered else 0.0,
        max_reject_share=limit,
    )


@pytest.mark.parametrize(
    ("rejected", "records_read", "unanswerable", "limit", "fails"),
    [
        (1, 20, 0, 0.05, False),  # exactly at the limit passes
        (2, 20, 0, 0.05, True),
        (29, 100, 0, 0.29, False),  # 0.29 * 100 is 28.999... in floating point; still exactly at the limit
        (1_000_001, 20_000_000, 0, 0.05, True),  # over by a hair: the summary's rounded share equals the limit
        (2, 40, 20, 0.05, True),  # unanswerable questions skipped are not part of the share: 2 of 20
        (0, 0, 0, 0.0, False),
    ],
)
def test_reject_share_limit_is_exact(
    rejected: int, records_read: int, unanswerable: int, limit: float, fails: bool
) -> None:
    summary = _refreshed(rejected, records_read, unanswerable, limit)
    if fails:
        with pytest.raises(RejectShareExceededError, match=rf"{rejected:,} of {records_read - unanswerable:,} records"):
            check_reject_share(summary)
    else:
        check_reject_share(summary)


def test_unanswerable_v2_questions_are_skipped_and_counted_not_rejected(
    tmp_path: Path, write_json: Callable, make_article: Callable, make_squad: Callable
) -> None:
    document = make_squad(*(make_article(f"A{i}", 2, 3) for i in range(5)), version="v2.0")
    for article in document["data"]:
        for index, paragraph in enumerate(article["paragraphs"]):
            paragraph["qas"].append(
                {
                    "id": f"{article['title']}-{index}-impossible",
                    "question": f"What is the name of the dragon in paragraph {index} of {article['title']}?",
                    "answers": [],
                    "plausible_answers": [{"text": "Value0x0", "answer_start": 0}],
                    "is_impossible": True,
                }
            )
    # 10 of 40 records are unanswerable: far over max_reject_share, were they counted as rejects.
    summary = refresh_dataset(
        DatasetSettings(source_kind="squad_json", source_uri=write_json("v2.json", document)), str(tmp_path / "staging")
    )
    counts = summary.counts
    assert (counts.records_read, counts.unanswerable_skipped, counts.rejected) == (40, 10, 0)
    assert counts.train + counts.validation + counts.test == 30
    exported = export_dataset(summary, str(tmp_path / "datasets"))
    assert json.loads(Path(exported.manifest_uri).read_text())["counts"]["unanswerable_skipped"] == 10
    assert Path(exported.rejects_uri).read_bytes() == b""


def test_validation_is_capped_at_the_vertex_limit_and_the_rest_trains(monkeypatch: pytest.MonkeyPatch) -> None:
    params = {"validation_fraction": 0.4, "group_by": "context"}
    uncapped = refresh_examples(DatasetSettings(**params)).refreshed.counts
    monkeypatch.setattr(pipeline_module, "VERTEX_MAX_VALIDATION_EXAMPLES", 30)
    capped = refresh_examples(DatasetSettings(**params)).refreshed.counts
    assert capped.available_validation < 50 < uncapped.available_validation  # within a paragraph group of the cap
    assert capped.available_train == (
        uncapped.available_train + uncapped.available_validation - capped.available_validation
    )
    assert capped.available_test == uncapped.available_test


def test_beyond_vertex_limits_the_refresh_stops_before_writing_and_names_the_param_that_fits(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    available = refresh_examples(DatasetSettings()).refreshed.counts.train
    monkeypatch.setattr(pipeline_module, "VERTEX_MAX_TRAINING_EXAMPLES", 50)
    with pytest.raises(
        DatasetLimitError, match=r"exceed Vertex AI's limit of 50 examples per training file; set max_train_examples"
    ):
        refresh_dataset(DatasetSettings(), str(tmp_path / "staging"))
    assert not (tmp_path / "staging").exists()  # stopped before anything was staged
    assert refresh_examples(DatasetSettings(max_train_examples=50)).refreshed.counts.train == 50

    monkeypatch.setattr(pipeline_module, "VERTEX_MAX_TRAINING_EXAMPLES", 10**6)
    monkeypatch.setattr(pipeline_module, "VERTEX_MAX_TRAINING_BYTES", 30_000)
    with pytest.raises(DatasetLimitError, match=r"over Vertex AI's 1 GB limit .*lower max_train_examples") as caught:
        refresh_dataset(DatasetSettings(), str(tmp_path / "staging"))
    assert not (tmp_path / "staging").exists()
    fitting = int(str(caught.value).split("(about ")[1].split(" fit")[0].replace(",", ""))
    assert 0 < fitting < available
    assert refresh_examples(DatasetSettings(max_train_examples=fitting)).refreshed.counts.train == fitting
