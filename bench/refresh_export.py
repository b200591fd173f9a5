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
Run: ``.venv/bin/python bench/refresh_export.py [--train 88000 --test 10500]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
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


def child(phase: str) -> None:
    logging.basicConfig(level=logging.WARNING)
    outcome = run_baseline() if phase == "baseline" else run_pipeline()
    # ru_maxrss is in KiB on Linux.
    outcome["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print("RESULT " + json.dumps(outcome), flush=True)


def run_child(phase: str, endpoint: str) -> dict[str, Any]:
    environment = {**os.environ, "STORAGE_EMULATOR_HOST": endpoint}
    completed = subprocess.run(
        [sys.executable, __file__, "--phase", phase], env=environment, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise SystemExit(f"{phase} failed:\n{completed.stdout}\n{completed.stderr}")
    line = next(line for line in completed.stdout.splitlines() if line.startswith("RESULT "))
    return dict(json.loads(line[len("RESULT ") :]))


# --------------------------------------------------------------------------- main
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=88_000, help="train questions to generate")
    parser.add_argument("--test", type=int, default=10_500, help="held-out questions to generate")
    parser.add_argument("--phase", choices=["baseline", "pipeline"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        child(args.phase)
        return 0

    from devtools.gcs_emulator import GcsEmulator

    log_file = REPO_ROOT / ".local" / "bench" / "fake-gcs-server.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with GcsEmulator(backend="memory", log_file=log_file) as emulator:
        os.environ["STORAGE_EMULATOR_HOST"] = emulator.endpoint
        from gemini_qa_tuning import storage

        paragraphs, origin = seed_paragraphs()
        started = time.perf_counter()
        train_document = build_squad(paragraphs, args.train, "t")
        test_document = build_squad(paragraphs, args.test, "d")
        storage.write_bytes(TRAIN_URI, json.dumps(train_document).encode(), content_type="application/json")
        storage.write_bytes(TEST_URI, json.dumps(test_document).encode(), content_type="application/json")
        del train_document, test_document
        print(
            f"input: {args.train:,} train + {args.test:,} held-out questions from the {origin}, "
            f"uploaded to {emulator.endpoint} in {time.perf_counter() - started:.1f} s"
        )
        print(f"cores available: {len(os.sched_getaffinity(0))}")

        baseline = run_child("baseline", emulator.endpoint)
        pipeline = run_child("pipeline", emulator.endpoint)
        rerun = run_child("pipeline", emulator.endpoint)

    def row(name: str, outcome: dict[str, Any]) -> str:
        rate = outcome["examples"] / outcome["seconds"]
        rss = outcome["peak_rss_bytes"] / (1 << 20)
        return f"{name:<10} {outcome['seconds']:8.2f} s {rss:9.0f} MiB {rate:12,.0f} examples/s"

    print(f"{'phase':<10} {'wall':>10} {'peak RSS':>13} {'throughput':>23}")
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
    for name, passed in checks.items():
        print(f"{'PASS' if passed else 'FAIL'}  {name}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
