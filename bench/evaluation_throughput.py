"""Throughput of the evaluation runner against a quota-limited, slow Vertex AI emulator.

Starts its own fake-gcs-server and Vertex AI emulator (200 ms per call, 600 requests/minute quota by
default), builds N test questions (from the real SQuAD sample in ../shared/data when present,
otherwise synthetic text) and measures, in one run:

* a sequential loop (one request at a time, the naive way) on a subset of the questions — its rate
  does not depend on the count, so it is measured on ``--sequential-questions`` and extrapolated;
* the runner (``gemini_qa_tuning.evaluation``), paced to the quota, on all N questions;
* the unknown-quota run (issue 13): the same questions, the runner NOT told the quota — it finds the
  rate from the 429s (Vertex sends them without Retry-After, and so does the emulator here);
* the same unknown-quota run with the quota halved (``POST /_emulator/quota``, window history kept)
  once half of the questions are answered.

It prints questions/s, the share of the quota-limited maximum (requests_per_minute per window) each run
reached, the failed questions and 429s, and the targets with PASS/FAIL: known quota >= 90 % and zero
failures; unknown quota >= 90 % and zero failures; halved quota zero failures (its share of the
time-weighted quota is printed too). ``--quota-window-seconds`` shortens the emulator's quota window
(default 60 s, as on Vertex) for a quicker run.
Run: ``.venv/bin/python bench/evaluation_throughput.py [--questions 2000]``.

``--case batch`` (issue 13) instead compares batch and online evaluation of 10,000 questions on the
emulator: one Vertex batch prediction job (written, submitted, waited for, read and scored by
:mod:`gemini_qa_tuning.evaluation.batch`) against the online runner at the emulator's quota; it prints the
wall time, the API requests and the cost at list prices of each, and the target: the batch scores equal
the online scores, at half the online cost, in less wall time, with far fewer requests and 0 failures.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import sys
import tempfile
import threading
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
BASE_MODEL = "gemini-3.5-flash-lite"


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
    case_parser = argparse.ArgumentParser(add_help=False)
    case_parser.add_argument("--case", choices=["quota", "batch"], default="quota")
    case, rest = case_parser.parse_known_args(argv)
    if case.case == "batch":  # its own function and options (issue 13)
        return batch_case(rest)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", choices=["quota", "batch"], default="quota", help="quota (default) or batch")
    parser.add_argument("--questions", type=int, default=2000, help="questions for the runner (default 2000)")
    parser.add_argument(
        "--sequential-questions", type=int, default=50, help="questions for the sequential loop (default 50)"
    )
    parser.add_argument("--latency", type=float, default=0.2, help="emulator latency per call, seconds")
    parser.add_argument("--rpm", type=int, default=600, help="emulator quota, requests per minute")
    parser.add_argument("--concurrency", type=int, default=8, help="runner concurrency")
    parser.add_argument(
        "--quota-window-seconds", type=float, default=60.0, help="the emulator's quota window (Vertex: 60 s)"
    )
    parser.add_argument("--skip-unknown", action="store_true", help="only the sequential and known-quota runs")
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
    from gemini_qa_tuning.evaluation import EvaluationSettings, ThinkingChoice, run_predictions

    records, origin = build_records(args.questions)
    quota_max_rate = args.rpm / args.quota_window_seconds
    settings = EvaluationSettings(
        concurrency=args.concurrency,
        max_output_tokens=64,
        request_timeout_seconds=30.0,
        max_attempts=8,
        backoff_base_seconds=0.5,
        backoff_cap_seconds=65.0,
        error_share_limit=0.0,
        requests_per_minute=None if args.unpaced else round(quota_max_rate * 60),
        quota_period_seconds=args.quota_window_seconds,
        progress_interval_seconds=20.0,
        thinking=ThinkingChoice(level="MINIMAL", budget=None, reserved_tokens=256, reason="the model's lowest"),
    )
    unknown_settings = dataclasses.replace(settings, requests_per_minute=None)
    faults = {
        "latency_seconds": args.latency,
        "requests_per_minute": args.rpm,
        "quota_window_seconds": args.quota_window_seconds,
        "fault_methods": ["generateContent"],
    }

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
                unknown: list[QuotaRun] = []
                if not args.skip_unknown:
                    for halve in (False, True):
                        vertex.reset()
                        vertex.configure(**faults)
                        unknown.append(
                            unknown_quota_run(
                                vertex,
                                client,
                                test_uri,
                                f"{prefix}/eval-unknown-{int(halve)}",
                                unknown_settings,
                                args.rpm,
                                args.quota_window_seconds,
                                halve,
                            )
                        )
                client.close()
        finally:
            gcs.stop()

    scores = run.scores
    runner_rate = scores.questions / runner_seconds
    rejected = counts.get("generateContent", 0) - counts.get("generateContent.ok", 0)
    mode = "not told the quota" if args.unpaced else f"told the quota ({args.rpm} per {args.quota_window_seconds:g} s)"
    print(f"questions: {scores.questions} from {origin}")
    print(
        f"emulator: {args.latency * 1000:.0f} ms per call, quota {args.rpm} requests per "
        f"{args.quota_window_seconds:g} s window (no Retry-After on 429)"
    )
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
    all_met = target_met
    for quota_run in unknown:
        all_met = quota_run.report() and all_met
    return 0 if all_met else 1


@dataclasses.dataclass(frozen=True)
class QuotaRun:
    """One unknown-quota run: the runner is not told the quota (``requests_per_minute`` None)."""

    questions: int
    seconds: float
    failed: int
    requests: int
    rejected: int
    quota: int
    window: float
    halved_at: float | None  # seconds into the run when the quota was halved

    @property
    def ideal_seconds(self) -> float:
        """Time the quota alone allows: q per window, q/2 per window after the halving."""
        rate = self.quota / self.window
        if self.halved_at is None:
            return self.questions / rate
        before = min(self.questions, self.halved_at * rate)
        return self.halved_at + (self.questions - before) / (rate / 2)

    def report(self) -> bool:
        share = self.ideal_seconds / self.seconds
        if self.halved_at is None:
            name = "unknown quota"
            met = share >= 0.9 and self.failed == 0
            target = ">= 90 % of the quota it was not told, 0 failed"
        else:
            name = f"unknown quota, halved to {self.quota // 2} after {self.halved_at:.0f} s"
            met = self.failed == 0
            target = "0 failed"
        print(
            f"{name}: {self.questions / self.seconds:.2f} questions/s ({self.questions} in {self.seconds:.1f} s), "
            f"{100 * share:.1f} % of the quota-limited maximum; failed questions {self.failed}; "
            f"requests {self.requests}, rejected with 429 {self.rejected}"
        )
        print(f"target ({target}): {'PASS' if met else 'FAIL'}")
        return met


def unknown_quota_run(
    vertex: Any, client: Any, test_uri: str, output: str, settings: Any, rpm: int, window: float, halve: bool
) -> QuotaRun:
    """Run the evaluation without telling it the quota; with ``halve``, halve the quota once half the
    questions are answered (a watcher thread polls the emulator's answered count)."""
    from gemini_qa_tuning.evaluation import load_test_questions, run_predictions

    total = len(load_test_questions(test_uri))
    started = time.perf_counter()
    halved_at: list[float] = []
    finished = threading.Event()

    def halve_midway() -> None:
        while not finished.wait(0.2):
            if vertex.request_counts().get("generateContent.ok", 0) >= total // 2:
                vertex.set_quota(rpm // 2)
                halved_at.append(time.perf_counter() - started)
                return

    watcher = threading.Thread(target=halve_midway, daemon=True)
    if halve:
        watcher.start()
    try:
        run = run_predictions(client, BASE_MODEL, test_uri, output, settings, slug="base")
    finally:
        finished.set()
    seconds = time.perf_counter() - started
    counts = vertex.request_counts()
    return QuotaRun(
        questions=run.scores.questions,
        seconds=seconds,
        failed=run.scores.errors,
        requests=counts.get("generateContent", 0),
        rejected=counts.get("generateContent", 0) - counts.get("generateContent.ok", 0),
        quota=rpm,
        window=window,
        halved_at=halved_at[0] if halved_at else None if not halve else seconds,
    )


# --------------------------------------------------------------------------- batch vs online (issue 13)
def _token_cost(prompt_tokens: int, output_tokens: int, price: Any, share: float) -> float | None:
    if price is None:
        return None
    return share * (prompt_tokens * price.input_per_million + output_tokens * price.output_per_million) / 1e6


def _api_requests(counts: dict[str, int]) -> int:
    """API calls received (the ``*.ok`` keys count answered calls again; ``unknown`` is no API call)."""
    return sum(count for key, count in counts.items() if not key.endswith(".ok") and key != "unknown")


def batch_case(argv: list[str]) -> int:
    """Batch vs online for the same questions on the emulator: wall time, requests, cost; prints a target."""
    parser = argparse.ArgumentParser(description="batch vs online evaluation (bench/evaluation_throughput.py)")
    parser.add_argument("--questions", type=int, default=10_000, help="questions (default 10,000)")
    parser.add_argument("--latency", type=float, default=0.2, help="emulator latency per online call, seconds")
    parser.add_argument("--rpm", type=int, default=6000, help="emulator online quota, requests per minute")
    parser.add_argument("--concurrency", type=int, default=32, help="online runner concurrency")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")

    from google.genai import types

    from devtools.gcs_emulator import GcsEmulator
    from devtools.local_env import LOCAL_BUCKET
    from devtools.vertex_emulator.process import VertexEmulatorProcess
    from gemini_qa_tuning import storage
    from gemini_qa_tuning.evaluation import EvaluationSettings, ThinkingChoice, load_test_questions, run_predictions
    from gemini_qa_tuning.evaluation.batch import (
        BatchJobSnapshot,
        batch_display_name,
        batch_job_labels,
        finish_batch_run,
        judge_batch_job,
        read_batch_answers,
        write_batch_requests,
    )
    from gemini_qa_tuning.evaluation.cost import BATCH_DISCOUNT, inference_price

    records, origin = build_records(args.questions)
    settings = EvaluationSettings(
        concurrency=args.concurrency,
        max_output_tokens=64,
        request_timeout_seconds=30.0,
        max_attempts=8,
        error_share_limit=0.0,
        requests_per_minute=args.rpm,
        progress_interval_seconds=60.0,
        thinking=ThinkingChoice(level="MINIMAL", budget=None, reserved_tokens=256, reason="the model's lowest"),
    )
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as scratch:
        gcs = GcsEmulator(backend="memory", log_file=Path(scratch) / "gcs.log").start()
        try:
            os.environ["STORAGE_EMULATOR_HOST"] = gcs.endpoint
            with VertexEmulatorProcess(gcs_endpoint=gcs.endpoint) as vertex:
                faults = {"latency_seconds": args.latency, "requests_per_minute": args.rpm, "pending_seconds": 0.5}
                vertex.configure(**faults)
                client = make_client(vertex.base_url)
                prefix = f"gs://{LOCAL_BUCKET}/bench-batch-{uuid.uuid4().hex[:8]}"
                test_uri = f"{prefix}/test.jsonl"
                storage.write_text(test_uri, "".join(json.dumps(record) + "\n" for record in records))

                started = time.perf_counter()
                online = run_predictions(client, BASE_MODEL, test_uri, f"{prefix}/online", settings, slug="base")
                online_seconds = time.perf_counter() - started
                online_requests = _api_requests(vertex.request_counts())

                vertex.reset()
                vertex.configure(**faults)
                started = time.perf_counter()
                questions = load_test_questions(test_uri)
                folder = f"{prefix}/batch/base"
                request_file = write_batch_requests(questions, settings, f"{folder}/batch")
                job = client.batches.create(
                    model=BASE_MODEL,
                    src=request_file.uri,
                    config=types.CreateBatchJobConfig(
                        display_name=batch_display_name("base", request_file.fingerprint),
                        dest=f"{folder}/batch/output",
                        http_options=types.HttpOptions(
                            extra_body={"labels": batch_job_labels(request_file.fingerprint, BASE_MODEL, "bench")}
                        ),
                    ),
                )
                while True:  # the triggerer's wait, without Airflow: a read every second
                    snapshot = BatchJobSnapshot.from_sdk(client.batches.get(name=str(job.name)))
                    if judge_batch_job(snapshot)[0].value != "waiting":
                        break
                    time.sleep(1.0)
                assert snapshot.output_directory is not None, snapshot
                answers = read_batch_answers(snapshot.output_directory, questions)
                batch = finish_batch_run(
                    BASE_MODEL,
                    questions,
                    answers,
                    test_uri=test_uri,
                    folder_uri=folder,
                    settings=settings,
                    requests_sent=request_file.requests,
                    started_at=time.time() - (time.perf_counter() - started),
                )
                batch_seconds = time.perf_counter() - started
                batch_requests = _api_requests(vertex.request_counts())
                client.close()
        finally:
            gcs.stop()

    price = inference_price(BASE_MODEL)

    def cost(run: Any, share: float) -> float | None:
        scores = run.scores
        return _token_cost(scores.prompt_tokens, scores.output_tokens + scores.thinking_tokens, price, share)

    online_cost, batch_cost = cost(online, 1.0), cost(batch, 1 - BATCH_DISCOUNT)
    same = (online.scores.exact_match, online.scores.f1) == (batch.scores.exact_match, batch.scores.f1)
    print(f"questions: {online.scores.questions} from {origin}; model {BASE_MODEL} (the emulator's stand-in)")
    print(
        f"emulator: online {args.latency * 1000:.0f} ms per call, quota {args.rpm}/min; "
        f"batch lines answered by the same code, outside the quota"
    )
    print(
        f"online: {online_seconds:.1f} s wall, {online_requests} API requests, {online.scores.errors} failed, "
        f"EM {online.scores.exact_match:.2f} F1 {online.scores.f1:.2f}, cost "
        + (f"${online_cost:.4f}" if online_cost is not None else "unknown")
    )
    print(
        f"batch:  {batch_seconds:.1f} s wall (one job: write, submit, wait, read, score), {batch_requests} API "
        f"requests, {batch.scores.errors} failed, EM {batch.scores.exact_match:.2f} F1 {batch.scores.f1:.2f}, cost "
        + (f"${batch_cost:.4f}" if batch_cost is not None else "unknown")
    )
    if price is not None:
        print(f"list price: ${price.input_per_million}/M input, ${price.output_per_million}/M output ({price.source})")
    cheaper = online_cost is None or batch_cost is None or batch_cost <= 0.5 * online_cost + 1e-9
    met = same and cheaper and batch_seconds < online_seconds and batch.scores.errors == 0
    met = met and batch_requests * 100 <= online_requests
    print(
        "target (batch scores = online scores, batch cost <= 0.5x online, less wall time, <= 1 % of the "
        f"requests, 0 failed): {'met' if met else 'NOT met'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
