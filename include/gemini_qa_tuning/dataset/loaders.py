"""Loaders: one per source kind, each returning the same :class:`LoadedSource` of cleaned examples.

* :func:`load_squad_json` — a SQuAD JSON file, v1.1 or v2.0 (v2.0 questions marked ``is_impossible``
  are skipped and counted, not rejected);
* :func:`load_jsonl` — a JSONL file of ``{id, title, context, question, answers: [...]}`` records;
* :func:`load_huggingface` — a Hugging Face dataset through ``datasets``: a Hub name such as
  ``rajpurkar/squad`` (needs network access), or a folder written by ``save_to_disk`` (local or under
  ``gs://``, which works offline);
* :func:`load_sample` — the small SQuAD v1.1 sample the project wrote for offline demos.

Files are read through :mod:`gemini_qa_tuning.storage`, so every source may be a ``gs://`` URI or a
local path. A source that cannot be read at all raises :class:`SourceError`; a single malformed record is
set aside as a :class:`RejectedRecord` with a reason and its location, and loading goes on.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

from gemini_qa_tuning import storage
from gemini_qa_tuning.dataset.processing import REQUIRED_FIELDS, ExampleBuilder
from gemini_qa_tuning.dataset.records import (
    MAX_RAW_LINE_CHARS,
    QAExample,
    RejectedRecord,
    RejectReason,
    SourceError,
)

__all__ = [
    "SAMPLE_DATA_FILE",
    "LoadedSource",
    "load_huggingface",
    "load_jsonl",
    "load_sample",
    "load_squad_json",
    "require_questions",
    "sample_data_path",
]

logger = logging.getLogger(__name__)

SAMPLE_DATA_FILE = "squad-sample-v1.1.json"
_WHOLE_DOCUMENT_ON_A_LINE = "this line holds a whole SQuAD JSON document, not one record; use source_kind='squad_json'"
_HF_BATCH_SIZE = 2_000
_READ_CHUNK_BYTES = 8 << 20
_UTF8_BOM = b"\xef\xbb\xbf"
_JSON_DECODER = json.JSONDecoder()
# The decoder's scanner of one JSON value at an index: (value, end index); set in JSONDecoder.__init__.
_SCAN_ONE_VALUE: Callable[[str, int], tuple[Any, int]] = _JSON_DECODER.scan_once  # type: ignore[attr-defined]


@dataclass
class LoadedSource:
    """What a loader produced from one source (one file or one dataset split)."""

    description: str
    examples: list[QAExample] = field(default_factory=list)
    rejects: list[RejectedRecord] = field(default_factory=list)
    records_read: int = 0
    unanswerable_skipped: int = 0

    def add(self, built: QAExample | RejectedRecord) -> None:
        """Count one record and keep it as an example or a reject."""
        self.records_read += 1
        if isinstance(built, QAExample):
            self.examples.append(built)
        else:
            self.rejects.append(built)

    def add_malformed(self, detail: str, where: str, value: Any) -> None:
        """Count and set aside a record, article or paragraph that is not of the expected shape."""
        self.add(RejectedRecord(RejectReason.MALFORMED_STRUCTURE, detail, where, _abridged(value)))

    def log_loaded(self, started: float) -> None:
        """Log the counts of a finished load (``started``: its ``time.perf_counter()`` start)."""
        logger.info(
            "Loaded %s: %d records, %d examples, %d rejected, %d unanswerable skipped in %.2f s",
            self.description,
            self.records_read,
            len(self.examples),
            len(self.rejects),
            self.unanswerable_skipped,
            time.perf_counter() - started,
        )


def require_questions(loaded: LoadedSource, setting: str) -> LoadedSource:
    """Return ``loaded`` when it holds at least one answerable question; else say why it holds none.

    ``setting`` names the setting that points at the source (``source_uri`` / ``test_source_uri``). The
    messages name only what matters for the cause: an empty source has nothing to do with the split
    fractions, and an all-unanswerable one needs other data, not other settings.
    """
    if loaded.records_read == 0:
        raise SourceError(
            f"{loaded.description} is empty: it holds no records at all (0 bytes, or only blank lines / "
            f"no articles). Check that {setting} points at the file you meant and that it was written completely"
        )
    if loaded.unanswerable_skipped == loaded.records_read:
        raise SourceError(
            f"All {loaded.records_read:,} questions of {loaded.description} are unanswerable (SQuAD 2.0 "
            "'is_impossible' / no answer text), and unanswerable questions are skipped: nothing is left to tune "
            f"or test on. Point {setting} at a source with answerable questions (SQuAD 2.0 files mix both kinds)"
        )
    whole_documents = [reject for reject in loaded.rejects if reject.detail == _WHOLE_DOCUMENT_ON_A_LINE]
    if not loaded.examples and whole_documents and len(whole_documents) == len(loaded.rejects):
        raise SourceError(
            f"{loaded.description} holds whole SQuAD JSON documents, one per line, not one question record per "
            "line: this looks like a SQuAD JSON file: use source_kind='squad_json'"
        )
    return loaded


def _looks_like_jsonl(raw: bytes) -> bool:
    """Whether the first non-blank line on its own is a JSON object with record fields (a JSONL file)."""
    first = next((line for line in raw.split(b"\n", 64) if line.strip()), b"")
    try:
        record = json.loads(first)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    return isinstance(record, dict) and any(name in record for name in REQUIRED_FIELDS) and "data" not in record


def _looks_like_squad_document(raw: bytes) -> bool:
    """Whether the whole content is one SQuAD JSON document (an object with a 'data' list)."""
    try:
        document = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    return isinstance(document, dict) and isinstance(document.get("data"), list)


def _not_json_message(uri: str, raw: bytes, error: ValueError) -> str:
    """Why a SQuAD JSON source does not parse, naming the likeliest cause first."""
    if isinstance(error, UnicodeDecodeError):
        return (
            f"{uri} is not UTF-8 text (byte 0x{raw[error.start]:02x} at offset {error.start:,}); SQuAD JSON "
            "must be UTF-8: re-encode the file"
        )
    if _looks_like_jsonl(raw):
        return (
            f"{uri} holds one JSON record per line: this looks like a JSONL file (not a SQuAD JSON "
            "document): use source_kind='jsonl'"
        )
    if isinstance(error, json.JSONDecodeError) and error.pos >= len(raw.rstrip()):
        return (
            f"{uri} ends before its JSON document does ({error.msg} at offset {error.pos:,}): the file looks "
            "truncated; write or copy it again. Expected a SQuAD v1.1 or v2.0 file"
        )
    return f"{uri} is not valid JSON ({error}); expected a SQuAD v1.1 or v2.0 file"


def _read_source(uri: str, kind: str) -> bytes:
    try:
        return storage.read_bytes(uri)
    except (FileNotFoundError, IsADirectoryError) as error:
        raise SourceError(
            f"The {kind} source {uri} does not exist or is not a file; check the source_uri / test_source_uri setting"
        ) from error


# --------------------------------------------------------------------------- SQuAD JSON
def load_squad_json(uri: str, builder: ExampleBuilder | None = None, *, name: str | None = None) -> LoadedSource:
    """Load a SQuAD v1.1 / v2.0 JSON file (``{"version", "data": [article, ...]}``).

    ``name`` replaces the URI in the description and reject locations (for the packaged sample, whose
    path differs between installations).
    """
    started = time.perf_counter()
    raw = _read_source(uri, "SQuAD JSON")
    if not raw.strip():
        raise SourceError(
            f"The SQuAD JSON source {uri} is empty ({len(raw):,} bytes"
            + (", only whitespace" if raw else "")
            + "): there is nothing to load. Check that the file was written completely"
        )
    try:
        document = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise SourceError(_not_json_message(uri, raw, error)) from error
    del raw
    if isinstance(document, dict) and "data" not in document and any(name in document for name in REQUIRED_FIELDS):
        raise SourceError(
            f"{uri} holds a single question record, not a SQuAD document: this looks like a JSONL file: "
            "use source_kind='jsonl'"
        )
    if not isinstance(document, dict) or not isinstance(document.get("data"), list):
        raise SourceError(
            f"{uri} is JSON but not SQuAD: expected an object with a 'data' list of articles "
            "(SQuAD v1.1 / v2.0); for one record per line use source_kind='jsonl'"
        )
    version = document.get("version", "unknown")
    label = name or uri
    loaded = LoadedSource(description=f"SQuAD JSON {label} (version {version})")
    builder = builder or ExampleBuilder()
    for article_index, article in enumerate(document["data"]):
        where_article = f"{label}: data[{article_index}]"
        if not isinstance(article, dict) or not isinstance(article.get("paragraphs"), list):
            loaded.add_malformed("an article must be an object with a 'paragraphs' list", where_article, article)
            continue
        title = article.get("title")
        for paragraph_index, paragraph in enumerate(article["paragraphs"]):
            where_paragraph = f"{where_article}.paragraphs[{paragraph_index}]"
            if not isinstance(paragraph, dict) or not isinstance(paragraph.get("qas"), list):
                loaded.add_malformed("a paragraph must be an object with a 'qas' list", where_paragraph, paragraph)
                continue
            context = paragraph.get("context")
            for question_index, qa in enumerate(paragraph["qas"]):
                where = f"{where_paragraph}.qas[{question_index}]"
                if not isinstance(qa, dict):
                    loaded.add_malformed("a question must be an object", where, qa)
                    continue
                if qa.get("is_impossible") is True:
                    loaded.records_read += 1
                    loaded.unanswerable_skipped += 1
                    continue
                record = {
                    "id": qa.get("id"),
                    "title": title,
                    "context": context,
                    "question": qa.get("question"),
                    "answers": qa.get("answers"),
                }
                loaded.add(builder.build(record, where))
    loaded.log_loaded(started)
    return loaded


def _abridged(value: Any) -> Any:
    """A malformed object as kept in a reject: its keys and scalar values, not every nested question."""
    if isinstance(value, dict):
        return {key: (item if isinstance(item, str | int | float | bool) else "…") for key, item in value.items()}
    return value


# --------------------------------------------------------------------------- JSONL
def _source_lines(uri: str) -> Iterator[bytes]:
    """The lines of a JSONL source as bytes, without the newline, streamed in chunks (not read whole).

    Split on b"\\n" only: str.splitlines would also split on U+2028 and friends, which may stand unescaped
    inside a JSON string; a UTF-8 multi-byte character never contains the byte 0x0A.
    """
    try:
        stream = storage.open_binary(uri)
    except (FileNotFoundError, IsADirectoryError) as error:
        raise SourceError(
            f"The JSONL source {uri} does not exist or is not a file; check the source_uri / test_source_uri setting"
        ) from error
    with stream:
        pending = b""
        while chunk := stream.read(_READ_CHUNK_BYTES):
            lines = (pending + chunk).split(b"\n") if pending else chunk.split(b"\n")
            pending = lines.pop()
            yield from lines
        yield pending  # the last line, or b"" after a final newline (skipped as blank)


def load_jsonl(uri: str, builder: ExampleBuilder | None = None) -> LoadedSource:
    """Load a JSONL file of ``{id, title, context, question, answers: [...]}`` records (blank lines skipped)."""
    started = time.perf_counter()
    loaded = LoadedSource(description=f"JSONL {uri}")
    builder = builder or ExampleBuilder()
    where_prefix = f"{uri}: line "
    loads, decode, scan = json.loads, _JSON_DECODER.decode, _SCAN_ONE_VALUE
    build, build_well_formed, add = builder.build, builder.build_well_formed, loaded.add
    append_example = loaded.examples.append
    well_formed = 0
    for line_number, line in enumerate(_source_lines(uri), start=1):
        if not line or line.isspace():
            continue
        try:
            if line.startswith(_UTF8_BOM) or line.find(b"\x00", 0, 4) >= 0:
                record = loads(line)  # json.loads detects a BOM or UTF-16/32 itself
            else:
                # What json.loads does with UTF-8 bytes, minus its per-call encoding detection and, for a
                # line that is exactly one JSON value, its whitespace matching; anything else (and every
                # error message) goes through the decoder's full path.
                text = line.decode("utf-8", "surrogatepass")
                try:
                    record, end = scan(text, 0)
                except (StopIteration, json.JSONDecodeError):
                    end = -1
                if end != len(text):
                    record = decode(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            text = line.decode("utf-8", errors="replace")
            where = f"{where_prefix}{line_number}"
            add(RejectedRecord(RejectReason.INVALID_JSON, f"not JSON: {error}", where, text[:MAX_RAW_LINE_CHARS]))
            continue
        if not isinstance(record, dict):
            detail = f"a line must hold a JSON object with {', '.join(REQUIRED_FIELDS)}; got {type(record).__name__}"
            loaded.add_malformed(detail, where_prefix + str(line_number), record)
            continue
        example = build_well_formed(record)
        if example is not None:  # the usual record: no location string, no checks with messages
            append_example(example)
            well_formed += 1
            continue
        if "data" in record and not any(name in record for name in REQUIRED_FIELDS):
            loaded.add_malformed(_WHOLE_DOCUMENT_ON_A_LINE, where_prefix + str(line_number), record)
            continue
        add(build(record, f"{where_prefix}{line_number}"))
    loaded.records_read += well_formed
    invalid_lines = any(reject.reason is RejectReason.INVALID_JSON for reject in loaded.rejects)
    if not loaded.examples and invalid_lines and _looks_like_squad_document(_read_source(uri, "JSONL")):
        # A pretty-printed SQuAD file turns into one unparseable "record" per line: say what it is instead.
        raise SourceError(
            f"{uri} is one JSON document with a 'data' list, not one record per line: this looks like a "
            "SQuAD JSON file: use source_kind='squad_json'"
        )
    loaded.log_loaded(started)
    return loaded


# --------------------------------------------------------------------------- Hugging Face
def load_huggingface(source: str, splits: Iterable[str]) -> list[LoadedSource]:
    """Load splits of a Hugging Face dataset with SQuAD columns (id, title, context, question, answers).

    ``source`` is a Hub name (``rajpurkar/squad``; downloaded through ``datasets.load_dataset``, which
    needs network access or a warm cache), or a folder written by ``Dataset.save_to_disk`` /
    ``DatasetDict.save_to_disk``, local or ``gs://`` (copied to a temporary folder first). A single saved
    ``Dataset`` serves only the split ``train``. Rows whose ``answers.text`` is empty (SQuAD v2.0's
    unanswerable questions) are skipped and counted.
    """
    split_names = list(splits)
    if storage.is_gcs(source):
        with tempfile.TemporaryDirectory(prefix="hf-dataset-") as folder:
            _download_folder(source, Path(folder))
            return _load_huggingface_saved(Path(folder), source, split_names)
    local = storage.local_path(source)
    if local.is_dir():
        return _load_huggingface_saved(local, source, split_names)
    return _load_huggingface_hub(source, split_names)


def _download_folder(prefix_uri: str, folder: Path) -> None:
    prefix = prefix_uri.rstrip("/") + "/"
    uris = [uri for uri in storage.list_uris(prefix) if uri.startswith(prefix)]
    if not uris:
        raise SourceError(f"No objects under {prefix_uri}; expected a folder written by datasets' save_to_disk")
    for uri in uris:
        target = folder / uri[len(prefix) :]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(storage.read_bytes(uri))
    logger.info("Copied %d objects of the saved dataset %s to %s", len(uris), prefix_uri, folder)


def _empty_saved_parts(folder: Path) -> set[str]:
    """The splits of a ``save_to_disk`` folder that hold no rows (``""``: the folder is one empty Dataset).

    ``datasets`` writes no data file for a 0-row Dataset and ``load_from_disk`` then fails with an
    ``IndexError``; the loader reads such a split as an empty source, which the refresh reports as empty.
    """
    index = folder / "dataset_dict.json"
    try:
        parts = {name: folder / name for name in json.loads(index.read_text())["splits"]} if index.is_file() else {}
        parts = parts or {"": folder}
        return {
            name
            for name, path in parts.items()
            if (path / "state.json").is_file() and not json.loads((path / "state.json").read_text())["_data_files"]
        }
    except (ValueError, KeyError, TypeError, OSError):
        return set()  # not a layout this check knows: load_from_disk says what is wrong with it


def _load_huggingface_saved(folder: Path, source: str, split_names: list[str]) -> list[LoadedSource]:
    import datasets

    empty = _empty_saved_parts(folder)
    if empty:  # loaded split by split: the folder as a whole cannot be loaded (see _empty_saved_parts)
        return [_load_saved_split(folder, source, split, empty) for split in split_names]
    try:
        saved = datasets.load_from_disk(str(folder))
    except FileNotFoundError as error:
        raise SourceError(
            f"{source} is not a dataset folder written by save_to_disk ({error}); give a Hub name or such a folder"
        ) from error
    loaded = []
    for split in split_names:
        if isinstance(saved, datasets.DatasetDict):
            if split not in saved:
                raise SourceError(_no_such_saved_split(source, split, sorted(saved)))
            dataset = saved[split]
        elif split == "train":
            dataset = saved
        else:
            _refuse_split_of_a_single_dataset(source, split)
        loaded.append(_examples_from_hf_dataset(dataset, f"Hugging Face dataset {source} (saved), split {split}"))
    return loaded


def _load_saved_split(folder: Path, source: str, split: str, empty: set[str]) -> LoadedSource:
    """One split of a saved dataset that has an empty part; an empty split is an empty source."""
    import datasets

    description = f"Hugging Face dataset {source} (saved), split {split}"
    if "" in empty:  # one saved Dataset without rows: split 'train', as for a non-empty one
        return (
            LoadedSource(description=description)
            if split == "train"
            else _refuse_split_of_a_single_dataset(source, split)
        )
    if split in empty:
        return LoadedSource(description=description)
    if not (folder / split / "state.json").is_file():
        saved_splits = sorted(json.loads((folder / "dataset_dict.json").read_text())["splits"])
        raise SourceError(_no_such_saved_split(source, split, saved_splits))
    return _examples_from_hf_dataset(datasets.load_from_disk(str(folder / split)), description)


def _refuse_split_of_a_single_dataset(source: str, split: str) -> NoReturn:
    raise SourceError(
        f"{source} holds a single saved Dataset, used as split 'train'; there is no split {split!r}. "
        "Set test_source_uri to '' for a group split of it"
    )


def _no_such_saved_split(source: str, split: str, saved_splits: list[str]) -> str:
    return (
        f"The saved dataset {source} has no split {split!r} (it has {saved_splits}); "
        "set test_source_uri to one of them, or to '' for a group split of the training data"
    )


def _load_huggingface_hub(name: str, split_names: list[str]) -> list[LoadedSource]:
    import datasets

    loaded = []
    for split in split_names:
        logger.info("Loading Hugging Face dataset %s, split %s (downloads unless cached)", name, split)
        try:
            dataset = datasets.load_dataset(name, split=split)
        except Exception as error:  # datasets raises many kinds; all mean "this source is unusable here"
            raise SourceError(
                f"Could not load Hugging Face dataset {name!r}, split {split!r}: {error}. Offline, use a folder "
                "written by save_to_disk, or source_kind='squad_json' / 'jsonl' / 'sample'"
            ) from error
        loaded.append(_examples_from_hf_dataset(dataset, f"Hugging Face dataset {name}, split {split}"))
    return loaded


def _examples_from_hf_dataset(dataset: Any, description: str) -> LoadedSource:
    started = time.perf_counter()
    missing = [column for column in REQUIRED_FIELDS if column not in dataset.column_names]
    if missing:
        raise SourceError(
            f"{description} lacks the SQuAD columns {missing} (has {dataset.column_names}); "
            "map it to id, title, context, question, answers first"
        )
    loaded = LoadedSource(description=description)
    builder = ExampleBuilder()
    row = 0
    # Column batches are far faster than row-by-row access to an Arrow-backed dataset.
    for batch in dataset.select_columns(list(REQUIRED_FIELDS)).iter(batch_size=_HF_BATCH_SIZE):
        columns = [batch[name] for name in REQUIRED_FIELDS]
        for values in zip(*columns, strict=True):
            record = dict(zip(REQUIRED_FIELDS, values, strict=True))
            row += 1
            answers = record["answers"]
            if isinstance(answers, Mapping) and isinstance(answers.get("text"), list) and not answers["text"]:
                loaded.records_read += 1
                loaded.unanswerable_skipped += 1
                continue
            loaded.add(builder.build(record, f"{description}, row {row - 1}"))
        if row % 20_000 < _HF_BATCH_SIZE:
            logger.info("%s: %d rows read", description, row)
    loaded.log_loaded(started)
    return loaded


# --------------------------------------------------------------------------- packaged sample
def sample_data_path() -> Path:
    """The packaged SQuAD v1.1 sample (written by this project; see ``sample_data/README.md``)."""
    return Path(str(resources.files("gemini_qa_tuning") / "sample_data" / SAMPLE_DATA_FILE))


def load_sample() -> LoadedSource:
    """Load the packaged sample (a few original articles, a few hundred questions)."""
    return load_squad_json(str(sample_data_path()), name=f"packaged sample {SAMPLE_DATA_FILE}")
