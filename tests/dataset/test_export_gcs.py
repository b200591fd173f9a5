"""The dataset stage against the GCS emulator, and the real SQuAD sample end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gemini_qa_tuning import storage
from gemini_qa_tuning.dataset import DatasetSettings, export_dataset, refresh_dataset
from gemini_qa_tuning.gemini_format import parse_tuning_line
from gemini_qa_tuning.prompt import DEFAULT_PROMPT_TEMPLATE

pytestmark = pytest.mark.integration


def test_export_to_gcs_then_rerun_writes_nothing_new(gcs_bucket_uri: str) -> None:
    staging = storage.join_uri(gcs_bucket_uri, "runs", "r1", "staging")
    datasets_prefix = storage.join_uri(gcs_bucket_uri, "qa", "datasets")
    summary = refresh_dataset(DatasetSettings(source_kind="sample"), staging)
    assert storage.list_uris(staging) == sorted(
        storage.join_uri(staging, name)
        for name in ("train.examples.jsonl", "validation.examples.jsonl", "test.examples.jsonl", "rejects.jsonl")
    )
    first = export_dataset(summary, datasets_prefix)
    assert first.dataset_uri == f"{datasets_prefix}/{first.fingerprint}"
    assert first.train_uri.startswith("gs://") and first.objects_written == 5
    assert storage.list_uris(first.dataset_uri) == sorted(
        storage.join_uri(first.dataset_uri, name)
        for name in ("manifest.json", "rejects.jsonl", "test.jsonl", "train.jsonl", "validation.jsonl")
    )
    prompt, _ = parse_tuning_line(next(storage.iter_lines(first.train_uri)))
    assert prompt.startswith("Answer the question with the shortest span")

    # A second run (new staging area, same data) finds everything in place.
    rerun_summary = refresh_dataset(
        DatasetSettings(source_kind="sample"), storage.join_uri(gcs_bucket_uri, "runs", "r2", "staging")
    )
    again = export_dataset(rerun_summary, datasets_prefix)
    assert again.objects_written == 0
    for key in ("fingerprint", "dataset_uri", "train_uri", "validation_uri", "test_uri", "rejects_uri", "manifest_uri"):
        assert getattr(again, key) == getattr(first, key)
    manifest = json.loads(storage.read_text(first.manifest_uri))
    assert manifest["files"]["train.jsonl"]["bytes"] == len(storage.read_bytes(first.train_uri))
    # The sample's deliberately flawed questions travel into the dataset folder.
    assert manifest["duplicates_dropped"] == 2
    assert len(list(storage.iter_lines(first.rejects_uri))) == sum(manifest["rejects_by_reason"].values()) == 4


def test_real_squad_sample_goes_through_without_rejects(squad_sample_path: Path, gcs_bucket_uri: str) -> None:
    source_uri = storage.join_uri(gcs_bucket_uri, "sources", "squad-v2-dev-5-articles.json")
    storage.write_bytes(source_uri, squad_sample_path.read_bytes())
    summary = refresh_dataset(
        DatasetSettings(source_kind="squad_json", source_uri=source_uri, validation_fraction=0.2, test_fraction=0.2),
        storage.join_uri(gcs_bucket_uri, "staging"),
    )
    counts = summary.counts
    assert counts.records_read == 1407
    assert counts.unanswerable_skipped == 702
    assert counts.rejected == 0 and summary.rejects_by_reason == {}
    assert counts.train + counts.validation + counts.test + counts.duplicates_dropped == 705
    assert min(counts.train, counts.validation, counts.test) > 0

    exported = export_dataset(summary, storage.join_uri(gcs_bucket_uri, "datasets"))
    test_records = [json.loads(line) for line in storage.iter_lines(exported.test_uri)]
    train_contexts = {
        DEFAULT_PROMPT_TEMPLATE.parse(parse_tuning_line(line)[0])[0] for line in storage.iter_lines(exported.train_uri)
    }
    assert len(test_records) == counts.test
    assert all(len(record["answers"]) >= 1 for record in test_records)
    test_contexts = {DEFAULT_PROMPT_TEMPLATE.parse(record["prompt"])[0] for record in test_records}
    assert not test_contexts & train_contexts  # no test context was trained on
    assert {record["title"] for record in test_records}.isdisjoint(
        {json.loads(line)["title"] for line in storage.iter_lines(summary.train_examples_uri)}
    )
