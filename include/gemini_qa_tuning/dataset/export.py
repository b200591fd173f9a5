"""Render the splits into tuning / evaluation JSONL, fingerprint them, and write them once.

Layout under the datasets prefix (``gs://<bucket>/<prefix>/datasets``)::

    <fingerprint>/train.jsonl        Gemini tuning format, target = normalized first answer
    <fingerprint>/validation.jsonl   same format (absent when there is no validation data)
    <fingerprint>/test.jsonl         {"id", "title", "question", "prompt", "answers": [all references]}
    <fingerprint>/rejects.jsonl      {"reason", "detail", "where", "record"} per rejected source record
    <fingerprint>/manifest.json      counts, rejects by reason, token estimates, template, source, files

The **fingerprint** is the first 32 hex digits of a SHA-256 over the SHA-256 of each of train, validation
and test, and over the template's version and text: the same data and template always give the same
fingerprint and the same bytes (no timestamps anywhere), a different template a different one. It fits a
Vertex AI label value (at most 63 characters).

The split files are rendered line by line into a local scratch file, hashed on the way, and then put
in place (renamed, or uploaded from the file): a Vertex-maximum training file (1,000,000 examples,
up to 1 GB) is never in memory, as bytes or as lines.

Every object is written whole or not at all (see :mod:`gemini_qa_tuning.storage`) and only when its
bytes differ from what is there, so re-exporting identical data writes nothing. The manifest is written
last: a dataset folder with a manifest is complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gemini_qa_tuning import storage
from gemini_qa_tuning.dataset.gc_pause import with_gc_paused
from gemini_qa_tuning.dataset.records import DatasetLimitError, QAExample
from gemini_qa_tuning.dataset.results import ExportedDataset, RefreshedDataset, TrainingCostEstimate
from gemini_qa_tuning.dataset.settings import VERTEX_MAX_TRAINING_BYTES, VERTEX_MAX_TRAINING_EXAMPLES
from gemini_qa_tuning.dataset.splitting import SplitExamples
from gemini_qa_tuning.gemini_format import dumps_compact, encode_json_string, tuning_line_of_encoded
from gemini_qa_tuning.prompt import PromptTemplate
from gemini_qa_tuning.text import TOKEN_ESTIMATOR, normalize_answer, token_estimate_for_length
from gemini_qa_tuning.tuning.cost import estimate_training_cost

__all__ = [
    "JSONL_CONTENT_TYPE",
    "MANIFEST_FORMAT_VERSION",
    "JsonlFileWriter",
    "RenderedSplit",
    "check_training_file_limits",
    "dataset_fingerprint",
    "evaluation_line",
    "render_test_split",
    "render_tuning_split",
    "rendering_folder",
    "write_dataset",
]

logger = logging.getLogger(__name__)

MANIFEST_FORMAT_VERSION = 1
_FINGERPRINT_HEX_DIGITS = 32
_LINES_PER_CHUNK = 4_096
JSONL_CONTENT_TYPE = "application/jsonl"


@dataclass(frozen=True)
class RenderedSplit:
    """One split rendered to a local JSONL file (not held in memory), with its digest and token estimates."""

    name: str
    path: Path
    size: int
    sha256: str
    examples: int
    prompt_tokens: int
    target_tokens: int
    max_example_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.target_tokens

    def token_summary(self) -> dict[str, int | float]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "target_tokens": self.target_tokens,
            "total_tokens": self.total_tokens,
            "max_example_tokens": self.max_example_tokens,
            "mean_example_tokens": round(self.total_tokens / self.examples, 1) if self.examples else 0.0,
        }


class JsonlFileWriter:
    """Writes JSONL lines to a file in chunks, hashing the bytes on the way.

    A 1,000,000-example training file is about 1 GB: it goes to disk chunk by chunk and is hashed as it
    goes, so neither the file nor its lines are ever all in memory.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = path.open("wb")
        self._digest = hashlib.sha256()
        self._lines: list[str] = []
        self.size = 0

    def add(self, line: str) -> None:
        self._lines.append(line)
        if len(self._lines) >= _LINES_PER_CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self._lines:
            # jsonl_bytes(self._lines) in two pieces, so the chunk is not copied once more for its last newline.
            for piece in ("\n".join(self._lines).encode(), b"\n"):
                self._digest.update(piece)
                self._handle.write(piece)
                self.size += len(piece)
            self._lines.clear()

    def close(self) -> str:
        """Flush, close, and return the SHA-256 (hex) of everything written."""
        self._flush()
        self._handle.close()
        return self._digest.hexdigest()


class _TuningLineEncoder:
    """Tuning lines (:func:`~gemini_qa_tuning.gemini_format.tuning_line`) of rendered prompts, built from
    JSON-escaped pieces, with each distinct context escaped once.

    SQuAD has about five questions per paragraph, and escaping the context is most of the cost of a
    tuning line; JSON escaping works character by character, so the template's escaped pieces, the
    cached escaped context and the escaped question concatenate to exactly the escaped prompt, and the
    line is built in one go around them (no prompt string in between).
    """

    _CONTEXT, _QUESTION = "\x00context\x00", "\x00question\x00"

    def __init__(self, template: PromptTemplate) -> None:
        rendered = template.render(context=self._CONTEXT, question=self._QUESTION)
        prefix, _, rest = rendered.partition(self._CONTEXT)
        middle, _, suffix = rest.partition(self._QUESTION)
        # The line up to the escaped context, between it and the escaped question, and up to the answer.
        line_start, line_middle, line_end = tuning_line_of_encoded("\x00", "\x00").split("\x00")
        self._before_context = line_start + encode_json_string(prefix)[:-1]
        self._before_question = encode_json_string(middle)[1:-1]
        self._before_answer = encode_json_string(suffix)[1:] + line_middle
        self._line_end = line_end
        self.fixed_length = len(prefix) + len(middle) + len(suffix)
        self._contexts: dict[str, str] = {}

    def line(self, context: str, question: str, answer: str) -> str:
        """``tuning_line(template.render(context=context, question=question), answer)``."""
        escaped = self._contexts.get(context)
        if escaped is None:
            escaped = self._contexts[context] = encode_json_string(context)[1:-1]
        return (
            f"{self._before_context}{escaped}{self._before_question}{encode_json_string(question)[1:-1]}"
            f"{self._before_answer}{encode_json_string(answer)}{self._line_end}"
        )


def render_tuning_split(
    name: str, examples: Sequence[QAExample], template: PromptTemplate, folder: Path
) -> RenderedSplit:
    """``train.jsonl`` / ``validation.jsonl`` into ``folder``: the prompt as the user turn, the normalized
    first answer as the model's."""
    writer = JsonlFileWriter(folder / f".{name}.jsonl")
    lines = _TuningLineEncoder(template)
    prompt_tokens = target_tokens = max_tokens = 0
    line, add, fixed_length = lines.line, writer.add, lines.fixed_length
    for example in examples:
        context, question = example.context, example.question
        target = normalize_answer(example.answers[0])
        add(line(context, question, target))
        example_prompt_tokens = token_estimate_for_length(fixed_length + len(context) + len(question))
        example_target_tokens = token_estimate_for_length(len(target))
        prompt_tokens += example_prompt_tokens
        target_tokens += example_target_tokens
        if example_prompt_tokens + example_target_tokens > max_tokens:
            max_tokens = example_prompt_tokens + example_target_tokens
    sha256 = writer.close()
    size = writer.size
    return RenderedSplit(name, writer.path, size, sha256, len(examples), prompt_tokens, target_tokens, max_tokens)


def evaluation_line(example: QAExample, template: PromptTemplate) -> str:
    """One ``test.jsonl`` line: id, title, question, the rendered prompt and every reference answer."""
    return dumps_compact(
        {
            "id": example.id,
            "title": example.title,
            "question": example.question,
            "prompt": template.render(context=example.context, question=example.question),
            "answers": list(example.answers),
        }
    )


def render_test_split(examples: Sequence[QAExample], template: PromptTemplate, folder: Path) -> RenderedSplit:
    """``test.jsonl`` for the evaluation, into ``folder`` (token figures count the prompt only)."""
    writer = JsonlFileWriter(folder / ".test.jsonl")
    prompt_tokens = max_tokens = 0
    for example in examples:
        tokens = template.estimate_prompt_tokens(context=example.context, question=example.question)
        prompt_tokens += tokens
        max_tokens = max(max_tokens, tokens)
        writer.add(evaluation_line(example, template))
    sha256 = writer.close()
    return RenderedSplit("test", writer.path, writer.size, sha256, len(examples), prompt_tokens, 0, max_tokens)


@contextlib.contextmanager
def rendering_folder(target_uri: str) -> Iterator[Path]:
    """A scratch folder for files rendered before they go to ``target_uri``'s folder; removed afterwards.

    For a local target it is a hidden folder in the nearest existing folder on the target's path (so the
    finished files are renamed into place rather than copied, and nothing is created at the target until
    a file is put there); for ``gs://`` a temporary folder they are uploaded from.
    """
    parent = None
    if not storage.is_gcs(target_uri):
        parent = storage.local_path(target_uri).absolute()
        while not parent.is_dir() and parent != parent.parent:
            parent = parent.parent
    folder = Path(tempfile.mkdtemp(prefix=".rendering-", dir=parent))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def dataset_fingerprint(splits: Sequence[RenderedSplit], template: PromptTemplate) -> str:
    """The dataset fingerprint (see the module docstring)."""
    digest = hashlib.sha256(b"gemini-qa-tuning dataset\n")
    for split in sorted(splits, key=lambda split: split.name):
        digest.update(f"{split.name} {split.sha256}\n".encode())
    digest.update(f"template {template.sha256}\n".encode())
    return digest.hexdigest()[:_FINGERPRINT_HEX_DIGITS]


def check_training_file_limits(train: RenderedSplit) -> None:
    """Raise :class:`DatasetLimitError` when ``train.jsonl`` is beyond Vertex AI's limits."""
    if train.examples > VERTEX_MAX_TRAINING_EXAMPLES or train.size > VERTEX_MAX_TRAINING_BYTES:
        raise DatasetLimitError(
            f"train.jsonl would hold {train.examples:,} examples in {train.size:,} bytes; Vertex AI accepts "
            f"at most {VERTEX_MAX_TRAINING_EXAMPLES:,} examples and {VERTEX_MAX_TRAINING_BYTES:,} bytes. "
            "Lower max_train_examples."
        )


@with_gc_paused
def write_dataset(
    splits: SplitExamples,
    *,
    rejects_data: bytes,
    refreshed: RefreshedDataset,
    datasets_prefix_uri: str,
    template: PromptTemplate,
    epochs: int | None = None,
    price_per_million_tokens: float | None = None,
) -> ExportedDataset:
    """Render, fingerprint and write one dataset; return its URIs, fingerprint and manifest summary.

    ``refreshed`` is the refresh stage's record (source, settings, counts, rejects by reason).
    With ``epochs`` and ``price_per_million_tokens`` the tuning cost estimate goes into the manifest and
    the result.
    """
    with rendering_folder(datasets_prefix_uri) as folder:
        return _render_and_write(
            splits, rejects_data, refreshed, datasets_prefix_uri, template, epochs, price_per_million_tokens, folder
        )


def _render_and_write(
    splits: SplitExamples,
    rejects_data: bytes,
    refreshed: RefreshedDataset,
    datasets_prefix_uri: str,
    template: PromptTemplate,
    epochs: int | None,
    price_per_million_tokens: float | None,
    folder: Path,
) -> ExportedDataset:
    started = time.perf_counter()
    train = render_tuning_split("train", splits.train, template, folder)
    check_training_file_limits(train)
    validation = render_tuning_split("validation", splits.validation, template, folder)
    test = render_test_split(splits.test, template, folder)
    rendered = (train, validation, test)
    fingerprint = dataset_fingerprint(rendered, template)
    logger.info(
        "Rendered dataset %s (train %d, validation %d, test %d examples; %d training tokens) in %.2f s",
        fingerprint,
        train.examples,
        validation.examples,
        test.examples,
        train.total_tokens,
        time.perf_counter() - started,
    )

    dataset_uri = storage.join_uri(datasets_prefix_uri, fingerprint)
    uris = {split.name: storage.join_uri(dataset_uri, f"{split.name}.jsonl") for split in rendered}
    rejects_uri = storage.join_uri(dataset_uri, "rejects.jsonl")
    manifest_uri = storage.join_uri(dataset_uri, "manifest.json")

    counts = refreshed.counts.with_split_sizes(train.examples, validation.examples, test.examples)
    files: dict[str, dict[str, Any]] = {
        f"{split.name}.jsonl": {"bytes": split.size, "sha256": split.sha256, "examples": split.examples}
        for split in rendered
        if split.examples or split.name != "validation"
    }
    files["rejects.jsonl"] = {
        "bytes": len(rejects_data),
        "sha256": hashlib.sha256(rejects_data).hexdigest(),
        "examples": counts.rejected,
    }
    manifest: dict[str, Any] = {
        "manifest_format_version": MANIFEST_FORMAT_VERSION,
        "fingerprint": fingerprint,
        "template": template.to_dict(),
        "source": refreshed.source.to_json(),
        "settings": refreshed.settings.to_json(),
        "counts": counts.to_json(),
        "rejects_by_reason": dict(refreshed.rejects_by_reason),
        "duplicates_dropped": counts.duplicates_dropped,
        "token_estimates": {
            "estimator": TOKEN_ESTIMATOR,
            "train": train.token_summary(),
            "validation": validation.token_summary(),
            "test": test.token_summary(),
        },
        "training_tokens": train.total_tokens,
        "files": files,
    }
    cost_estimate = None
    if epochs is not None and price_per_million_tokens is not None:
        cost_estimate = TrainingCostEstimate(
            training_tokens=train.total_tokens,
            epochs=epochs,
            price_per_million_tokens=price_per_million_tokens,
            estimated_cost=round(estimate_training_cost(train.total_tokens, epochs, price_per_million_tokens), 6),
        )
        manifest["cost_estimate"] = cost_estimate.to_json()
    manifest_data = (_dumps_sorted(manifest) + "\n").encode()

    objects_written = 0
    to_put = [train, validation, test] if validation.examples else [train, test]
    for split in to_put:
        objects_written += storage.put_file_if_changed(uris[split.name], split.path, content_type=JSONL_CONTENT_TYPE)
    objects_written += storage.write_if_changed(rejects_uri, rejects_data, content_type=JSONL_CONTENT_TYPE)
    objects_written += storage.write_if_changed(manifest_uri, manifest_data, content_type="application/json")
    logger.info(
        "Dataset %s at %s: wrote %d of %d objects (identical ones are left alone) in %.2f s",
        fingerprint,
        dataset_uri,
        objects_written,
        len(to_put) + 2,
        time.perf_counter() - started,
    )
    return ExportedDataset(
        fingerprint=fingerprint,
        dataset_uri=dataset_uri,
        train_uri=uris["train"],
        validation_uri=uris["validation"] if validation.examples else None,
        test_uri=uris["test"],
        rejects_uri=rejects_uri,
        manifest_uri=manifest_uri,
        objects_written=objects_written,
        counts=counts,
        rejects_by_reason=dict(refreshed.rejects_by_reason),
        training_tokens=train.total_tokens,
        validation_tokens=validation.total_tokens,
        test_prompt_tokens=test.prompt_tokens,
        token_estimator=TOKEN_ESTIMATOR,
        template_version=template.version,
        source_description=refreshed.source.description,
        cost_estimate=cost_estimate,
    )


def _dumps_sorted(value: Any) -> str:
    """Indented JSON with sorted keys: a stable, readable manifest."""
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)
