"""A refresh whose test split is too small to judge the tuned model stops there, naming what to change."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gemini_qa_tuning.dataset import DatasetLimitError, DatasetSettings, refresh_dataset
from gemini_qa_tuning.promotion import DEFAULT_MIN_TEST_QUESTIONS

MINIMUM = DEFAULT_MIN_TEST_QUESTIONS


def test_the_packaged_sample_holds_out_enough_questions_for_a_promotion(tmp_path: Path) -> None:
    """The offline demo promotes with its shipped data: the default split meets the default minimum."""
    refreshed = refresh_dataset(DatasetSettings(source_kind="sample"), str(tmp_path), min_test_questions=MINIMUM)
    assert refreshed.counts.test >= MINIMUM


def test_test_fraction_zero_names_test_fraction(tmp_path: Path) -> None:
    with pytest.raises(DatasetLimitError) as raised:
        refresh_dataset(DatasetSettings(source_kind="sample", test_fraction=0), str(tmp_path), min_test_questions=1)
    message = str(raised.value)
    assert "The test split of SQuAD JSON packaged sample" in message and "is empty" in message
    assert "lower promotion_min_test_questions" not in message  # an empty split judges nothing at any minimum
    assert "before anything is paid" in message
    assert "test_fraction is 0" in message and "test_source_uri" in message
    assert "max_test_examples" not in message  # not the cause here
    # The rejects were written before the check, so the error can be followed up.
    assert (tmp_path / "rejects.jsonl").exists()


def test_a_sample_cut_below_the_minimum_names_max_test_examples(tmp_path: Path) -> None:
    with pytest.raises(DatasetLimitError) as raised:
        refresh_dataset(
            DatasetSettings(source_kind="sample", max_test_examples=5), str(tmp_path), min_test_questions=MINIMUM
        )
    message = str(raised.value)
    assert "holds only 5 questions, and a promotion needs at least 100 (promotion_min_test_questions)" in message
    assert "raise max_test_examples to at least 100 or leave it empty" in message
    assert "lower promotion_min_test_questions to at most 5" in message
    assert "test_fraction" not in message


def test_a_single_article_source_cannot_be_judged(
    tmp_path: Path, write_json: Callable, make_article: Callable, make_squad: Callable
) -> None:
    uri = write_json("one.json", make_squad(make_article("Only", 4, 5)))
    with pytest.raises(DatasetLimitError) as raised:
        refresh_dataset(
            DatasetSettings(source_kind="squad_json", source_uri=uri), str(tmp_path / "s"), min_test_questions=1
        )
    message = str(raised.value)
    assert "is empty" in message and "single article" in message
    assert "bigger source" in message and "test_source_uri" in message and "test_fraction" in message


def test_a_small_held_out_source_names_test_source_uri(
    tmp_path: Path, write_json: Callable, make_article: Callable, make_squad: Callable
) -> None:
    train = write_json("train.json", make_squad(*(make_article(f"T{i}", 2, 3) for i in range(6))))
    held_out = write_json("dev.json", make_squad(make_article("Dev", 1, 3)))
    settings = DatasetSettings(source_kind="squad_json", source_uri=train, test_source_uri=held_out)
    with pytest.raises(DatasetLimitError) as raised:
        refresh_dataset(settings, str(tmp_path / "s"), min_test_questions=10)
    message = str(raised.value)
    assert "holds only 3 questions" in message and "set test_source_uri to a bigger held-out source" in message
    assert "test_fraction" not in message
    # Without a minimum (the library default) the same refresh passes: the pipeline passes its own.
    assert refresh_dataset(settings, str(tmp_path / "s")).counts.test == 3
