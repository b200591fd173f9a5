"""``make demo``: run the whole pipeline DAG end to end, offline, and show what it produced.

Starts the GCS and Vertex AI emulators (state under ``.local/``), migrates a local SQLite Airflow
database, runs ``airflow dags test`` on the pipeline with the embedded SQuAD-format sample as the
source, stops the servers and prints the run's summary and where its artifacts are.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from devtools.local_stack import DAG_ID, LOCAL_STATE, child_environment, running_local_stack

# The demo's DAG-run configuration: the embedded sample instead of the Hugging Face hub. The emulators
# keep their state under .local/, so from the second demo on the data is unchanged: force_retrain makes
# the run go through tuning and evaluation anyway, and the launch then reuses the job it already has.
DEMO_PREFIX = "gs://gemini-qa-tuning/gemini-squad"
DEMO_CONF = {"source_kind": "sample", "gcs_prefix": DEMO_PREFIX, "poll_interval_seconds": 2, "force_retrain": True}


def run(command: list[str], environment: dict[str, str], log_file: Path) -> int:
    """Run a command, streaming its output to the terminal and to a log file."""
    with log_file.open("ab") as log:
        process = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert process.stdout is not None
        for line in process.stdout:
            sys.stdout.buffer.write(line)
            sys.stdout.flush()
            log.write(line)
        return process.wait()


def print_summary(environment: dict[str, str], started: float) -> bool:
    """Print the newest run summary the DAG wrote; True when the run reached its last task."""
    os.environ.update(environment)  # this process reads the results from the GCS emulator too
    from gemini_qa_tuning import storage
    from gemini_qa_tuning.run_summary import find_latest_summary

    summary_uri = find_latest_summary(DEMO_PREFIX, not_before=started)
    if summary_uri is None:
        print("No run summary was written: the DAG run did not reach its last task. See the log above.")
        return False
    summary = json.loads(storage.read_text(summary_uri))
    print("\n" + "=" * 78)
    print(format_summary(summary))
    manifest_uri = (summary.get("dataset") or {}).get("manifest_uri")
    if manifest_uri:
        print(f"\nManifest ({manifest_uri}):")
        print(storage.read_text(manifest_uri))
    print(f"Full run summary: {summary_uri}")
    from devtools.champion_report import format_champion_history  # the champion history and its alias
    from devtools.local_env import LOCAL_TOKEN

    print(format_champion_history(DEMO_PREFIX, environment.get("GOOGLE_VERTEX_BASE_URL"), LOCAL_TOKEN))
    return True


def save_report(started: float) -> Path | None:
    """Copy the newest run's HTML report out of the GCS emulator into ``.local/reports/``: a file a browser
    opens. ``None`` when the run wrote no summary or no report."""
    from gemini_qa_tuning import storage
    from gemini_qa_tuning.run_summary import find_latest_summary, run_folder_name

    summary_uri = find_latest_summary(DEMO_PREFIX, not_before=started)
    if summary_uri is None:
        return None
    summary = json.loads(storage.read_text(summary_uri))
    report_uri = summary.get("report_uri")
    if not report_uri or not storage.exists(report_uri):
        return None
    target = LOCAL_STATE / "reports" / f"{run_folder_name(str(summary.get('run_id')))}.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(storage.read_bytes(report_uri))
    return target


def usd(amount: float | None) -> str:
    """A cost for the demo's summary: unknown when the catalog has no list price for the model."""
    return "unknown (no list price; set price_per_million_training_tokens)" if amount is None else f"{amount} USD"


def format_checkpoint_selection(selection: dict | None) -> list[str]:
    """The checkpoints with their validation F1 and the one chosen (nothing for summaries without one)."""
    if not selection:
        return []
    scores = selection.get("scores") or []
    if not scores:
        return [f"Checkpoints {len(selection.get('checkpoints') or [])}, no selection: {selection.get('reason')}"]
    questions = scores[0]["questions"]
    lines = [f"Checkpoints {len(scores)}, each on {questions} validation questions ({selection.get('rule')}):"]
    for score in scores:
        checkpoint = score["checkpoint"]
        chosen = checkpoint["checkpoint_id"] == selection.get("chosen_checkpoint_id")
        lines.append(
            f"              checkpoint {checkpoint['checkpoint_id']:<4} epoch {checkpoint.get('epoch')}  "
            f"EM {score['exact_match']:6.2f}   F1 {score['f1']:6.2f}{'   <- chosen' if chosen else ''}"
        )
    default = "now the model's default checkpoint" if selection.get("default_checkpoint_set") else "NOT set as default"
    chosen_id = selection.get("chosen_checkpoint_id")
    lines.append(f"            chosen: checkpoint {chosen_id}, {default}; {selection.get('reason')}")
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
        f"Dataset     {dataset.get('fingerprint')}  counts {dataset.get('counts')}",
        f"            rejects by reason {dataset.get('rejects_by_reason') or {}}, "
        f"duplicates dropped {dataset.get('duplicates_dropped')}, training tokens {dataset.get('training_tokens')}",
        f"Tuning plan {plan.get('reason', 'n/a')}",
    ]
    if job.get("job_name"):
        lines.append(
            f"Tuning job  {job['job_name']} ({'reused' if job.get('reused') else 'created'}), "
            f"estimated cost {usd(job.get('estimated_cost_usd'))}, Vertex-billed {usd(tuned.get('actual_cost_usd'))}"
        )
    if tuned.get("endpoint"):
        lines.append(f"Tuned model {tuned.get('tuned_model')} at {tuned['endpoint']}")
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
        lines.append(f"            metrics: {scores.get('metrics_uri')}")
    promotion = summary.get("promotion")
    if promotion:
        verdict = "promoted the tuned model to champion" if promotion["promote"] else "kept the current champion"
        lines.append(f"Promotion   {verdict}: {'; '.join(promotion['reasons'])}")
    return "\n".join(lines)


def main() -> int:
    LOCAL_STATE.mkdir(parents=True, exist_ok=True)
    log_file = LOCAL_STATE / "demo.log"
    log_file.write_bytes(b"")
    started = time.time()
    # The emulator's second epoch answers best, so the demo shows a checkpoint other than the last being chosen.
    with running_local_stack(best_checkpoint_epoch=2) as stack:
        environment = child_environment(stack)
        airflow = str(Path(sys.executable).parent / "airflow")
        if run([airflow, "db", "migrate"], environment, log_file) != 0:
            print(f"airflow db migrate failed; see {log_file}")
            return 1
        # DEMO_CONF_EXTRA: more run conf, e.g. a second champion for `make rollback` (README, "make rollback").
        conf = {**DEMO_CONF, **json.loads(os.environ.get("DEMO_CONF_EXTRA") or "{}")}
        code = run([airflow, "dags", "test", DAG_ID, "-c", json.dumps(conf)], environment, log_file)
        succeeded = print_summary(environment, started) and code == 0
        report_file = save_report(started)  # while the GCS emulator still runs
    print(f"\nDemo {'succeeded' if succeeded else 'FAILED'} in {time.time() - started:.0f} s.")
    print(f"Artifacts: {LOCAL_STATE / 'gcs' / 'gemini-qa-tuning'} (the GCS emulator's files); log: {log_file}")
    if report_file is not None:
        print(f"Run report (open it in a browser): {report_file}")
    return 0 if succeeded else 1


if __name__ == "__main__":
    raise SystemExit(main())
