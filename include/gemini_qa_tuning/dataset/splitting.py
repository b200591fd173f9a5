"""Leak-free, deterministic splits and seeded sampling.

**Groups.** Examples that share an article title *or* a context belong to one group (with
``group_by="title"``; with ``group_by="context"`` only a shared context links them): the groups are the
connected components of that "shares a title or context" relation, found with a union-find. A whole
group always lands in one split, so no title and no context is ever seen in two splits, whatever the
input — even when one paragraph appears under two titles.

**Assignment.** Groups are ordered by a seeded hash of their name (the smallest member key) and laid end
to end; a group goes to ``test`` if the middle of its run of examples falls within the first
``test_fraction`` of all examples, to ``validation`` if within the next ``validation_fraction``, else to
``train``. Sizes thus follow the fractions to within half a group, and a group's place in the order does
not depend on the other groups, so a nightly refresh that adds articles moves few old ones between
splits. When a requested split would stay empty, it takes the first train group (if train keeps one).

**Sampling.** :func:`seeded_order` orders examples by a seeded hash of their id; taking the first ``n``
is a deterministic sample, and the order itself is the (deterministic) shuffle the files are written in.
"""

from __future__ import annotations

import functools
import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from gemini_qa_tuning.dataset.records import QAExample

__all__ = [
    "GroupBy",
    "SplitExamples",
    "group_names",
    "remove_overlap",
    "seeded_order",
    "split_by_group",
]

GroupBy = Literal["title", "context"]


@dataclass(frozen=True)
class SplitExamples:
    """Examples per split, each list in its seeded order."""

    train: list[QAExample]
    validation: list[QAExample]
    test: list[QAExample]


@functools.lru_cache(maxsize=16)
def _salted_hash(seed: int) -> Any:
    """A blake2b state salted with ``seed``; copying it is cheaper than salting a new one per key."""
    return hashlib.blake2b(digest_size=8, salt=seed.to_bytes(8, "big", signed=True))


def _ranker(seed: int) -> Callable[[str], bytes]:
    """The seeded rank of a key: an 8-byte salted blake2b digest (compared as bytes)."""
    copy = _salted_hash(seed).copy

    def rank(key: str) -> bytes:
        digest = copy()
        digest.update(key.encode())
        return digest.digest()

    return rank


def _context_key(context: str, cache: dict[str, str]) -> str:
    key = cache.get(context)
    if key is None:
        key = "c:" + hashlib.blake2b(context.encode(), digest_size=12).hexdigest()
        cache[context] = key
    return key


def group_names(examples: Sequence[QAExample], group_by: GroupBy = "title") -> list[str]:
    """The group of each example: the smallest member key of its connected component."""
    if group_by not in ("title", "context"):
        raise ValueError(f"group_by must be 'title' or 'context', not {group_by!r}")
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        root = key
        while parent[root] != root:
            root = parent[root]
        while parent[key] != root:  # path compression keeps later look-ups short
            parent[key], key = root, parent[key]
        return root

    context_keys: dict[str, str] = {}
    title_keys: dict[str, str] = {}
    example_keys: list[str] = []
    linked: set[tuple[str, str]] = set()  # (context key, title key) pairs already joined
    previous_context: str | None = None
    previous_title: str | None = None
    first = ""
    for example in examples:
        # A paragraph's questions are usually adjacent and share its (cleaned) strings: the same context
        # and title objects as the previous example's mean the same key and nothing new to join.
        if example.context is previous_context and (group_by != "title" or example.title is previous_title):
            example_keys.append(first)
            continue
        previous_context, previous_title = example.context, example.title
        first = _context_key(example.context, context_keys)
        parent.setdefault(first, first)
        example_keys.append(first)
        if group_by != "title":
            continue
        title_key = title_keys.get(example.title)
        if title_key is None:
            title_key = title_keys[example.title] = "t:" + example.title
            parent[title_key] = title_key
        pair = (first, title_key)
        if pair in linked:
            continue  # SQuAD has ~5 questions per (paragraph, title): join each pair once
        linked.add(pair)
        root, other = find(first), find(title_key)
        if other != root:
            # The smaller key becomes the root, so a component's name is its smallest key.
            low, high = (root, other) if root < other else (other, root)
            parent[high] = low
    # Every example's key is a context key: find each root once, not once per example.
    roots = {key: find(key) for key in context_keys.values()}
    return [roots[key] for key in example_keys]


def seeded_order(examples: Iterable[QAExample], seed: int) -> list[QAExample]:
    """Examples ordered by a seeded hash of their id (ties, i.e. repeated ids, keep input order)."""
    copy = _salted_hash(seed).copy

    def rank_of(example: QAExample) -> bytes:  # _ranker(seed)(example.id), one call less per example
        digest = copy()
        digest.update(example.id.encode())
        return digest.digest()

    # sorted() is stable and computes each key once: equal ranks keep their input order.
    return sorted(examples, key=rank_of)


def split_by_group(
    examples: Sequence[QAExample],
    *,
    validation_fraction: float,
    test_fraction: float,
    seed: int,
    group_by: GroupBy = "title",
    validation_limit: int | None = None,
) -> SplitExamples:
    """Split ``examples`` into train / validation / test by whole groups (see the module docstring).

    ``validation_limit`` caps the share given to validation (in examples), so a large source does not
    hand validation more groups than it can ever use (Vertex accepts at most 5,000 validation examples).
    """
    if not 0 <= validation_fraction < 1 or not 0 <= test_fraction < 1:
        raise ValueError("validation_fraction and test_fraction must each be in [0, 1)")
    if validation_fraction + test_fraction >= 1:
        raise ValueError("validation_fraction + test_fraction must leave room for train (sum < 1)")
    names = group_names(examples, group_by)
    sizes = Counter(names)  # in first-seen order, like the names
    rank = _ranker(seed)
    ordered_groups = sorted(sizes, key=lambda name: (rank(name), name))

    total = len(examples)
    test_target = test_fraction * total
    validation_target = validation_fraction * total
    if validation_limit is not None:
        validation_target = min(validation_target, validation_limit)
    split_of: dict[str, str] = {}
    position = 0
    for name in ordered_groups:
        middle = position + sizes[name] / 2
        if middle < test_target:
            split_of[name] = "test"
        elif middle < test_target + validation_target:
            split_of[name] = "validation"
        else:
            split_of[name] = "train"
        position += sizes[name]

    for split, fraction in (("test", test_fraction), ("validation", validation_fraction)):
        if fraction > 0 and split not in split_of.values():
            train_groups = [name for name in ordered_groups if split_of[name] == "train"]
            if len(train_groups) > 1:
                split_of[train_groups[0]] = split

    buckets: dict[str, list[QAExample]] = {"train": [], "validation": [], "test": []}
    for example, name in zip(examples, names, strict=True):
        buckets[split_of[name]].append(example)
    return SplitExamples(
        train=seeded_order(buckets["train"], seed),
        validation=seeded_order(buckets["validation"], seed),
        test=seeded_order(buckets["test"], seed),
    )


def remove_overlap(
    examples: Sequence[QAExample], held_out: Sequence[QAExample], group_by: GroupBy = "title"
) -> tuple[list[QAExample], int]:
    """Drop every example sharing a title (with ``group_by="title"``) or a context with ``held_out``.

    Used when test comes from a separate held-out source: training must never see its articles.
    Returns the kept examples and how many were dropped.
    """
    # The texts themselves, not their member keys: a set look-up of a shared string reuses its cached hash.
    held_out_contexts = {example.context for example in held_out}
    held_out_titles = {example.title for example in held_out} if group_by == "title" else set()
    kept = [
        example
        for example in examples
        if example.context not in held_out_contexts and example.title not in held_out_titles
    ]
    return kept, len(examples) - len(kept)
