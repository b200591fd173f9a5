"""``make demo``: run the whole pipeline DAG end to end, offline, and show what it produced.

Starts the GCS and Vertex AI emulators (state under ``.local/``), migrates a local SQLite Airflow
database, runs ``airflow dags test`` on the pipeline with the embedded SQuAD-format sample as the
source, stops the servers and prints the run's summary and where its artifacts are. The terminal shows
one line per task as it finishes (``devtools.demo_progress``); the full Airflow log goes to
``.local/demo.log``. It opens nothing by itself.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from devtools.demo_progress import run_quietly
from devtools.local_stack import DAG_ID, LOCAL_STATE, child_environment, running_local_stack

# The demo's DAG-run configuration: the embedded sample instead of the Hugging Face hub. The emulators
# keep their state under .local/, so from the second demo on the data is unchanged: force_retrain makes
# the run go through tuning and evaluation anyway, and the launch then reuses the job it already has.
DEMO_PREFIX = "gs://gemini-qa-tuning/gemini-squad"
DEMO_CONF = {"source_kind": "sample", "gcs_prefix": DEMO_PREFIX, "poll_interval_seconds": 2, "force_retrain": True}


def print_summary(environment: dict[str, str], started: float) -> tuple[bool, Path | None]:
    """Print the newest run summary the DAG wrote: whether the run reached its last task, and the local
    file of its HTML report when it has one."""
    os.environ.update(environment)  # this process reads the results from the GCS emulator too
    from gemini_qa_tuning import storage
    from gemini_qa_tuning.run_summary import find_latest_summary

    summary_uri = find_latest_summary(DEMO_PREFIX, not_before=started)
    if summary_uri is None:
        print("No run summary was written: the DAG run did not reach its last task. See the log file.")
        return False, None
    summary = json.loads(storage.read_text(summary_uri))
    print(format_summary(summary))
    from devtools.champion_report import format_champion_history  # the champion history and its alias
    from devtools.local_env import LOCAL_TOKEN

    print(format_champion_history(DEMO_PREFIX, environment.get("GOOGLE_VERTEX_BASE_URL"), LOCAL_TOKEN, limit=3))
    return True, local_file(summary.get("report_uri"))  # the HTML run report, once the pipeline writes one


def demo_state() -> Path:
    """Where the demo keeps its emulators' state and log: ``.local/`` (``DEMO_STATE_DIR`` for tests)."""
    return Path(os.environ.get("DEMO_STATE_DIR") or LOCAL_STATE)


def local_file(uri: object) -> Path | None:
    """Where a ``gs://`` object of the demo lives on disk (the GCS emulator's filesystem backend)."""
    if not isinstance(uri, str) or not uri.startswith("gs://"):
        return None
    path = demo_state() / "gcs" / uri.removeprefix("gs://")
    return path if path.is_file() else None


def usd(amount: float | None) -> str:
    """A cost for the demo's summary: unknown when the catalog has no list price for the model."""
    return "unknown (no list price)" if amount is None else f"{amount} USD"


def short(resource: object) -> str:
    """A Vertex resource name without its project and location (the summary file has the full name)."""
    return "/".join(str(resource).split("/")[-2:])


def split_counts(counts: dict) -> str:
    return " / ".join(f"{counts[split]} {split}" for split in ("train", "validation", "test") if split in counts)


def rejects(by_reason: dict) -> str:
    return ", ".join(f"{count} {reason}" for reason, count in by_reason.items()) or "none"


def format_checkpoint_selection(selection: dict | None) -> list[str]:
    """The checkpoints with their validation F1 and the one chosen (nothing for summaries without one)."""
    if not selection:
        return []
    scores = selection.get("scores") or []
    if not scores:
        return [f"Checkpoints {len(selection.get('checkpoints') or [])}, no selection: {selection.get('reason')}"]
    questions = scores[0]["questions"]
    default = "now the model's default" if selection.get("default_checkpoint_set") else "NOT set as default"
    lines = [
        f"Checkpoints {len(scores)} on {questions} validation questions; highest F1 chosen "
        f"(checkpoint {selection.get('chosen_checkpoint_id')}, {default}):"
    ]
    for score in scores:
        checkpoint = score["checkpoint"]
        chosen = checkpoint["checkpoint_id"] == selection.get("chosen_checkpoint_id")
        lines.append(
            f"              checkpoint {checkpoint['checkpoint_id']:<4} epoch {checkpoint.get('epoch')}  "
            f"EM {score['exact_match']:6.2f}   F1 {score['f1']:6.2f}{'   <- chosen' if chosen else ''}"
        )
    return lines


def format_summary(summary: dict) -> str:
    """The run in a few lines: dataset, tuning decision and job, evaluation scores."""
    dataset = summary.get("dataset") or {}
    plan = summary.get("tuning_plan") or {}
    job = summary.get("tuning_job") or {}
    tuned = summary.get("tuned_model") or {}
    scores = summary.get("evaluation") or {}
    lines = [
        f"Run {summary.get('run_id')}",
        f"Dataset     {dataset.get('fingerprint')}: {split_counts(dataset.get('counts') or {})}, "
        f"{dataset.get('training_tokens')} training tokens",
        f"            rejected {rejects(dataset.get('rejects_by_reason') or {})}, "
        f"duplicates dropped {dataset.get('duplicates_dropped')}",
        f"Tuning plan {plan.get('reason', 'n/a')}",
    ]
    if job.get("job_name"):
        lines.append(
            f"Tuning job  {short(job['job_name'])} ({'reused' if job.get('reused') else 'created'}), "
            f"estimated cost {usd(job.get('estimated_cost_usd'))}, Vertex-billed {usd(tuned.get('actual_cost_usd'))}"
        )
    if tuned.get("endpoint"):
        lines.append(f"Tuned model {short(tuned.get('tuned_model'))} at {short(tuned['endpoint'])}")
    lines.extend(format_checkpoint_selection(summary.get("checkpoint_selection")))
    if scores:
        lines.append(f"Evaluation  {scores.get('questions')} held-out questions (SQuAD v1.1 EM / F1):")
        for role in ("base", "tuned", "champion"):
            if f"{role}_f1" in scores:
                exact_match, f1 = scores[f"{role}_exact_match"], scores[f"{role}_f1"]
                lines.append(f"              {role:<9} EM {exact_match:6.2f}   F1 {f1:6.2f}")
        for other in ("base", "champion"):
            if f"tuned_vs_{other}_f1_diff" in scores:
                lines.append(
                    f"              tuned - {other}: F1 {scores[f'tuned_vs_{other}_f1_diff']:+.2f} "
                    f"(95 % CI {scores[f'tuned_vs_{other}_f1_ci_low']:+.2f} .. "
                    f"{scores[f'tuned_vs_{other}_f1_ci_high']:+.2f})"
                )
    promotion = summary.get("promotion")
    if promotion:
        verdict = "promoted the tuned model to champion" if promotion["promote"] else "kept the current champion"
        lines.append(f"Promotion   {verdict}: {'; '.join(promotion['reasons'])}")
    return "\n".join(lines)


def main() -> int:
    state = demo_state()
    state.mkdir(parents=True, exist_ok=True)
    log_file = state / "demo.log"
    log_file.write_bytes(b"")
    started = time.time()
    # The emulator's second epoch answers best, so the demo shows a checkpoint other than the last being chosen.
    with running_local_stack(state, best_checkpoint_epoch=2) as stack:
        environment = child_environment(stack)
        airflow = str(Path(sys.executable).parent / "airflow")
        print(f"Running {DAG_ID} (full Airflow log: {log_file})")
        if run_quietly([airflow, "db", "migrate"], environment, log_file) != 0:
            print(f"airflow db migrate failed; see {log_file}")
            return 1
        # DEMO_CONF_EXTRA: more run conf, e.g. a second champion for `make rollback` (README, "make rollback").
        conf = {**DEMO_CONF, **json.loads(os.environ.get("DEMO_CONF_EXTRA") or "{}")}
        code = run_quietly([airflow, "dags", "test", DAG_ID, "-c", json.dumps(conf)], environment, log_file)
        reached_end, report = print_summary(environment, started)
        succeeded = reached_end and code == 0
    print(
        f"Demo {'succeeded' if succeeded else 'FAILED'} in {time.time() - started:.0f} s. "
        f"Artifacts: {state / 'gcs' / 'gemini-qa-tuning'} (the GCS emulator's files)"
    )
    if report is not None:
        print(f"Run report: {report}")
    return 0 if succeeded else 1


if __name__ == "__main__":
    raise SystemExit(main())
