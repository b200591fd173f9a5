"""The two DAG-facing steps of the dataset stage, and their in-memory cores.

* :func:`refresh_dataset` — load → clean → validate → deduplicate → split → sample, then write the
  splits as example JSONL plus ``rejects.jsonl`` under a staging URI; returns a
  :class:`~gemini_qa_tuning.dataset.results.RefreshedDataset`. Fails (after writing, so nothing is
  lost) when too many records were rejected.
* :func:`export_dataset` — reads what the refresh staged, renders the Gemini tuning files and the test
  file with the prompt template, and writes them under ``<datasets prefix>/<fingerprint>/``.

Both are thin wrappers around :func:`refresh_examples` and :func:`export_refreshed`, which work in
memory and which the benchmark chains directly; the staged path and the in-memory path share every step.
Nothing here imports Airflow: the pipeline's task bodies call these functions and pass the typed
results (:mod:`gemini_qa_tuning.dataset.results`) on as XCom.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from fractions import Fraction

from gemini_qa_tuning import storage
from gemini_qa_tuning.dataset.export import JSONL_CONTENT_TYPE, JsonlFileWriter, rendering_folder, write_dataset
from gemini_qa_tuning.dataset.gc_pause import with_gc_paused
from gemini_qa_tuning.dataset.loaders import (
    LoadedSource,
    load_huggingface,
    load_jsonl,
    load_sample,
    load_squad_json,
    require_questions,
)
from gemini_qa_tuning.dataset.processing import deduplicate, validate_examples
from gemini_qa_tuning.dataset.records import (
    DatasetError,
    DatasetLimitError,
    QAExample,
    RejectedRecord,
    RejectReason,
    RejectShareExceededError,
    count_by_reason,
    example_line,
    rejects_jsonl,
)
from gemini_qa_tuning.dataset.results import DatasetCounts, DatasetSource, ExportedDataset, RefreshedDataset
from gemini_qa_tuning.dataset.settings import (
    VERTEX_MAX_EXAMPLE_TOKENS,
    VERTEX_MAX_TRAINING_BYTES,
    VERTEX_MAX_TRAINING_EXAMPLES,
    VERTEX_MAX_VALIDATION_EXAMPLES,
    DatasetSettings,
)
from gemini_qa_tuning.dataset.splitting import SplitExamples, remove_overlap, seeded_order, split_by_group
from gemini_qa_tuning.gemini_format import tuning_line
from gemini_qa_tuning.prompt import DEFAULT_PROMPT_TEMPLATE, PromptTemplate

__all__ = [
    "RefreshResult",
    "check_refresh",
    "check_reject_share",
    "check_test_split",
    "export_dataset",
    "export_refreshed",
    "load_sources",
    "refresh_dataset",
    "refresh_examples",
]

logger = logging.getLogger(__name__)

STAGED_FILES = {
    "train": "train.examples.jsonl",
    "validation": "validation.examples.jsonl",
    "test": "test.examples.jsonl",
}
REJECTS_FILE = "rejects.jsonl"
# JSON punctuation, field names and newline of one tuning line, on top of the prompt and the answer.
_TUNING_LINE_OVERHEAD_BYTES = len(tuning_line("", "")) + 1


@dataclass
class RefreshResult:
    """The refreshed splits and rejects in memory, and the record of how they came about (nothing staged)."""

    splits: SplitExamples
    rejects: list[RejectedRecord]
    refreshed: RefreshedDataset


def load_sources(settings: DatasetSettings) -> tuple[LoadedSource, LoadedSource | None]:
    """The training source and, when configured, the held-out source."""
    train, test = _load_sources(settings)
    # A source with nothing to use fails here, before anything is written, saying why (not "lower the
    # split fractions", which a later check would suggest).
    return require_questions(train, "source_uri"), require_questions(test, "test_source_uri") if test else None


def _load_sources(settings: DatasetSettings) -> tuple[LoadedSource, LoadedSource | None]:
    kind = settings.source_kind
    test_source = settings.resolved_test_source
    if kind == "sample":
        return load_sample(), None
    if kind == "huggingface":
        splits = ["train"] + ([test_source] if test_source else [])
        loaded = load_huggingface(settings.resolved_source_uri, splits)
        return loaded[0], loaded[1] if test_source else None
    loader = load_squad_json if kind == "squad_json" else load_jsonl
    train = loader(settings.resolved_source_uri)
    return train, loader(test_source) if test_source else None


def _clean_source(
    loaded: LoadedSource, settings: DatasetSettings, template: PromptTemplate
) -> tuple[list[QAExample], list[RejectedRecord], int]:
    """Validate, then deduplicate one source: (examples, rejects in source order, duplicates dropped)."""
    validated = validate_examples(loaded.examples, template, settings.max_prompt_tokens, loaded.description)
    deduplicated = deduplicate(validated.valid, loaded.description)
    rejects = loaded.rejects + validated.rejects + deduplicated.rejects
    return deduplicated.kept, rejects, deduplicated.duplicates_dropped


def _sample(ordered: list[QAExample], limit: int | None) -> list[QAExample]:
    """A deterministic sample: the first ``limit`` examples of a list already in seeded order."""
    return ordered if limit is None else ordered[:limit]


@with_gc_paused
def refresh_examples(settings: DatasetSettings, template: PromptTemplate = DEFAULT_PROMPT_TEMPLATE) -> RefreshResult:
    """Load, clean, validate, deduplicate, split and sample, in memory; nothing is written.

    ``template`` is the one the export will render with: prompt sizes are checked against it. The reject
    share and an empty training split are *not* checked here — :func:`check_refresh` does that once the
    rejects are safely stored; the export checks again.
    """
    started = time.perf_counter()
    train_source, test_source = load_sources(settings)
    sources = [train_source] + ([test_source] if test_source else [])

    pool, rejects, duplicates = _clean_source(train_source, settings, template)
    held_out: list[QAExample] = []
    leakage_dropped = 0
    if test_source is not None:
        held_out, test_rejects, test_duplicates = _clean_source(test_source, settings, template)
        rejects += test_rejects
        duplicates += test_duplicates
        pool, leakage_dropped = remove_overlap(pool, held_out, settings.group_by)
        if leakage_dropped:
            logger.warning(
                "Dropped %d training examples that share a %s with the held-out test source",
                leakage_dropped,
                "title or context" if settings.group_by == "title" else "context",
            )
    grouped = split_by_group(
        pool,
        validation_fraction=settings.validation_fraction,
        # With a held-out source, test is that source and the training source only gives up validation.
        test_fraction=0.0 if test_source is not None else settings.test_fraction,
        seed=settings.seed,
        group_by=settings.group_by,
        validation_limit=VERTEX_MAX_VALIDATION_EXAMPLES,
    )
    available = SplitExamples(
        train=grouped.train,
        validation=grouped.validation,
        test=seeded_order(held_out, settings.seed) if test_source is not None else grouped.test,
    )
    splits = SplitExamples(
        train=_sample(available.train, settings.max_train_examples),
        validation=_sample(available.validation, settings.max_validation_examples),
        test=_sample(available.test, settings.max_test_examples),
    )
    if len(splits.train) == len(grouped.train):
        # A sum is the same in any order, and the pool's examples lie in memory in its order: at 1,000,000
        # examples, the pool minus the other splits is summed several times faster than the shuffled train.
        train_characters = (
            _text_characters(pool) - _text_characters(grouped.validation) - _text_characters(grouped.test)
        )
    else:
        train_characters = _text_characters(splits.train)
    _check_training_limits(len(splits.train), train_characters, template)

    records_read = sum(source.records_read for source in sources)
    unanswerable = sum(source.unanswerable_skipped for source in sources)
    considered = records_read - unanswerable
    refreshed = RefreshedDataset(
        source=DatasetSource(
            kind=settings.source_kind,
            uri=settings.resolved_source_uri,
            test_source=settings.resolved_test_source,
            description="; ".join(source.description for source in sources),
        ),
        settings=settings,
        template=template.to_dict(),
        counts=DatasetCounts(
            records_read=records_read,
            unanswerable_skipped=unanswerable,
            rejected=len(rejects),
            duplicates_dropped=duplicates,
            leakage_dropped=leakage_dropped,
            available_train=len(available.train),
            available_validation=len(available.validation),
            available_test=len(available.test),
            train=len(splits.train),
            validation=len(splits.validation),
            test=len(splits.test),
        ),
        rejects_by_reason=count_by_reason(rejects),
        reject_share=round(len(rejects) / considered, 6) if considered else 0.0,
        max_reject_share=settings.max_reject_share,
    )
    logger.info(
        "Refreshed %s in %.2f s: %d records read, %d unanswerable skipped, %d rejected %s, %d duplicates "
        "dropped, %d dropped for overlapping the test source; train %d, validation %d, test %d",
        refreshed.source.description,
        time.perf_counter() - started,
        records_read,
        unanswerable,
        len(rejects),
        refreshed.rejects_by_reason,
        duplicates,
        leakage_dropped,
        len(splits.train),
        len(splits.validation),
        len(splits.test),
    )
    if not splits.test:
        logger.warning("The test split is empty: the evaluation will have nothing to score")
    return RefreshResult(splits, rejects, refreshed)


def _text_characters(examples: Iterable[QAExample]) -> int:
    """The characters of the contexts, questions and first answers (training targets) of ``examples``."""
    return sum(len(example.context) + len(example.question) + len(example.answers[0]) for example in examples)


def _check_training_limits(examples: int, text_characters: int, template: PromptTemplate) -> None:
    """Fail before any rendering or upload when the training file would break Vertex AI's limits.

    ``examples`` and ``text_characters`` describe the training split (see :func:`_text_characters`). The
    messages name the limit and the Param that samples the training split down (``max_train_examples``,
    a seeded sample), with a value that fits.
    """
    if examples > VERTEX_MAX_TRAINING_EXAMPLES:
        raise DatasetLimitError(
            f"{examples:,} training examples exceed Vertex AI's limit of {VERTEX_MAX_TRAINING_EXAMPLES:,} "
            f"examples per training file; set max_train_examples to at most {VERTEX_MAX_TRAINING_EXAMPLES:,} "
            "(a seeded sample of the training split), or use a smaller source"
        )
    # Characters underestimate UTF-8 bytes, never overestimate: beyond the limit here means beyond it there.
    # Per example: the template's own text and the line's JSON around the context, question and target.
    fixed_per_example = template.rendered_length(context="", question="") + _TUNING_LINE_OVERHEAD_BYTES
    estimated_bytes = examples * fixed_per_example + text_characters
    if estimated_bytes > VERTEX_MAX_TRAINING_BYTES:
        fitting = int(examples * VERTEX_MAX_TRAINING_BYTES / estimated_bytes * 0.95)
        raise DatasetLimitError(
            f"train.jsonl would be about {estimated_bytes:,} bytes for {examples:,} examples, over Vertex AI's "
            f"1 GB limit ({VERTEX_MAX_TRAINING_BYTES:,} bytes) for a training file; lower max_train_examples "
            f"(about {fitting:,} fit), or use a template or source with shorter contexts"
        )


def check_refresh(refreshed: RefreshedDataset, min_test_questions: int = 0) -> None:
    """Fail when a refresh is unusable: too many rejects, nothing left to train on, or too few test questions.

    ``min_test_questions`` is the smallest test split the run can be judged on (the pipeline passes its
    promotion minimum); 0 checks nothing. Runs after the rejects are stored, so that the error can point at
    them, and before anything is paid for: a tuned model that can never be judged is money spent for nothing.
    """
    check_reject_share(refreshed)
    if not refreshed.counts.train:
        raise DatasetLimitError(
            f"No training examples are left from {refreshed.source.description}: {_why_no_training(refreshed)}"
        )
    check_test_split(refreshed, min_test_questions)


def check_test_split(refreshed: RefreshedDataset, min_test_questions: int) -> None:
    """Raise :class:`DatasetLimitError` when the test split holds fewer than ``min_test_questions`` questions.

    The message names only the settings that can change the outcome for this refresh.
    """
    test = refreshed.counts.test
    if test >= min_test_questions:
        return
    held = "is empty" if not test else f"holds only {test:,} questions"
    raise DatasetLimitError(
        f"The test split of {refreshed.source.description} {held}, and a promotion needs at least "
        f"{min_test_questions:,} (promotion_min_test_questions): the tuned model could not be judged, so the "
        f"run stops before anything is paid. {_how_to_grow_test(refreshed, min_test_questions)}"
    )


def _how_to_grow_test(refreshed: RefreshedDataset, minimum: int) -> str:
    """What to change so that the test split reaches ``minimum`` questions, for the step that kept it small."""
    counts, settings = refreshed.counts, refreshed.settings
    # Lowering the minimum is a way out only when some questions are held out.
    lower = (
        f"or lower promotion_min_test_questions to at most {counts.test:,} (noisier promotions)" if counts.test else ""
    )
    if counts.available_test >= minimum:  # the sample cut it
        return (
            f"{counts.available_test:,} test questions were available but max_test_examples is "
            f"{settings.max_test_examples}: raise max_test_examples to at least {minimum:,} or leave it "
            f"empty{_also(lower)}."
        )
    if refreshed.source.test_source:
        return (
            f"The held-out test source ({refreshed.source.test_source}) gave {counts.available_test:,} usable "
            f"questions: set test_source_uri to a bigger held-out source{_also(lower)}."
        )
    if settings.test_fraction == 0:
        return (
            "test_fraction is 0, so nothing is held out: raise test_fraction (e.g. 0.1), or set test_source_uri "
            f"to a held-out source{_also(lower)}."
        )
    pool = counts.available_train + counts.available_validation + counts.available_test
    return (
        f"test_fraction {settings.test_fraction:g} of {pool:,} usable questions held out "
        f"{counts.available_test:,} (whole groups, group_by={settings.group_by!r}; a source with a single "
        "article cannot give up one): raise test_fraction, set test_source_uri to a held-out source, use a "
        f"bigger source{_also(lower)}."
    )


def _also(option: str) -> str:
    return f", {option}" if option else ""


def _why_no_training(refreshed: RefreshedDataset) -> str:
    """The step that removed the last training example, and only the settings that step depends on."""
    counts = refreshed.counts
    split_pool = counts.available_train + counts.available_validation
    if not refreshed.source.test_source:
        split_pool += counts.available_test
    if split_pool:
        return (
            f"the split gave all {split_pool:,} examples to validation / test (validation "
            f"{counts.available_validation:,}, test {counts.available_test:,}); their groups "
            f"(group_by={refreshed.settings.group_by!r}) are too few or too large for the fractions: lower "
            "validation_fraction / test_fraction, or group_by='context'"
        )
    if counts.leakage_dropped:
        return (
            f"all {counts.leakage_dropped:,} that passed validation share a title or context with the held-out "
            "test source and were dropped to keep test unseen; use a test_source_uri from other articles"
        )
    if counts.rejected:
        return (
            f"every record was rejected or a duplicate (rejects by reason: {dict(refreshed.rejects_by_reason)}, "
            f"{counts.duplicates_dropped:,} duplicates); each reject and its reason is in "
            f"{refreshed.rejects_uri or 'the rejects file'}: fix the source"
        )
    return (
        f"{counts.records_read:,} records read, {counts.unanswerable_skipped:,} unanswerable skipped, "
        f"{counts.duplicates_dropped:,} duplicates dropped; check the source"
    )


def check_reject_share(refreshed: RefreshedDataset) -> None:
    """Raise :class:`RejectShareExceededError` when the refresh rejected too large a share of the records.

    The share is rejected / (records read - unanswerable questions skipped); exactly the limit passes.
    """
    counts = refreshed.counts
    rejected = counts.rejected
    considered = counts.records_read - counts.unanswerable_skipped
    limit = refreshed.max_reject_share
    # Exact fractions: the rounded share in the summary, or limit * considered in floating point, could let a
    # share a hair over the limit pass or fail one exactly at it.
    if considered and Fraction(rejected, considered) > Fraction(repr(limit)):
        where = refreshed.rejects_uri or "the rejects file"
        raise RejectShareExceededError(
            f"{rejected:,} of {considered:,} records ({rejected / considered:.2%}) from "
            f"{refreshed.source.description} were rejected, over max_reject_share {limit:.2%}. "
            f"Reasons: {dict(refreshed.rejects_by_reason)}. Each reject and its reason is in {where}; "
            f"fix the source, or raise max_reject_share if these rejects are expected.{_too_long_hint(refreshed)}"
        )


def _too_long_hint(refreshed: RefreshedDataset) -> str:
    """The setting behind ``prompt_too_long`` rejects, which the reject share alone does not name."""
    too_long = refreshed.rejects_by_reason.get(RejectReason.PROMPT_TOO_LONG, 0)
    if not too_long:
        return ""
    limit = refreshed.settings.max_prompt_tokens
    if limit >= VERTEX_MAX_EXAMPLE_TOKENS:
        return f" {too_long:,} examples are longer than Vertex AI accepts ({limit:,} tokens): shorten their contexts."
    return (
        f" {too_long:,} examples are over max_prompt_tokens ({limit:,}); raise it (at most "
        f"{VERTEX_MAX_EXAMPLE_TOKENS:,}, Vertex AI's limit) to keep them."
    )


def refresh_dataset(
    settings: DatasetSettings,
    staging_uri: str,
    template: PromptTemplate = DEFAULT_PROMPT_TEMPLATE,
    *,
    min_test_questions: int = 0,
) -> RefreshedDataset:
    """Refresh the examples and stage them under ``staging_uri``; return where they are and how they came about.

    Writes ``train.examples.jsonl``, ``validation.examples.jsonl``, ``test.examples.jsonl`` (example
    records, in their seeded order) and ``rejects.jsonl``. Raises :class:`RejectShareExceededError` after
    writing them when the reject share is over ``max_reject_share``, and :class:`DatasetLimitError` when
    no training example is left or the test split holds fewer than ``min_test_questions`` questions.
    """
    result = refresh_examples(settings, template)
    staged: dict[str, str] = {}
    with rendering_folder(staging_uri) as folder:
        for split, file_name in STAGED_FILES.items():
            uri = storage.join_uri(staging_uri, file_name)
            writer = JsonlFileWriter(folder / f".{file_name}")
            for example in getattr(result.splits, split):
                writer.add(example_line(example))
            writer.close()
            storage.put_file_if_changed(uri, writer.path, content_type=JSONL_CONTENT_TYPE)
            staged[f"{split}_examples_uri"] = uri
    rejects_uri = storage.join_uri(staging_uri, REJECTS_FILE)
    storage.write_if_changed(rejects_uri, rejects_jsonl(result.rejects), content_type=JSONL_CONTENT_TYPE)
    logger.info("Staged the refreshed splits and %d rejects under %s", len(result.rejects), staging_uri)
    refreshed = replace(
        result.refreshed,
        staging_uri=staging_uri,
        train_examples_uri=staged["train_examples_uri"],
        validation_examples_uri=staged["validation_examples_uri"],
        test_examples_uri=staged["test_examples_uri"],
        rejects_uri=rejects_uri,
    )
    check_refresh(refreshed, min_test_questions)
    return refreshed


def _export(
    splits: SplitExamples,
    rejects_data: bytes,
    refreshed: RefreshedDataset,
    datasets_prefix_uri: str,
    template: PromptTemplate,
    epochs: int | None,
    price_per_million_tokens: float | None,
) -> ExportedDataset:
    check_refresh(refreshed)
    recorded = refreshed.template
    if recorded and recorded.get("sha256") != template.sha256:
        raise DatasetError(
            f"The refresh checked prompt sizes with template {recorded.get('version')!r}, but the export was "
            f"asked to render with {template.version!r}; pass the same template to both steps"
        )
    return write_dataset(
        splits,
        rejects_data=rejects_data,
        refreshed=refreshed,
        datasets_prefix_uri=datasets_prefix_uri,
        template=template,
        epochs=epochs,
        price_per_million_tokens=price_per_million_tokens,
    )


def export_refreshed(
    result: RefreshResult,
    datasets_prefix_uri: str,
    template: PromptTemplate = DEFAULT_PROMPT_TEMPLATE,
    *,
    epochs: int | None = None,
    price_per_million_tokens: float | None = None,
) -> ExportedDataset:
    """Export an in-memory refresh result (see :func:`export_dataset` for what is written and returned)."""
    return _export(
        result.splits,
        rejects_jsonl(result.rejects),
        result.refreshed,
        datasets_prefix_uri,
        template,
        epochs,
        price_per_million_tokens,
    )


def export_dataset(
    refreshed: RefreshedDataset,
    datasets_prefix_uri: str,
    template: PromptTemplate = DEFAULT_PROMPT_TEMPLATE,
    *,
    epochs: int | None = None,
    price_per_million_tokens: float | None = None,
) -> ExportedDataset:
    """Export what :func:`refresh_dataset` staged to ``<datasets_prefix_uri>/<fingerprint>/``.

    ``objects_written`` is 0 when identical data was already exported; with ``epochs`` and
    ``price_per_million_tokens`` the result (and the manifest) carry a cost estimate.
    """
    splits: dict[str, list[QAExample]] = {}
    for split in STAGED_FILES:
        uri = refreshed.staged_uri(split)
        loaded = load_jsonl(uri)
        if loaded.rejects:
            raise DatasetError(
                f"The staged file {uri} holds {len(loaded.rejects)} invalid records (first: "
                f"{loaded.rejects[0].detail}); it was changed after the refresh. Run the refresh again."
            )
        splits[split] = loaded.examples
    if not refreshed.rejects_uri:
        raise DatasetError("this refresh staged no rejects file (an in-memory refresh); run refresh_dataset")
    rejects_data = storage.read_bytes(refreshed.rejects_uri)
    return _export(
        SplitExamples(**splits),
        rejects_data,
        refreshed,
        datasets_prefix_uri,
        template,
        epochs,
        price_per_million_tokens,
    )
