"""Group split without leakage (property-based), determinism, sampling, overlap removal."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from gemini_qa_tuning.dataset import QAExample
from gemini_qa_tuning.dataset.splitting import GroupBy, group_names, remove_overlap, seeded_order, split_by_group

# Few distinct titles and contexts, so that random examples share them in every possible pattern
# (one context under two titles, one title over many contexts, ...).
examples_strategy = st.lists(
    st.builds(
        lambda index, title, context: QAExample(
            id=f"id{index}", title=f"T{title}", context=f"C{context}", question=f"Q{index}", answers=("x",)
        ),
        st.integers(0, 10**6),
        st.integers(0, 7),
        st.integers(0, 12),
    ),
    max_size=60,
    unique_by=lambda example: example.id,
)
fractions = st.tuples(st.floats(0, 0.45), st.floats(0, 0.45))


@settings(max_examples=200, deadline=None)
@given(examples=examples_strategy, fractions=fractions, seed=st.integers(-(2**63), 2**63 - 1))
def test_no_title_or_context_crosses_splits(
    examples: list[QAExample], fractions: tuple[float, float], seed: int
) -> None:
    validation_fraction, test_fraction = fractions
    split = split_by_group(
        examples, validation_fraction=validation_fraction, test_fraction=test_fraction, seed=seed, group_by="title"
    )
    parts = {"train": split.train, "validation": split.validation, "test": split.test}
    for attribute in ("title", "context"):
        owners: dict[str, set[str]] = {}
        for name, part in parts.items():
            for example in part:
                owners.setdefault(getattr(example, attribute), set()).add(name)
        assert all(len(names) == 1 for names in owners.values()), f"a {attribute} crosses splits"
    # Nothing lost, nothing repeated.
    assert Counter(e.id for part in parts.values() for e in part) == Counter(e.id for e in examples)


@settings(max_examples=100, deadline=None)
@given(examples=examples_strategy, seed=st.integers(0, 1000))
def test_grouping_by_context_keeps_contexts_apart(examples: list[QAExample], seed: int) -> None:
    split = split_by_group(examples, validation_fraction=0.3, test_fraction=0.3, seed=seed, group_by="context")
    seen: dict[str, str] = {}
    for name, part in (("train", split.train), ("validation", split.validation), ("test", split.test)):
        for example in part:
            assert seen.setdefault(example.context, name) == name


@settings(max_examples=50, deadline=None)
@given(examples=examples_strategy, seed=st.integers(0, 1000))
def test_split_is_deterministic_and_independent_of_input_order(examples: list[QAExample], seed: int) -> None:
    def run(items: list[QAExample]) -> tuple[list[str], ...]:
        split = split_by_group(items, validation_fraction=0.2, test_fraction=0.2, seed=seed)
        return tuple([e.id for e in part] for part in (split.train, split.validation, split.test))

    assert run(examples) == run(list(reversed(examples)))


@settings(max_examples=100, deadline=None)
@given(pool=examples_strategy, held_out=examples_strategy, group_by=st.sampled_from(["title", "context"]))
def test_overlap_removal_keeps_exactly_what_shares_nothing_with_the_held_out_source(
    pool: list[QAExample], held_out: list[QAExample], group_by: GroupBy
) -> None:
    kept, dropped = remove_overlap(pool, held_out, group_by)
    held_contexts = {e.context for e in held_out}
    held_titles = {e.title for e in held_out} if group_by == "title" else set()
    assert kept == [e for e in pool if e.context not in held_contexts and e.title not in held_titles]
    assert dropped == len(pool) - len(kept)


def _many_articles(count: int, per_article: int = 10) -> list[QAExample]:
    return [
        QAExample(f"{a}-{q}", f"Article{a}", f"context {a}-{q // 2}", f"question {q}", ("x",))
        for a in range(count)
        for q in range(per_article)
    ]


def test_sizes_follow_the_fractions_to_within_a_group() -> None:
    split = split_by_group(_many_articles(200), validation_fraction=0.1, test_fraction=0.2, seed=7)
    assert abs(len(split.test) - 400) <= 10
    assert abs(len(split.validation) - 200) <= 10
    assert len(split.train) == 2000 - len(split.test) - len(split.validation)


def test_validation_limit_caps_what_validation_receives() -> None:
    split = split_by_group(_many_articles(200), validation_fraction=0.4, test_fraction=0.0, seed=1, validation_limit=95)
    assert 90 <= len(split.validation) <= 100


def test_a_requested_split_gets_a_group_even_when_groups_are_large() -> None:
    split = split_by_group(_many_articles(5, per_article=60), validation_fraction=0.1, test_fraction=0.1, seed=0)
    assert [len(split.train), len(split.validation), len(split.test)] == [180, 60, 60]


def test_a_different_seed_gives_a_different_split() -> None:
    articles = _many_articles(50)
    splits = {
        tuple(
            sorted({e.title for e in split_by_group(articles, validation_fraction=0.2, test_fraction=0.2, seed=s).test})
        )
        for s in range(5)
    }
    assert len(splits) > 1


def test_adding_articles_moves_few_existing_ones() -> None:
    before = split_by_group(_many_articles(100), validation_fraction=0.1, test_fraction=0.1, seed=3)
    after = split_by_group(_many_articles(110), validation_fraction=0.1, test_fraction=0.1, seed=3)
    test_before = {e.title for e in before.test}
    test_after = {e.title for e in after.test}
    assert len(test_before & test_after) >= len(test_before) - 3


def test_group_names_join_titles_and_contexts(make_example: Callable) -> None:
    a = make_example(id="a", title="A", context="shared")
    b = make_example(id="b", title="B", context="shared")
    c = make_example(id="c", title="B", context="other")
    d = make_example(id="d", title="D", context="alone")
    names = group_names([a, b, c, d], "title")
    assert names[0] == names[1] == names[2] != names[3]
    by_context = group_names([a, b, c, d], "context")
    assert by_context[0] == by_context[1] != by_context[2]


def test_seeded_order_is_a_stable_seeded_shuffle(make_example: Callable) -> None:
    items = [make_example(id=str(i)) for i in range(50)]
    once = seeded_order(items, 5)
    assert once == seeded_order(list(reversed(items)), 5)
    assert once != seeded_order(items, 6)
    assert sorted(e.id for e in once) == sorted(e.id for e in items)
    # A sample of n is the first n of the order, whatever else is in the input.
    assert [e for e in seeded_order(items[:25], 5)] == [e for e in once if int(e.id) < 25]


def test_remove_overlap_drops_shared_titles_and_contexts(make_example: Callable) -> None:
    held_out = [make_example(id="h", title="Held", context="held context")]
    same_title = make_example(id="1", title="Held", context="new context")
    same_context = make_example(id="2", title="Other", context="held context")
    clean = make_example(id="3", title="Other", context="other context")
    kept, dropped = remove_overlap([same_title, same_context, clean], held_out, "title")
    assert kept == [clean] and dropped == 2
    kept, dropped = remove_overlap([same_title, same_context, clean], held_out, "context")
    assert kept == [same_title, clean] and dropped == 1
