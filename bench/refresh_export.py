"""Dataset refresh + export at SQuAD scale, against the GCS emulator, next to a bare baseline.

Builds a SQuAD v1.1-scale input (default 88,000 train + 10,500 held-out questions) by repeating the real
SQuAD sample in ../shared/data (or, when absent, the project's packaged sample) with each copy's titles,
contexts and ids made unique, plus a few broken and duplicated records so those paths do real work. Both
files go to a fresh fake-gcs-server. Then, each in its own process so that peak RSS is its own:

* **baseline** — read both SQuAD JSON files from GCS, flatten every question to one JSONL line
  (id, title, context, question, answers) and write the two JSONL files to GCS: the least any export does;
* **pipeline** — ``refresh_examples`` (load, clean, validate, deduplicate, group split, sample) and
  ``export_refreshed`` (render Gemini tuning JSONL + test JSONL + rejects + manifest, fingerprint,
  write to GCS);
* **rerun** — the pipeline again on the same data: it must write no object.

Prints wall time, peak RSS and examples/s for each. Targets (2 cores): pipeline <= 15 s and <= 1 GiB
peak RSS, and within 3x the baseline's wall time.

**Vertex-maximum case** (``--case max``): Vertex AI accepts at most 1,000,000 training examples and a
1 GB training file. The benchmark generates 1,000,000 synthetic SQuAD-style questions (plus 10,000
held-out ones) as JSONL — the source kind a corpus of that size comes in — on local disk (deterministic,
generation not timed), then, each in its own process:

* **baseline** — stream the JSONL, render every question with the prompt template and write one Gemini
  tuning line each (``train.jsonl``): the least any export at this size does;
* **pipeline** — ``refresh_examples`` + ``export_refreshed`` on the same files, to local disk.

Targets (2 cores): pipeline <= 60 s and <= 1.5 GiB peak RSS, and within 2x the baseline's wall time.
Run: ``.venv/bin/python bench/refresh_export.py [--case squad|max|all] [--train 88000 --test 10500]
[--max-train 1000000]``. ``uptime``'s load is printed: on a shared machine the numbers are noisy.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
SQUAD_SAMPLE = REPO_ROOT.parent / "shared" / "data" / "squad-sample" / "squad-v2-dev-5-articles.json"
sys.path.insert(0, str(REPO_ROOT))  # devtools/ is not installed

os.environ.setdefault("NO_GCE_CHECK", "true")
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
os.environ.pop("GOOGLE_APPLICATION_CREDENTIALS", None)

BUCKET = "gemini-qa-tuning"
TRAIN_URI = f"gs://{BUCKET}/bench/source/train-v1.1.json"
TEST_URI = f"gs://{BUCKET}/bench/source/dev-v1.1.json"
TARGET_SECONDS = 15.0
TARGET_RSS_BYTES = 1 << 30
TARGET_RATIO = 3.0
BROKEN_EVERY = 500  # one broken record per 500 questions: 0.2 %, well under the 5 % reject limit
DUPLICATE_EVERY = 300  # and one exact repeat per 300

MAX_TRAIN_EXAMPLES = 1_000_000  # Vertex AI's limit for a training file (text examples)
MAX_TEST_EXAMPLES = 10_000
MAX_TARGET_SECONDS = 60.0
MAX_TARGET_RSS_BYTES = 3 << 29  # 1.5 GiB
MAX_TARGET_RATIO = 2.0
QUESTIONS_PER_PARAGRAPH = 5  # as in SQuAD
PARAGRAPHS_PER_ARTICLE = 40


# --------------------------------------------------------------------------- input
def seed_paragraphs() -> tuple[list[tuple[str, str, list[dict[str, Any]]]], str]:
    """(title, context, qas) of the usable questions of the real sample, else of the packaged one.

    The seed goes through the library's own loading, validation and deduplication (which also drops
    SQuAD 2.0's unanswerable questions and the packaged sample's deliberately flawed ones), so that the only
    broken and repeated records of the generated input are the ones :func:`build_squad` adds on purpose.
    """
    from gemini_qa_tuning.dataset import load_squad_json, sample_data_path
    from gemini_qa_tuning.dataset.processing import deduplicate, validate_examples
    from gemini_qa_tuning.dataset.settings import VERTEX_MAX_EXAMPLE_TOKENS
    from gemini_qa_tuning.prompt import DEFAULT_PROMPT_TEMPLATE

    if SQUAD_SAMPLE.exists():
        path, origin = SQUAD_SAMPLE, "real SQuAD sample (../shared/data)"
    else:
        path, origin = sample_data_path(), "packaged sample (real SQuAD sample not found)"
    loaded = load_squad_json(str(path))
    valid = validate_examples(loaded.examples, DEFAULT_PROMPT_TEMPLATE, VERTEX_MAX_EXAMPLE_TOKENS).valid
    paragraphs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for example in deduplicate(valid).kept:
        paragraphs.setdefault((example.title, example.context), []).append(
            {"id": example.id, "question": example.question, "answers": [{"text": a} for a in example.answers]}
        )
    return [(title, context, qas) for (title, context), qas in paragraphs.items()], origin


def build_squad(paragraphs: list[tuple[str, str, list[dict[str, Any]]]], questions: int, tag: str) -> dict[str, Any]:
    """A SQuAD v1.1 document of about ``questions`` questions: copies of the seed with unique titles/contexts."""
    articles: dict[str, dict[str, Any]] = {}
    count = copy = 0
    while count < questions:
        for title, context, qas in paragraphs:
            if count >= questions:
                break
            copy_title = f"{title}_{tag}{copy}"
            # A distinct sentence per copy keeps contexts unique, so the copies are not deduplicated away.
            copy_context = f"{context} (Edition {tag}{copy}.)"
            copy_qas = []
            for qa in qas:
                count += 1
                item = {"id": f"{qa['id']}-{tag}{copy}", "question": qa["question"], "answers": qa["answers"]}
                if count % BROKEN_EVERY == 0:
                    item = {"id": item["id"], "question": item["question"], "answers": [{"text": "not in context"}]}
                copy_qas.append(item)
                if count % DUPLICATE_EVERY == 0:
                    copy_qas.append({**item, "id": item["id"] + "-dup"})
            article = articles.setdefault(copy_title, {"title": copy_title, "paragraphs": []})
            article["paragraphs"].append({"context": copy_context, "qas": copy_qas})
        copy += 1
    return {"version": "1.1", "data": list(articles.values())}


# --------------------------------------------------------------------------- Vertex-maximum input
def _vocabulary(rng: random.Random, size: int = 4_000) -> list[str]:
    """Pseudo-words of 3-10 lowercase letters, distinct, in a fixed order for a given generator."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    words: dict[str, None] = {}
    while len(words) < size:
        words["".join(rng.choices(letters, k=rng.randint(3, 10)))] = None
    return list(words)


def write_synthetic_jsonl(path: Path, questions: int, tag: str, seed: int) -> int:
    """Write ``questions`` SQuAD-style JSONL records (5 per paragraph, 40 paragraphs per article); return bytes.

    Deterministic for a given ``seed``. Contexts are five ~15-word sentences (~500 characters, SQuAD's
    median is ~700); every answer is a 1-3 word span of its context, except one broken record per
    ``BROKEN_EVERY`` questions (answer not in context) and one repeated question per ``DUPLICATE_EVERY``.
    """
    rng = random.Random(seed)
    vocabulary = _vocabulary(rng)
    encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
    count = paragraph = 0
    written = 0
    with path.open("w", encoding="utf-8") as handle:
        while count < questions:
            words = rng.choices(vocabulary, k=75)
            sentences = [" ".join(words[i : i + 15]).capitalize() + "." for i in range(0, 75, 15)]
            context = " ".join(sentences)
            title = f"{tag.upper()} article {paragraph // PARAGRAPHS_PER_ARTICLE:06d} {words[0]}"
            lines = []
            for number in range(QUESTIONS_PER_PARAGRAPH):
                if count >= questions:
                    break
                count += 1
                # Within one sentence, so that the span never crosses a sentence's full stop.
                offset = rng.randrange(0, 12)
                start = 15 * rng.randrange(0, 5) + offset
                answer = " ".join(words[start : start + rng.randint(1, 3)])
                if offset == 0:
                    answer = answer.capitalize()  # a sentence's first word is capitalized in the context
                question_words = rng.choices(vocabulary, k=rng.randint(5, 9))
                question_id = f"{tag}{paragraph:07d}q{number}"
                record: dict[str, Any] = {
                    "id": question_id,
                    "title": title,
                    "context": context,
                    "question": "What " + " ".join(question_words) + "?",
                    "answers": [answer],
                }
                if count % BROKEN_EVERY == 0:
                    record["answers"] = ["not in context"]
                lines.append(encoder.encode(record))
                if count % DUPLICATE_EVERY == 0:
                    lines.append(encoder.encode({**record, "id": question_id + "-dup"}))
            text = "\n".join(lines) + "\n"
            handle.write(text)
            written += len(text.encode())
            paragraph += 1
    return written


# --------------------------------------------------------------------------- phases (child processes)
def run_baseline() -> dict[str, Any]:
    from gemini_qa_tuning import storage

    started = time.perf_counter()
    examples = 0
    for source_uri in (TRAIN_URI, TEST_URI):
        document = json.loads(storage.read_bytes(source_uri))
        lines = []
        for article in document["data"]:
            for paragraph in article["paragraphs"]:
                for qa in paragraph["qas"]:
                    record = {
                        "id": qa["id"],
                        "title": article["title"],
                        "context": paragraph["context"],
                        "question": qa["question"],
                        "answers": [answer["text"] for answer in qa["answers"]],
                    }
                    lines.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
        del document
        examples += len(lines)
        data = ("\n".join(lines) + "\n").encode()
        del lines
        storage.write_bytes(source_uri.replace("/source/", "/baseline/") + "l", data)
    return {"seconds": time.perf_counter() - started, "examples": examples}


def run_pipeline() -> dict[str, Any]:
    from gemini_qa_tuning.dataset import DatasetSettings, export_refreshed, refresh_examples

    started = time.perf_counter()
    result = refresh_examples(
        DatasetSettings(source_kind="squad_json", source_uri=TRAIN_URI, test_source_uri=TEST_URI, seed=0)
    )
    refreshed = time.perf_counter()
    exported = export_refreshed(result, f"gs://{BUCKET}/bench/datasets", epochs=3, price_per_million_tokens=8.0)
    finished = time.perf_counter()
    counts = exported.counts.to_json()
    return {
        "seconds": finished - started,
        "refresh_seconds": refreshed - started,
        "export_seconds": finished - refreshed,
        "examples": counts["records_read"],
        "counts": {k: counts[k] for k in ("train", "validation", "test", "rejected", "duplicates_dropped")},
        "rejects_by_reason": dict(exported.rejects_by_reason),
        "objects_written": exported.objects_written,
        "fingerprint": exported.fingerprint,
        "training_tokens": exported.training_tokens,
    }


def run_max_baseline(train_path: Path, output: Path) -> dict[str, Any]:
    """Stream the JSONL source, write one Gemini tuning line per question: stdlib json, no checks, no splits."""
    from gemini_qa_tuning.prompt import DEFAULT_PROMPT_TEMPLATE

    encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
    started = time.perf_counter()
    examples = 0
    with train_path.open(encoding="utf-8") as source, (output / "train.jsonl").open("w", encoding="utf-8") as sink:
        for line in source:
            record = json.loads(line)
            prompt = DEFAULT_PROMPT_TEMPLATE.render(context=record["context"], question=record["question"])
            answer = record["answers"][0].lower()
            contents = [{"role": "user", "parts": [{"text": prompt}]}, {"role": "model", "parts": [{"text": answer}]}]
            sink.write(encoder.encode({"contents": contents}) + "\n")
            examples += 1
    return {"seconds": time.perf_counter() - started, "examples": examples}


def run_max_pipeline(train_path: Path, test_path: Path, output: Path) -> dict[str, Any]:
    from gemini_qa_tuning.dataset import DatasetSettings, export_refreshed, refresh_examples

    started = time.perf_counter()
    settings = DatasetSettings(source_kind="jsonl", source_uri=str(train_path), test_source_uri=str(test_path))
    result = refresh_examples(settings)
    refreshed = time.perf_counter()
    exported = export_refreshed(result, str(output / "datasets"), epochs=1, price_per_million_tokens=8.0)
    finished = time.perf_counter()
    counts = exported.counts.to_json()
    manifest = json.loads(Path(exported.manifest_uri).read_text())
    return {
        "seconds": finished - started,
        "refresh_seconds": refreshed - started,
        "export_seconds": finished - refreshed,
        "examples": counts["records_read"],
        "counts": {k: counts[k] for k in ("train", "validation", "test", "rejected", "duplicates_dropped")},
        "rejects_by_reason": dict(exported.rejects_by_reason),
        "objects_written": exported.objects_written,
        "fingerprint": exported.fingerprint,
        "training_tokens": exported.training_tokens,
        "train_bytes": manifest["files"]["train.jsonl"]["bytes"],
    }


def child(phase: str, paths: list[str]) -> None:
    logging.basicConfig(level=logging.WARNING)
    if phase == "baseline":
        outcome = run_baseline()
    elif phase == "pipeline":
        outcome = run_pipeline()
    elif phase == "max-baseline":
        outcome = run_max_baseline(Path(paths[0]), Path(paths[1]))
    else:
        outcome = run_max_pipeline(Path(paths[0]), Path(paths[1]), Path(paths[2]))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    outcome["peak_rss_bytes"] = usage.ru_maxrss * 1024  # ru_maxrss is in KiB on Linux
    # CPU seconds of the whole process (imports included): less sensitive than wall time to other load.
    outcome["cpu_seconds"] = usage.ru_utime + usage.ru_stime
    print("RESULT " + json.dumps(outcome), flush=True)


def run_child(phase: str, endpoint: str | None = None, paths: tuple[str, ...] = ()) -> dict[str, Any]:
    environment = dict(os.environ)
    if endpoint:
        environment["STORAGE_EMULATOR_HOST"] = endpoint
    completed = subprocess.run(
        [sys.executable, __file__, "--phase", phase, *paths],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"{phase} failed:\n{completed.stdout}\n{completed.stderr}")
    line = next(line for line in completed.stdout.splitlines() if line.startswith("RESULT "))
    return dict(json.loads(line[len("RESULT ") :]))


def row(name: str, outcome: dict[str, Any]) -> str:
    rate = outcome["examples"] / outcome["seconds"]
    rss = outcome["peak_rss_bytes"] / (1 << 20)
    return (
        f"{name:<10} {outcome['seconds']:8.2f} s {rss:9.0f} MiB {rate:12,.0f} examples/s"
        f" {outcome['cpu_seconds']:8.2f} s CPU"
    )


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    usable = len(os.sched_getaffinity(0))
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs ({usable} usable)"


# --------------------------------------------------------------------------- cases
def squad_case(train: int, test: int) -> bool:
    """The SQuAD v1.1-scale case on the GCS emulator; True when every target is met."""
    from devtools.gcs_emulator import GcsEmulator

    log_file = REPO_ROOT / ".local" / "bench" / "fake-gcs-server.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with GcsEmulator(backend="memory", log_file=log_file) as emulator:
        os.environ["STORAGE_EMULATOR_HOST"] = emulator.endpoint
        from gemini_qa_tuning import storage

        paragraphs, origin = seed_paragraphs()
        started = time.perf_counter()
        train_document = build_squad(paragraphs, train, "t")
        test_document = build_squad(paragraphs, test, "d")
        storage.write_bytes(TRAIN_URI, json.dumps(train_document).encode(), content_type="application/json")
        storage.write_bytes(TEST_URI, json.dumps(test_document).encode(), content_type="application/json")
        del train_document, test_document
        print(
            f"input: {train:,} train + {test:,} held-out questions from the {origin}, "
            f"uploaded to {emulator.endpoint} in {time.perf_counter() - started:.1f} s"
        )
        print(f"cores available: {len(os.sched_getaffinity(0))}; {load_line()}")

        baseline = run_child("baseline", emulator.endpoint)
        pipeline = run_child("pipeline", emulator.endpoint)
        rerun = run_child("pipeline", emulator.endpoint)

    print(f"{'phase':<10} {'wall':>10} {'peak RSS':>13} {'throughput':>23} {'cpu':>10}")
    print(row("baseline", baseline))
    print(
        row("pipeline", pipeline)
        + f"   (refresh {pipeline['refresh_seconds']:.2f} s + export {pipeline['export_seconds']:.2f} s)"
    )
    print(row("rerun", rerun) + f"   (objects written: {rerun['objects_written']})")
    print(f"pipeline counts: {pipeline['counts']}; rejects by reason: {pipeline['rejects_by_reason']}")
    print(f"fingerprint {pipeline['fingerprint']}, {pipeline['training_tokens']:,} training tokens (estimated)")
    ratio = pipeline["seconds"] / baseline["seconds"]
    checks = {
        f"wall <= {TARGET_SECONDS:.0f} s": pipeline["seconds"] <= TARGET_SECONDS,
        "peak RSS <= 1 GiB": pipeline["peak_rss_bytes"] <= TARGET_RSS_BYTES,
        f"within {TARGET_RATIO:.0f}x baseline ({ratio:.2f}x)": ratio <= TARGET_RATIO,
        "rerun wrote nothing": rerun["objects_written"] == 0 and rerun["fingerprint"] == pipeline["fingerprint"],
    }
    return report(checks)


def max_case(train: int, test: int) -> bool:
    """The Vertex-maximum case on local disk; True when every target is met."""
    work = Path(tempfile.mkdtemp(prefix="refresh-export-max-", dir=os.environ.get("BENCH_TMPDIR")))
    try:
        started = time.perf_counter()
        train_path, test_path = work / "train.jsonl", work / "test.jsonl"
        source_bytes = write_synthetic_jsonl(train_path, train, "t", seed=1)
        source_bytes += write_synthetic_jsonl(test_path, test, "d", seed=2)
        print(
            f"\nVertex-maximum case — input: {train:,} train + {test:,} held-out synthetic SQuAD-style questions "
            f"as JSONL ({source_bytes / 1e9:.2f} GB) in {work}, generated in {time.perf_counter() - started:.1f} s"
        )
        print(f"cores available: {len(os.sched_getaffinity(0))}; {load_line()}")
        (work / "baseline").mkdir()
        baseline = run_child("max-baseline", paths=(str(train_path), str(work / "baseline")))
        shutil.rmtree(work / "baseline")  # its ~1 GB output is not needed any longer
        pipeline = run_child("max-pipeline", paths=(str(train_path), str(test_path), str(work)))
        print(f"after the runs: {load_line()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"{'phase':<10} {'wall':>10} {'peak RSS':>13} {'throughput':>23} {'cpu':>10}")
    print(row("baseline", baseline))
    print(
        row("pipeline", pipeline)
        + f"   (refresh {pipeline['refresh_seconds']:.2f} s + export {pipeline['export_seconds']:.2f} s)"
    )
    print(f"pipeline counts: {pipeline['counts']}; rejects by reason: {pipeline['rejects_by_reason']}")
    print(
        f"fingerprint {pipeline['fingerprint']}, train.jsonl {pipeline['train_bytes']:,} bytes, "
        f"{pipeline['training_tokens']:,} training tokens (estimated)"
    )
    ratio = pipeline["seconds"] / baseline["seconds"]
    cpu_ratio = pipeline["cpu_seconds"] / baseline["cpu_seconds"]
    print(f"CPU-time ratio to baseline {cpu_ratio:.2f}x (a load-independent cross-check of the wall ratio)")
    checks = {
        f"wall <= {MAX_TARGET_SECONDS:.0f} s": pipeline["seconds"] <= MAX_TARGET_SECONDS,
        "peak RSS <= 1.5 GiB": pipeline["peak_rss_bytes"] <= MAX_TARGET_RSS_BYTES,
        f"within {MAX_TARGET_RATIO:.0f}x baseline ({ratio:.2f}x)": ratio <= MAX_TARGET_RATIO,
    }
    return report(checks)


def report(checks: dict[str, bool]) -> bool:
    for name, passed in checks.items():
        print(f"{'PASS' if passed else 'FAIL'}  {name}")
    return all(checks.values())


# --------------------------------------------------------------------------- main
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=["squad", "max", "all"], default="all", help="which case to run")
    parser.add_argument("--train", type=int, default=88_000, help="train questions to generate (SQuAD case)")
    parser.add_argument("--test", type=int, default=10_500, help="held-out questions to generate (SQuAD case)")
    parser.add_argument("--max-train", type=int, default=MAX_TRAIN_EXAMPLES, help="train questions (max case)")
    parser.add_argument("--max-test", type=int, default=MAX_TEST_EXAMPLES, help="held-out questions (max case)")
    parser.add_argument(
        "--phase", choices=["baseline", "pipeline", "max-baseline", "max-pipeline"], help=argparse.SUPPRESS
    )
    parser.add_argument("paths", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        child(args.phase, args.paths)
        return 0
    passed = True
    if args.case in ("squad", "all"):
        passed = squad_case(args.train, args.test) and passed
    if args.case in ("max", "all"):
        passed = max_case(args.max_train, args.max_test) and passed
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
