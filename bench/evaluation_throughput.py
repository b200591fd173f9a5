"""Throughput of the evaluation runner against a quota-limited, slow Vertex AI emulator.

Starts its own fake-gcs-server and Vertex AI emulator (200 ms per call, 600 requests/minute quota by
default), builds N test questions (from the real SQuAD sample in ../shared/data when present,
otherwise synthetic text) and measures, in one run:

* a sequential loop (one request at a time, the naive way) on a subset of the questions — its rate
  does not depend on the count, so it is measured on ``--sequential-questions`` and extrapolated;
* the runner (``gemini_qa_tuning.evaluation``), paced to the quota, on all N questions.

It prints questions/s for both, the share of the quota-limited maximum (requests_per_minute / 60
questions/s) the runner reached, and the failed questions. Target: >= 90 % of the maximum and zero
failures. Run: ``.venv/bin/python bench/evaluation_throughput.py [--questions 2000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
SQUAD_SAMPLE = REPO_ROOT.parent / "shared" / "data" / "squad-sample" / "squad-v2-dev-5-articles.json"
sys.path.insert(0, str(REPO_ROOT))  # devtools/ is not installed

os.environ.setdefault("NO_GCE_CHECK", "true")
os.environ.pop("GOOGLE_APPLICATION_CREDENTIALS", None)

INSTRUCTION = "Answer the question with the shortest span copied from the context. Reply with the answer only."
BASE_MODEL = "gemini-2.0-flash-001"


def build_records(count: int) -> tuple[list[dict[str, Any]], str]:
    """``count`` test.jsonl records: the sample's answerable questions, cycled, else synthetic ones."""
    source: list[tuple[str, str, list[str]]] = []
    if SQUAD_SAMPLE.exists():
        data = json.loads(SQUAD_SAMPLE.read_text(encoding="utf-8"))
        for article in data["data"]:
            for paragraph in article["paragraphs"]:
                for qa in paragraph["qas"]:
                    if not qa.get("is_impossible") and qa["answers"]:
                        answers = [answer["text"] for answer in qa["answers"]]
                        source.append((paragraph["context"], qa["question"], answers))
        origin = f"real SQuAD sample ({len(source)} answerable questions, cycled)"
    else:
        for index in range(50):
            context = (
                f"Item {index} was made in the year {1900 + index} by the workshop of Maker {index}. "
                f"It weighs {index + 3} kilograms and is kept in Hall {index % 7}."
            )
            source.append((context, f"Who made item {index}?", [f"Maker {index}"]))
        origin = "synthetic questions (real sample not found)"
    records = []
    for index in range(count):
        context, question, answers = source[index % len(source)]
        records.append(
            {
                "id": f"bench-{index:06d}",
                "title": "bench",
                "question": question,
                "prompt": f"{INSTRUCTION}\n\nContext:\n{context}\n\nQuestion:\n{question}",
                "answers": answers,
            }
        )
    return records, origin


def make_client(base_url: str) -> Any:
    import google.oauth2.credentials
    from google import genai
    from google.genai import types

    from devtools.local_env import LOCAL_LOCATION, LOCAL_PROJECT, LOCAL_TOKEN

    return genai.Client(
        vertexai=True,
        project=LOCAL_PROJECT,
        location=LOCAL_LOCATION,
        credentials=google.oauth2.credentials.Credentials(token=LOCAL_TOKEN),
        http_options=types.HttpOptions(base_url=base_url, retry_options=types.HttpRetryOptions(attempts=1)),
    )


async def sequential_loop(client: Any, records: list[dict[str, Any]], max_output_tokens: int) -> tuple[float, int]:
    """One request after another (no concurrency, no retries): (seconds, failures)."""
    from google.genai import types

    config = types.GenerateContentConfig(temperature=0.0, max_output_tokens=max_output_tokens)
    failures = 0
    started = time.perf_counter()
    for record in records:
        try:
            await client.aio.models.generate_content(model=BASE_MODEL, contents=record["prompt"], config=config)
        except Exception:
            failures += 1
    elapsed = time.perf_counter() - started
    await client.aio.aclose()  # the HTTP session belongs to this event loop
    return elapsed, failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=2000, help="questions for the runner (default 2000)")
    parser.add_argument(
        "--sequential-questions", type=int, default=50, help="questions for the sequential loop (default 50)"
    )
    parser.add_argument("--latency", type=float, default=0.2, help="emulator latency per call, seconds")
    parser.add_argument("--rpm", type=int, default=600, help="emulator quota, requests per minute")
    parser.add_argument("--concurrency", type=int, default=8, help="runner concurrency")
    parser.add_argument(
        "--unpaced",
        action="store_true",
        help="do not tell the runner the quota (it then relies on 429 + Retry-After handling)",
    )
    parser.add_argument("--verbose", action="store_true", help="show the runner's progress log")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    if args.verbose:
        logging.getLogger("gemini_qa_tuning").setLevel(logging.INFO)

    from devtools.gcs_emulator import GcsEmulator
    from devtools.local_env import LOCAL_BUCKET
    from devtools.vertex_emulator.process import VertexEmulatorProcess
    from gemini_qa_tuning import storage
    from gemini_qa_tuning.evaluation import EvaluationSettings, run_predictions

    records, origin = build_records(args.questions)
    quota_max_rate = args.rpm / 60.0
    settings = EvaluationSettings(
        concurrency=args.concurrency,
        max_output_tokens=64,
        request_timeout_seconds=30.0,
        max_attempts=8,
        backoff_base_seconds=0.5,
        backoff_cap_seconds=65.0,
        error_share_limit=0.0,
        checkpoint_batch_size=200,
        requests_per_minute=None if args.unpaced else args.rpm,
        progress_interval_seconds=20.0,
    )
    faults = {"latency_seconds": args.latency, "requests_per_minute": args.rpm, "fault_methods": ["generateContent"]}

    with tempfile.TemporaryDirectory(prefix="bench-eval-") as scratch:
        gcs = GcsEmulator(backend="memory", log_file=Path(scratch) / "gcs.log").start()
        try:
            os.environ["STORAGE_EMULATOR_HOST"] = gcs.endpoint
            with VertexEmulatorProcess(gcs_endpoint=gcs.endpoint) as vertex:
                vertex.configure(**faults)
                client = make_client(vertex.base_url)
                prefix = f"gs://{LOCAL_BUCKET}/bench-{uuid.uuid4().hex[:8]}"
                test_uri = f"{prefix}/test.jsonl"
                storage.write_text(test_uri, "".join(json.dumps(record) + "\n" for record in records))

                sequential = records[: args.sequential_questions]
                sequential_seconds, sequential_failures = asyncio.run(sequential_loop(client, sequential, 64))
                sequential_rate = len(sequential) / sequential_seconds

                vertex.reset()  # a fresh quota window for the runner
                vertex.configure(**faults)
                started = time.perf_counter()
                run = run_predictions(client, BASE_MODEL, test_uri, f"{prefix}/eval", settings, slug="base")
                runner_seconds = time.perf_counter() - started
                counts = vertex.request_counts()
                client.close()
        finally:
            gcs.stop()

    scores = run.scores
    runner_rate = scores.questions / runner_seconds
    rejected = counts.get("generateContent", 0) - counts.get("generateContent.ok", 0)
    mode = "unpaced (429 handling only)" if args.unpaced else f"paced to {args.rpm} requests/min"
    print(f"questions: {scores.questions} from {origin}")
    print(f"emulator: {args.latency * 1000:.0f} ms per call, quota {args.rpm} requests/min")
    print(
        f"sequential loop: {sequential_rate:.2f} questions/s "
        f"(measured on {len(sequential)} questions in {sequential_seconds:.1f} s, {sequential_failures} failed; "
        f"{args.questions} would take ~{args.questions / sequential_rate:.0f} s)"
    )
    print(
        f"runner ({mode}, concurrency {args.concurrency}): {runner_rate:.2f} questions/s "
        f"({scores.questions} in {runner_seconds:.1f} s, incl. reading the test set and writing results)"
    )
    print(f"quota-limited maximum: {quota_max_rate:.2f} questions/s")
    print(f"share of quota-limited maximum reached: {100 * runner_rate / quota_max_rate:.1f} %")
    print(f"speed-up over sequential: {runner_rate / sequential_rate:.1f}x")
    print(
        f"failed questions: {scores.errors}; requests sent {counts.get('generateContent', 0)}, "
        f"rejected by the emulator (429/503) {rejected}, retries {run.retries}"
    )
    print(f"EM {scores.exact_match:.2f}  F1 {scores.f1:.2f}  (the emulator's base reader, not Gemini)")
    target_met = runner_rate >= 0.9 * quota_max_rate and scores.errors == 0
    print(f"target (>= 90 % of maximum, 0 failed): {'met' if target_met else 'NOT met'}")
    return 0 if target_met else 1


if __name__ == "__main__":
    sys.exit(main())
