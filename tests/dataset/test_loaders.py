"""Loaders: SQuAD JSON v1.1/v2.0, JSONL, Hugging Face (offline paths), the packaged sample, gs:// sources."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gemini_qa_tuning import storage
from gemini_qa_tuning.dataset import (
    DatasetSettings,
    QAExample,
    RejectReason,
    SourceError,
    load_huggingface,
    load_jsonl,
    load_sample,
    load_squad_json,
    refresh_examples,
)


# --------------------------------------------------------------------------- SQuAD JSON
def test_squad_v11_loads_every_question_with_all_answers(write_json: Callable, make_article, make_squad) -> None:
    uri = write_json("v11.json", make_squad(make_article("Alpha", paragraphs=2, questions=3)))
    loaded = load_squad_json(uri)
    assert loaded.records_read == 6 and len(loaded.examples) == 6 and not loaded.rejects
    first = loaded.examples[0]
    assert first == QAExample(
        id="Alpha-0-0",
        title="Alpha",
        context=first.context,
        question="What is fact0 in paragraph 0 of Alpha?",
        answers=("Value0x0", "is Value0x0"),
    )
    assert "version 1.1" in loaded.description


def test_squad_v20_skips_and_counts_unanswerable_questions(write_json: Callable) -> None:
    document = {
        "version": "v2.0",
        "data": [
            {
                "title": "Normans",
                "paragraphs": [
                    {
                        "context": "The Normans gave their name to Normandy,\n a region in France.",
                        "qas": [
                            {
                                "id": "a",
                                "question": "Where is  Normandy?",
                                "answers": [{"text": "France", "answer_start": 52}],
                                "is_impossible": False,
                            },
                            {
                                "id": "b",
                                "question": "Who gave Normandy to the Danes?",
                                "answers": [],
                                "plausible_answers": [{"text": "Normans", "answer_start": 4}],
                                "is_impossible": True,
                            },
                        ],
                    }
                ],
            }
        ],
    }
    loaded = load_squad_json(write_json("v20.json", document))
    assert loaded.records_read == 2 and loaded.unanswerable_skipped == 1 and not loaded.rejects
    (only,) = loaded.examples
    assert only.context == "The Normans gave their name to Normandy, a region in France."  # whitespace cleaned
    assert only.question == "Where is Normandy?"


def test_squad_malformed_parts_become_rejects_not_crashes(write_json: Callable, make_article) -> None:
    good = make_article("Good", paragraphs=1, questions=2)
    document = {
        "version": "1.1",
        "data": [
            good,
            "not an article",
            {"title": "NoParagraphs"},
            {"title": "BadParagraph", "paragraphs": [{"context": "x"}]},
            {"title": "BadQuestion", "paragraphs": [{"context": "x", "qas": [42]}]},
            {
                "title": "BadFields",
                "paragraphs": [{"context": "ctx", "qas": [{"id": "f", "question": 7, "answers": [{"text": "ctx"}]}]}],
            },
        ],
    }
    loaded = load_squad_json(write_json("mixed.json", document))
    assert len(loaded.examples) == 2
    reasons = [reject.reason for reject in loaded.rejects]
    assert reasons == [RejectReason.MALFORMED_STRUCTURE] * 4 + [RejectReason.WRONG_TYPE]
    assert loaded.rejects[0].where.endswith("data[1]")
    assert loaded.rejects[3].where.endswith("data[4].paragraphs[0].qas[0]")
    assert loaded.records_read == 7


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "not valid JSON"), ('{"version": "1.1"}', "not SQuAD"), ("[1, 2]", "not SQuAD")],
)
def test_an_unreadable_squad_file_fails_with_a_clear_message(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(SourceError, match=message):
        load_squad_json(str(path))


def test_a_missing_source_names_the_uri(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"missing\.json does not exist"):
        load_squad_json(str(tmp_path / "missing.json"))


# --------------------------------------------------------------------------- JSONL
def test_jsonl_loads_records_and_sets_bad_lines_aside(write_jsonl: Callable) -> None:
    good = {"id": "1", "title": "T", "context": "Line\u2028separator inside", "question": "Q?", "answers": ["Line"]}
    uri = write_jsonl(
        "data.jsonl",
        [good, "", "{broken", "[1, 2]", {"id": "2", "title": "T", "context": "c", "question": "q"}],
    )
    loaded = load_jsonl(uri)
    assert [example.id for example in loaded.examples] == ["1"]
    # U+2028 inside a JSON string is not a line break for JSONL; cleaning turns it into a space.
    assert loaded.examples[0].context == "Line separator inside"
    assert [(reject.reason, reject.where.rsplit(" ", 1)[-1]) for reject in loaded.rejects] == [
        (RejectReason.INVALID_JSON, "3"),
        (RejectReason.MALFORMED_STRUCTURE, "4"),
        (RejectReason.MISSING_FIELD, "5"),
    ]
    assert loaded.rejects[0].record == "{broken"
    assert loaded.records_read == 4  # the blank line is not a record


def test_a_squad_document_given_as_jsonl_says_which_source_kind_to_use(
    write_jsonl: Callable, make_article: Callable, make_squad: Callable
) -> None:
    loaded = load_jsonl(write_jsonl("squad.jsonl", [make_squad(make_article("Alpha", 1, 2))]))
    (reject,) = loaded.rejects
    assert reject.reason is RejectReason.MALFORMED_STRUCTURE
    assert "source_kind='squad_json'" in reject.detail
    assert reject.record == {"version": "1.1", "data": "…"}  # abridged: not the whole document again


# --------------------------------------------------------------------------- packaged sample
def test_the_packaged_sample_has_1260_good_questions_and_6_flawed_ones() -> None:
    loaded = load_sample()
    assert loaded.records_read == 1266 and loaded.unanswerable_skipped == 0
    # 5 hand-written articles and 28 villages of the gazetteer.
    assert len({example.title for example in loaded.examples}) == 33
    # The loader sets aside the three records whose fields are broken (the rest is the refresh's job).
    assert sorted((reject.reason, reject.where.split(": ")[-1].split(".")[0]) for reject in loaded.rejects) == [
        (RejectReason.EMPTY_FIELD, "data[1]"),
        (RejectReason.MISSING_FIELD, "data[2]"),
        (RejectReason.WRONG_TYPE, "data[3]"),
    ]
    well_formed = [example for example in loaded.examples if len(example.answers) >= 2]
    assert len(well_formed) == 1260
    assert all(len(example.answers) <= 4 for example in well_formed)
    assert all(answer in example.context for example in well_formed for answer in example.answers)
    # The flawed questions that do load: an answer not in its context, and two repeats of earlier questions.
    flawed = [example for example in loaded.examples if len(example.answers) == 1]
    assert [example.answers[0] in example.context for example in flawed] == [True, True, False]
    assert "packaged sample" in loaded.description and "/" not in loaded.description


def test_the_packaged_sample_is_what_its_generator_writes() -> None:
    from devtools.make_sample_data import build
    from gemini_qa_tuning.dataset import sample_data_path

    assert json.loads(sample_data_path().read_text(encoding="utf-8")) == build()


# --------------------------------------------------------------------------- Hugging Face
def _hf_rows(prefix: str, titles: list[str]) -> list[dict[str, Any]]:
    rows = []
    for title in titles:
        context = f"{title} was founded in 1{len(title)}00 by settlers."
        rows.append(
            {
                "id": f"{prefix}-{title}",
                "title": title,
                "context": context,
                "question": f"When was {title} founded?",
                "answers": {"text": [f"1{len(title)}00", f"in 1{len(title)}00"], "answer_start": [0, 0]},
            }
        )
    return rows


@pytest.fixture
def saved_squad_dict(tmp_path: Path) -> Path:
    import datasets

    train = _hf_rows("tr", ["Alpha", "Beta", "Gamma"])
    train.append({**train[0], "id": "tr-unanswerable", "answers": {"text": [], "answer_start": []}})
    folder = tmp_path / "squad-saved"
    datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_list(train),
            "validation": datasets.Dataset.from_list(_hf_rows("va", ["Delta"])),
        }
    ).save_to_disk(str(folder))
    return folder


def test_huggingface_saved_dataset_dict_loads_offline(saved_squad_dict: Path) -> None:
    train, validation = load_huggingface(str(saved_squad_dict), ["train", "validation"])
    assert [example.id for example in train.examples] == ["tr-Alpha", "tr-Beta", "tr-Gamma"]
    assert train.examples[0].answers == ("1500", "in 1500")
    assert train.unanswerable_skipped == 1 and train.records_read == 4
    assert [example.title for example in validation.examples] == ["Delta"]


def test_huggingface_missing_split_says_which_exist(saved_squad_dict: Path) -> None:
    with pytest.raises(SourceError, match=r"no split 'test' \(it has \['train', 'validation'\]\)"):
        load_huggingface(str(saved_squad_dict), ["train", "test"])


def test_huggingface_single_saved_dataset_is_the_train_split(tmp_path: Path) -> None:
    import datasets

    datasets.Dataset.from_list(_hf_rows("x", ["Alpha"])).save_to_disk(str(tmp_path / "one"))
    (train,) = load_huggingface(str(tmp_path / "one"), ["train"])
    assert len(train.examples) == 1
    with pytest.raises(SourceError, match="single saved Dataset"):
        load_huggingface(str(tmp_path / "one"), ["train", "validation"])


def test_huggingface_without_squad_columns_is_refused(tmp_path: Path) -> None:
    import datasets

    datasets.Dataset.from_list([{"text": "hello"}]).save_to_disk(str(tmp_path / "plain"))
    with pytest.raises(SourceError, match="lacks the SQuAD columns"):
        load_huggingface(str(tmp_path / "plain"), ["train"])


def test_huggingface_hub_name_goes_through_load_dataset(monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    calls: list[tuple[str, str]] = []

    def fake_load_dataset(name: str, split: str) -> Any:
        calls.append((name, split))
        return datasets.Dataset.from_list(_hf_rows(split, ["Alpha"]))

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    train, held_out = load_huggingface("rajpurkar/squad", ["train", "validation"])
    assert calls == [("rajpurkar/squad", "train"), ("rajpurkar/squad", "validation")]
    assert train.examples[0].id == "train-Alpha" and held_out.examples[0].id == "validation-Alpha"
    assert "rajpurkar/squad" in train.description


def test_huggingface_hub_failure_offline_explains_the_alternatives() -> None:
    # HF_HUB_OFFLINE=1 (tests/conftest.py): datasets cannot reach the Hub and must say so, not hang.
    with pytest.raises(SourceError, match="Offline, use a folder written by save_to_disk"):
        load_huggingface("rajpurkar/squad-does-not-exist-locally", ["train"])


# --------------------------------------------------------------------------- gs:// sources
@pytest.mark.integration
def test_every_loader_reads_gs_uris(
    gcs_bucket_uri: str, saved_squad_dict: Path, make_article: Callable, make_squad: Callable
) -> None:
    squad_uri = storage.join_uri(gcs_bucket_uri, "src", "train.json")
    storage.write_bytes(squad_uri, json.dumps(make_squad(make_article("Alpha", 1, 2))).encode())
    assert len(load_squad_json(squad_uri).examples) == 2

    jsonl_uri = storage.join_uri(gcs_bucket_uri, "src", "train.jsonl")
    record = {"id": "1", "title": "T", "context": "abc", "question": "q", "answers": ["abc"]}
    storage.write_bytes(jsonl_uri, (json.dumps(record) + "\n").encode())
    assert load_jsonl(jsonl_uri).examples[0].answers == ("abc",)

    saved_uri = storage.join_uri(gcs_bucket_uri, "hf", "squad")
    for path in saved_squad_dict.rglob("*"):
        if path.is_file():
            storage.write_bytes(storage.join_uri(saved_uri, str(path.relative_to(saved_squad_dict))), path.read_bytes())
    train, validation = load_huggingface(saved_uri, ["train", "validation"])
    assert len(train.examples) == 3 and len(validation.examples) == 1

    with pytest.raises(SourceError, match="does not exist"):
        load_squad_json(storage.join_uri(gcs_bucket_uri, "src", "missing.json"))
    with pytest.raises(SourceError, match="No objects under"):
        load_huggingface(storage.join_uri(gcs_bucket_uri, "hf", "missing"), ["train"])


# --------------------------------------------------------------------------- errors that name the real cause
def _refresh(kind: str, uri: str, **settings: Any) -> None:
    refresh_examples(DatasetSettings(source_kind=kind, source_uri=uri, **settings))


def _assert_names_only_the_cause(message: str) -> None:
    """A source problem has nothing to do with how the examples are split: the message must not say so."""
    for unrelated in ("validation_fraction", "test_fraction", "max_reject_share"):
        assert unrelated not in message, message


@pytest.mark.parametrize("content", [b"", b"  \n\n "])
def test_an_empty_squad_json_file_says_it_is_empty(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.json"
    path.write_bytes(content)
    with pytest.raises(SourceError, match=rf"SQuAD JSON source {path} is empty \({len(content)} bytes") as raised:
        _refresh("squad_json", str(path))
    _assert_names_only_the_cause(str(raised.value))


def test_a_squad_json_file_without_articles_says_it_is_empty(write_json: Callable) -> None:
    uri = write_json("no-articles.json", {"version": "1.1", "data": []})
    with pytest.raises(SourceError, match=rf"SQuAD JSON {uri} \(version 1.1\) is empty.*source_uri") as raised:
        _refresh("squad_json", uri)
    _assert_names_only_the_cause(str(raised.value))


@pytest.mark.parametrize("content", [b"", b"\n\n  \n"])
def test_an_empty_jsonl_file_says_it_is_empty(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(content)
    with pytest.raises(SourceError, match=rf"JSONL {path} is empty: it holds no records") as raised:
        _refresh("jsonl", str(path))
    _assert_names_only_the_cause(str(raised.value))


def test_an_empty_held_out_source_names_the_test_source_setting(
    tmp_path: Path, write_json: Callable, make_article: Callable, make_squad: Callable
) -> None:
    train = write_json("train.json", make_squad(make_article("Alpha", 2, 3)))
    (tmp_path / "dev.json").write_text(json.dumps({"version": "1.1", "data": []}))
    with pytest.raises(SourceError, match=r"dev\.json .*is empty.*test_source_uri"):
        _refresh("squad_json", train, test_source_uri=str(tmp_path / "dev.json"))


def test_a_squad_v2_file_of_only_unanswerable_questions_says_so_with_the_count(
    write_json: Callable, make_article: Callable, make_squad: Callable
) -> None:
    document = make_squad(make_article("Alpha", 2, 3), make_article("Beta", 1, 2), version="v2.0")
    for article in document["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                qa.update(answers=[], plausible_answers=qa["answers"], is_impossible=True)
    with pytest.raises(SourceError, match=r"All 8 questions of SQuAD JSON .* are unanswerable") as raised:
        _refresh("squad_json", write_json("v2.json", document))
    _assert_names_only_the_cause(str(raised.value))


def test_a_pretty_printed_squad_file_given_as_jsonl_says_to_use_squad_json(
    tmp_path: Path, make_article: Callable, make_squad: Callable
) -> None:
    path = tmp_path / "train.json"
    path.write_text(json.dumps(make_squad(make_article("Alpha", 2, 3)), indent=2))
    with pytest.raises(SourceError, match=r"looks like a SQuAD JSON file: use source_kind='squad_json'") as raised:
        _refresh("jsonl", str(path))
    assert str(path) in str(raised.value)
    _assert_names_only_the_cause(str(raised.value))


def test_a_one_line_squad_file_given_as_jsonl_says_to_use_squad_json(
    write_json: Callable, make_article: Callable, make_squad: Callable
) -> None:
    with pytest.raises(SourceError, match=r"use source_kind='squad_json'") as raised:
        _refresh("jsonl", write_json("train.json", make_squad(make_article("Alpha", 2, 3))))
    _assert_names_only_the_cause(str(raised.value))


@pytest.mark.parametrize("lines", [1, 3])
def test_a_jsonl_file_given_as_squad_json_says_to_use_jsonl(write_jsonl: Callable, lines: int) -> None:
    records = [
        {"id": str(i), "title": "T", "context": "Rollo led the Norse.", "question": f"Who {i}?", "answers": ["Rollo"]}
        for i in range(lines)
    ]
    uri = write_jsonl("train.jsonl", records)
    with pytest.raises(SourceError, match=r"looks like a JSONL file.*use source_kind='jsonl'") as raised:
        _refresh("squad_json", uri)
    assert uri in str(raised.value)
    _assert_names_only_the_cause(str(raised.value))


def test_a_truncated_squad_file_says_it_looks_truncated(
    tmp_path: Path, make_article: Callable, make_squad: Callable
) -> None:
    path = tmp_path / "cut.json"
    path.write_bytes(json.dumps(make_squad(make_article("Alpha", 2, 3)), indent=1).encode()[:-40])
    with pytest.raises(SourceError, match=rf"{path} ends before its JSON document does.*truncated"):
        load_squad_json(str(path))


def test_a_squad_file_that_is_not_utf8_names_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes('{"version": "1.1", "data": [{"title": "Café"}]}'.encode("latin-1"))
    with pytest.raises(SourceError, match=r"is not UTF-8 text \(byte 0xe9 at offset 42\)"):
        load_squad_json(str(path))
