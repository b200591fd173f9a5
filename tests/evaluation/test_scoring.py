"""SQuAD v1.1 EM/F1, response statistics and the paired bootstrap."""

from __future__ import annotations

import random
import re
import string
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gemini_qa_tuning.evaluation.scoring import (
    QuestionScore,
    aggregate_scores,
    answer_tokens,
    compare_paired,
    exact_match,
    f1_score,
    normalize_for_squad_metric,
    percentile,
    response_statistics,
    score_dataset,
    score_question,
)


# --------------------------------------------------------------------------- normalization
@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("The Eiffel Tower", "eiffel tower"),
        ("An apple, a day!", "apple day"),
        ("A", ""),
        ("the", ""),
        ("theater and anatomy", "theater and anatomy"),  # articles only as whole words
        ("(the) end.", "end"),
        ("the-end", "theend"),  # punctuation goes first, so no article remains to remove
        ("  lots \t of\n\nspace  ", "lots of space"),
        ("Norman's", "normans"),  # ASCII apostrophe is punctuation
        ("Norman’s", "norman’s"),  # the curly one is not in string.punctuation, as in the official script
        ("Café Crème", "café crème"),
        ("1,000–2,000", "1000–2000"),  # en dash kept, commas dropped
        ("non\u00a0breaking", "non breaking"),  # unicode whitespace collapses
        ("ÉCOLE", "école"),
        ("", ""),
        ("!!!", ""),
    ],
)
def test_normalize_answer(raw: str, normalized: str) -> None:
    assert normalize_for_squad_metric(raw) == normalized


def test_answer_tokens_are_words_of_normalized_text() -> None:
    assert answer_tokens("The cat, the hat.") == ["cat", "hat"]


# --------------------------------------------------------------------------- EM and F1
def test_exact_match_takes_best_reference() -> None:
    assert exact_match("the Normans", ["Norse", "Normans"]) == 1.0
    assert exact_match("Normans in 10th century", ["Norse", "Normans"]) == 0.0


def test_f1_partial_overlap() -> None:
    # prediction tokens [cat, sat, on, mat], reference [cat, on, mat]: P = 3/4, R = 1
    assert f1_score("The cat sat on the mat", ["cat on a mat"]) == pytest.approx(2 * 0.75 / 1.75)


def test_f1_counts_token_multisets() -> None:
    # [cat, cat] vs [cat]: one shared token, P = 1/2, R = 1
    assert f1_score("cat cat", ["cat"]) == pytest.approx(2 / 3)
    assert f1_score("cat", ["cat cat"]) == pytest.approx(2 / 3)


def test_f1_takes_best_reference() -> None:
    references = ["in the 10th and 11th centuries", "10th century", "10th"]
    assert f1_score("10th century", references) == 1.0
    assert f1_score("the 11th", references) == pytest.approx(2 * 1 * 0.2 / 1.2)


def test_no_overlap_scores_zero() -> None:
    assert score_question("Paris", ["London"]) == QuestionScore(0.0, 0.0)


def test_empty_prediction_scores_zero() -> None:
    assert score_question("", ["France"]) == QuestionScore(0.0, 0.0)
    assert score_question("   ", ["France"]) == QuestionScore(0.0, 0.0)


def test_missing_prediction_scores_zero_even_against_empty_reference() -> None:
    assert score_question(None, ["France"]) == QuestionScore(0.0, 0.0)
    assert score_question(None, ["the"]) == QuestionScore(0.0, 0.0)


def test_both_sides_normalizing_to_nothing_score_as_the_official_v1_1_script() -> None:
    # The official v1.1 script: equal normalized strings (EM 1), no shared token (F1 0).
    assert score_question("The", ["a"]) == QuestionScore(1.0, 0.0)
    assert score_question("", ["an"]) == QuestionScore(1.0, 0.0)
    # Another reference with tokens does not change it: the prediction has none to share.
    assert score_question("the", ["a", "Paris"]) == QuestionScore(1.0, 0.0)


def test_no_references_scores_zero() -> None:
    assert score_question("France", []) == QuestionScore(0.0, 0.0)
    assert f1_score("France", []) == 0.0


def test_unicode_answers() -> None:
    assert score_question("Zürich", ["zürich"]) == QuestionScore(1.0, 1.0)
    assert score_question("São Paulo!", ["Sao Paulo"]).f1 == pytest.approx(0.5)


# --------------------------------------------------------------------------- dataset scores
def test_score_dataset_means_times_100_and_missing_predictions_score_zero() -> None:
    references = {"q1": ["France"], "q2": ["10th century", "the 10th"], "q3": ["Rollo"], "q4": ["x"]}
    predictions = {"q1": "France.", "q2": "10th", "q3": "Rollo of Normandy", "extra": "ignored"}
    dataset, per_question = score_dataset(predictions, references)

    assert per_question["q1"] == QuestionScore(1.0, 1.0)
    assert per_question["q2"] == QuestionScore(1.0, 1.0)  # "the 10th" normalizes to "10th"
    assert per_question["q3"].exact_match == 0.0
    assert per_question["q3"].f1 == pytest.approx(0.5)
    assert per_question["q4"] == QuestionScore(0.0, 0.0)
    assert set(per_question) == set(references)
    assert dataset.questions == 4
    assert dataset.exact_match == pytest.approx(50.0)
    assert dataset.f1 == pytest.approx(100 * 2.5 / 4)


def test_aggregate_of_nothing_is_zero() -> None:
    empty = aggregate_scores([])
    assert (empty.questions, empty.exact_match, empty.f1) == (0, 0.0, 0.0)


# --------------------------------------------------------------------------- response statistics
def test_response_statistics() -> None:
    stats = response_statistics(
        ["France", "the Normans of Normandy", "", None, None],
        errors=1,
        blocked=1,
        latencies_seconds=[0.1, 0.2, 0.3, 0.4],
        prompt_tokens=100,
        output_tokens=7,
        total_tokens=107,
    )
    assert stats.questions == 5
    assert stats.answered == 3
    assert stats.errors == 1
    assert stats.empty == 2  # "" and the None that is not an error
    assert stats.blocked == 1
    assert stats.mean_answer_tokens == pytest.approx((1 + 3 + 0) / 3)
    assert stats.latency_p50_seconds == pytest.approx(0.25)
    assert stats.latency_p95_seconds == pytest.approx(0.385)
    assert stats.latency_mean_seconds == pytest.approx(0.25)
    assert stats.as_dict()["total_tokens"] == 107


def test_percentile() -> None:
    assert percentile([], 0.5) is None
    assert percentile([3.0], 0.95) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 0.5) == 3.0
    assert percentile([5.0, 1.0], 1.0) == 5.0


# --------------------------------------------------------------------------- paired bootstrap
def _random_scores(rng: random.Random, count: int, right_share: float) -> list[QuestionScore]:
    scores = []
    for _ in range(count):
        f1 = 1.0 if rng.random() < right_share else rng.choice([0.0, 0.4, 0.5, 0.8])
        scores.append(QuestionScore(exact_match=float(f1 == 1.0), f1=f1))
    return scores


def test_identical_models_differ_by_exactly_zero() -> None:
    scores = _random_scores(random.Random(1), 200, 0.5)
    comparison = compare_paired(scores, scores, resamples=300, seed=3)
    assert comparison.exact_match_diff == 0.0
    assert (comparison.exact_match_ci_low, comparison.exact_match_ci_high) == (0.0, 0.0)
    assert (comparison.f1_ci_low, comparison.f1_ci_high) == (0.0, 0.0)
    assert not comparison.exact_match_significant
    assert not comparison.f1_significant
    assert comparison.f1_share_not_better == 1.0


def test_clearly_better_model_has_interval_above_zero() -> None:
    rng = random.Random(7)
    better = _random_scores(rng, 500, 0.8)
    worse = _random_scores(rng, 500, 0.3)
    comparison = compare_paired(better, worse, resamples=1000, seed=11)
    assert comparison.exact_match_ci_low > 0.0
    assert comparison.f1_ci_low > 0.0
    assert comparison.exact_match_ci_low <= comparison.exact_match_diff <= comparison.exact_match_ci_high
    assert comparison.f1_ci_low <= comparison.f1_diff <= comparison.f1_ci_high
    assert comparison.exact_match_significant and comparison.f1_significant
    assert comparison.f1_share_not_better == 0.0


def test_point_difference_is_the_mean_difference_in_points() -> None:
    a = [QuestionScore(1.0, 1.0), QuestionScore(0.0, 0.5), QuestionScore(0.0, 0.0), QuestionScore(1.0, 1.0)]
    b = [QuestionScore(0.0, 0.25), QuestionScore(0.0, 0.5), QuestionScore(1.0, 1.0), QuestionScore(0.0, 0.0)]
    comparison = compare_paired(a, b, resamples=50, seed=0)
    assert comparison.exact_match_diff == pytest.approx(25.0)
    assert comparison.f1_diff == pytest.approx(100 * (0.75 + 0 - 1 + 1) / 4)


@pytest.mark.parametrize("count", [5, 10, 11, 20, 22, 39])
def test_an_interval_of_a_model_right_everywhere_against_one_wrong_everywhere_is_exactly_100(count: int) -> None:
    # These counts gave 100.00000000000001 when the totals were scaled by a precomputed 100 / n.
    right = [QuestionScore(1.0, 1.0)] * count
    wrong = [QuestionScore(0.0, 0.0)] * count
    forward = compare_paired(right, wrong, resamples=20, seed=1)
    backward = compare_paired(wrong, right, resamples=20, seed=1)
    assert (forward.f1_ci_low, forward.f1_ci_high, forward.f1_diff) == (100.0, 100.0, 100.0)
    assert (forward.exact_match_ci_low, forward.exact_match_ci_high) == (100.0, 100.0)
    assert (backward.f1_ci_low, backward.exact_match_ci_high) == (-100.0, -100.0)


def test_bootstrap_is_reproducible_with_a_seed() -> None:
    rng = random.Random(5)
    a, b = _random_scores(rng, 300, 0.55), _random_scores(rng, 300, 0.5)
    first = compare_paired(a, b, resamples=400, seed=42)
    again = compare_paired(a, b, resamples=400, seed=42)
    other = compare_paired(a, b, resamples=400, seed=43)
    assert first == again
    assert (first.f1_ci_low, first.f1_ci_high) != (other.f1_ci_low, other.f1_ci_high)


def test_confidence_level_sets_the_interval_width() -> None:
    rng = random.Random(8)
    a, b = _random_scores(rng, 300, 0.6), _random_scores(rng, 300, 0.5)
    wide = compare_paired(a, b, resamples=500, seed=1)
    narrow = compare_paired(a, b, resamples=500, seed=1, confidence=0.5)
    assert (wide.confidence, narrow.confidence) == (0.95, 0.5)
    assert wide.f1_ci_low < narrow.f1_ci_low <= narrow.f1_ci_high < wide.f1_ci_high
    assert narrow.as_dict()["confidence"] == 0.5
    with pytest.raises(ValueError, match="confidence"):
        compare_paired(a, b, confidence=1.0)


def test_mappings_are_aligned_by_id() -> None:
    a = {"q1": QuestionScore(1.0, 1.0), "q2": QuestionScore(0.0, 0.0)}
    b = {"q2": QuestionScore(0.0, 0.0), "q1": QuestionScore(0.0, 0.0)}
    assert compare_paired(a, b, resamples=10).exact_match_diff == pytest.approx(50.0)


def test_mismatched_question_sets_are_refused() -> None:
    with pytest.raises(ValueError, match="same questions"):
        compare_paired({"q1": QuestionScore(1, 1)}, {"q2": QuestionScore(1, 1)})
    with pytest.raises(ValueError, match="one score per question"):
        compare_paired([QuestionScore(1, 1)], [])
    with pytest.raises(TypeError):
        compare_paired({"q1": QuestionScore(1, 1)}, [QuestionScore(1, 1)])
    with pytest.raises(ValueError, match="resamples"):
        compare_paired([], [], resamples=0)


# --------------------------------------------------------------------------- properties
# Words, articles and punctuation in SQuAD-like mixtures, plus arbitrary unicode characters. A small
# vocabulary, often followed by a space, makes repeated and shared tokens common.
answer_piece = st.one_of(
    st.sampled_from(["the", "a", "an", "The", "A", "cat", "Paris", "10th", "café", "x"]),
    st.sampled_from(["the ", "a ", "cat ", "cat ", "Paris ", "x "]),
    st.sampled_from(list(" ,.!-'\"()\t\n")),
    st.characters(codec="utf-8", exclude_categories=("Cs",)),
)
answer_text = st.lists(answer_piece, max_size=12).map("".join)
reference_lists = st.lists(answer_text, min_size=1, max_size=5)


@settings(max_examples=300, deadline=None)
@given(prediction=answer_text, references=reference_lists)
def test_scores_are_bounded_and_em_exceeds_f1_only_for_nothing_against_nothing(
    prediction: str, references: list[str]
) -> None:
    score = score_question(prediction, references)
    assert score.exact_match in (0.0, 1.0)
    assert 0.0 <= score.f1 <= 1.0
    if answer_tokens(prediction):
        assert score.exact_match <= score.f1
    else:  # the official v1.1 corner: EM 1 exactly when a reference normalizes to nothing too, F1 0
        assert score.f1 == 0.0
        assert score.exact_match == float(any(not answer_tokens(reference) for reference in references))


def squad_v1_1_reference(prediction: str, references: list[str]) -> tuple[float, float]:
    """(EM, F1) of one question restated step by step from the SQuAD v1.1 definition, no shortcuts."""

    def normalize(text: str) -> str:
        text = text.lower()
        text = "".join(character for character in text if character not in set(string.punctuation))
        text = re.sub(r"\b(a|an|the)\b", " ", text)
        return " ".join(text.split())

    def f1(candidate: str, reference: str) -> float:
        candidate_tokens, reference_tokens = normalize(candidate).split(), normalize(reference).split()
        shared = sum((Counter(candidate_tokens) & Counter(reference_tokens)).values())
        if shared == 0:
            return 0.0
        precision, recall = shared / len(candidate_tokens), shared / len(reference_tokens)
        return 2 * precision * recall / (precision + recall)

    exact = max(float(normalize(prediction) == normalize(reference)) for reference in references)
    return exact, max(f1(prediction, reference) for reference in references)


@settings(max_examples=300, deadline=None)
@given(prediction=answer_text, references=reference_lists)
def test_scores_equal_squad_v1_1(prediction: str, references: list[str]) -> None:
    score = score_question(prediction, references)
    assert (score.exact_match, score.f1) == squad_v1_1_reference(prediction, references)


@settings(max_examples=200, deadline=None)
@given(answer=answer_text, others=st.lists(answer_text, max_size=3), data=st.data())
def test_a_prediction_equal_to_a_reference_scores_full_marks(
    answer: str, others: list[str], data: st.DataObject
) -> None:
    references = data.draw(st.permutations([answer, *others]))
    # An answer that normalizes to nothing shares no token even with itself: F1 0 in v1.1.
    assert score_question(answer, references) == QuestionScore(1.0, 1.0 if answer_tokens(answer) else 0.0)


@settings(max_examples=200, deadline=None)
@given(prediction=answer_text, references=reference_lists, data=st.data())
def test_scores_do_not_depend_on_reference_order(prediction: str, references: list[str], data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(references))
    assert score_question(prediction, shuffled) == score_question(prediction, references)


@settings(max_examples=200, deadline=None)
@given(text=answer_text)
def test_normalization_is_idempotent(text: str) -> None:
    assert normalize_for_squad_metric(normalize_for_squad_metric(text)) == normalize_for_squad_metric(text)


@settings(max_examples=200, deadline=None)
@given(left=answer_text, right=answer_text)
def test_single_reference_f1_is_symmetric(left: str, right: str) -> None:
    assert f1_score(left, [right]) == pytest.approx(f1_score(right, [left]))


@settings(max_examples=100, deadline=None)
@given(
    pairs=st.lists(st.tuples(answer_text, reference_lists), min_size=1, max_size=20),
)
def test_dataset_scores_lie_between_0_and_100(pairs: list[tuple[str, list[str]]]) -> None:
    predictions = {str(i): prediction for i, (prediction, _) in enumerate(pairs)}
    references = {str(i): refs for i, (_, refs) in enumerate(pairs)}
    dataset, _ = score_dataset(predictions, references)
    assert 0.0 <= dataset.exact_match <= 100.0
    assert 0.0 <= dataset.f1 <= 100.0 + 1e-9
    # EM passes F1 by at most the share of "nothing against nothing" questions (EM 1, F1 0 each).
    nothing_against_nothing = sum(
        1
        for prediction, refs in pairs
        if not answer_tokens(prediction) and any(not answer_tokens(reference) for reference in refs)
    )
    assert dataset.exact_match <= dataset.f1 + 100.0 * nothing_against_nothing / len(pairs) + 1e-9


question_scores = st.lists(
    st.tuples(st.booleans(), st.floats(min_value=0.0, max_value=1.0)).map(
        lambda pair: QuestionScore(1.0, 1.0) if pair[0] else QuestionScore(0.0, pair[1])
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=100, deadline=None)
@given(a=question_scores, data=st.data())
def test_swapping_the_models_mirrors_the_comparison(a: list[QuestionScore], data: st.DataObject) -> None:
    b = data.draw(st.lists(st.sampled_from(a), min_size=len(a), max_size=len(a)))
    forward = compare_paired(a, b, resamples=50, seed=9)
    backward = compare_paired(b, a, resamples=50, seed=9)
    assert backward.exact_match_diff == pytest.approx(-forward.exact_match_diff, abs=1e-9)
    assert backward.f1_diff == pytest.approx(-forward.f1_diff, abs=1e-9)
    assert backward.exact_match_ci_low == pytest.approx(-forward.exact_match_ci_high, abs=1e-6)
    assert backward.f1_ci_high == pytest.approx(-forward.f1_ci_low, abs=1e-6)
    assert -100.0 <= forward.f1_ci_low <= forward.f1_ci_high <= 100.0
