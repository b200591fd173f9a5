"""The plan_tuning step: verdicts on disk + the jobs Vertex lists → skip, judge the paid job, or launch."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from gemini_qa_tuning.champion import ChampionRecord
from gemini_qa_tuning.contracts import CurrentChampion
from gemini_qa_tuning.evaluation.report import MetricsHeadline, RoleScores
from gemini_qa_tuning.pipeline import steps
from gemini_qa_tuning.pipeline.params import PipelineParams
from gemini_qa_tuning.tuning import CONFIG_LABEL_KEY, TuningConfig
from gemini_qa_tuning.verdicts import Verdict, write_verdict

FINGERPRINT = "0123456789abcdef01234567"
JOB = "projects/1/locations/us-central1/tuningJobs/7"
TUNED_MODEL = "projects/1/locations/us-central1/models/9@1"


class Hook:
    """Stands in for GenAIVertexHook: the jobs Vertex would list for the asked labels."""

    def __init__(self, *jobs: Any) -> None:
        self.jobs = jobs
        self.asked: list[Mapping[str, str]] = []

    def list_tuning_jobs_by_labels(self, labels: Mapping[str, str]) -> list[Any]:
        self.asked.append(dict(labels))
        return [job for job in self.jobs if job.labels.get(CONFIG_LABEL_KEY) == labels[CONFIG_LABEL_KEY]]

    def close(self) -> None:
        pass


def job(state: str, config_hash: str, name: str = JOB) -> Any:
    from google.genai import types

    return types.TuningJob.model_validate(
        {"name": name, "state": state, "labels": {CONFIG_LABEL_KEY: config_hash}, "create_time": "2026-12-01T00:00:00Z"}
    )


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    monkeypatch.setattr(steps, "today_utc", lambda: date(2026, 12, 1))
    monkeypatch.setattr(steps, "as_connection", lambda params, hook=None: contextlib.nullcontext())

    def plan(*jobs: Any, champion: CurrentChampion | None = None, **settings: Any) -> Any:
        hook = Hook(*jobs)
        monkeypatch.setattr(steps, "vertex_hook", lambda params: hook)
        params = PipelineParams(gcs_prefix=str(tmp_path), pipeline_id="gemini_squad_tuning", **settings)
        exported: Any = SimpleNamespace(fingerprint=FINGERPRINT, training_tokens=1_000_000)
        return steps.plan_tuning(exported, champion, params)

    return plan


def default_hash(**settings: Any) -> str:
    return TuningConfig(**{"epochs": 3, "adapter_size": 4, **settings}).config_hash()


def judge(prefix: Path, config_hash: str, promoted: bool = False) -> None:
    headline = MetricsHeadline(questions=100, models={"tuned": RoleScores(40.0, 55.0)}, comparisons={})
    write_verdict(
        str(prefix),
        Verdict(
            dataset_fingerprint=FINGERPRINT,
            config_hash=config_hash,
            promoted=promoted,
            reasons=("below the required gain",),
            headline=headline,
            metrics_uri="gs://b/m.json",
            job_name=JOB,
            model="projects/1/locations/us-central1/endpoints/8",
            tuned_model=TUNED_MODEL,
            run_id="r1",
            decided_at="2026-12-01T02:00:00+00:00",
        ),
    )


def test_never_tuned_launches_with_the_launchs_config_hash(run: Any) -> None:
    plan = run()
    assert plan.action == "launch" and plan.launch and plan.config_hash == default_hash()
    assert plan.base_model == "gemini-3.5-flash-lite" and plan.tune_from == "base"


def test_a_paid_job_never_judged_is_evaluated_whether_done_or_running(run: Any) -> None:
    for state in ("JOB_STATE_SUCCEEDED", "JOB_STATE_RUNNING"):
        plan = run(job(state, default_hash()), max_training_cost=0.0)  # no budget stops judging a paid model
        assert plan.action == "evaluate_existing" and plan.launch and plan.job_name == JOB, plan
    # A failed job left no model: a new one is launched.
    assert run(job("JOB_STATE_FAILED", default_hash())).action == "launch"


def test_a_judged_model_is_skipped_even_when_rejected(run: Any, tmp_path: Path) -> None:
    judge(tmp_path, default_hash(), promoted=False)
    plan = run(job("JOB_STATE_SUCCEEDED", default_hash()))
    assert plan.action == "skip" and not plan.launch
    assert "rejected by run r1" in plan.reason and "(tuned F1 55.0)" in plan.reason


def test_a_changed_knob_on_the_same_data_tunes_again(run: Any, tmp_path: Path) -> None:
    judge(tmp_path, default_hash(), promoted=True)
    paid = job("JOB_STATE_SUCCEEDED", default_hash())
    assert run(paid).action == "skip"
    for settings, config in (
        ({"epochs": 4}, {"epochs": 4}),
        ({"adapter_size": 8}, {"adapter_size": 8}),
        ({"learning_rate_multiplier": 0.5}, {"learning_rate_multiplier": 0.5}),
        ({"base_model": "gemini-3.5-flash"}, {"base_model": "gemini-3.5-flash"}),
    ):
        plan = run(paid, **settings)
        assert plan.action == "launch" and plan.config_hash == default_hash(**config), settings


def test_the_champions_own_job_counts_as_judged_without_a_verdict(run: Any) -> None:
    champion = CurrentChampion(
        record=ChampionRecord(
            model="projects/1/locations/us-central1/endpoints/8",
            dataset_fingerprint=FINGERPRINT,
            tuning_job=JOB,
            tuned_model=TUNED_MODEL,
            base_model="gemini-3.5-flash-lite",
        ),
        generation=1,
    )
    plan = run(job("JOB_STATE_SUCCEEDED", default_hash()), champion=champion)
    assert plan.action == "skip" and "current champion was tuned on this data and config" in plan.reason
    # Continuing that champion is another config: tuned, from the champion's model.
    continued = run(job("JOB_STATE_SUCCEEDED", default_hash()), champion=champion, tune_from="champion")
    assert continued.action == "launch" and continued.tune_from == "champion"
    assert continued.pre_tuned_model == TUNED_MODEL
    assert continued.config_hash == default_hash(tune_from="champion", pre_tuned_model=TUNED_MODEL)


def test_continuing_a_champion_on_another_base_fails_the_task(run: Any) -> None:
    champion = CurrentChampion(
        record=ChampionRecord(model="e", tuned_model=TUNED_MODEL, base_model="gemini-3.5-flash"), generation=1
    )
    with pytest.raises(AirflowFailException, match=r"Set base_model to gemini-3\.5-flash to continue the champion"):
        run(champion=champion, tune_from="champion")


def test_rebase_on_retirement_tunes_the_successor(run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(steps, "today_utc", lambda: date(2026, 9, 1))  # gemini-2.5-flash retires 2026-10-20
    champion = CurrentChampion(
        record=ChampionRecord(model="e", tuned_model=TUNED_MODEL, base_model="gemini-2.5-flash"), generation=1
    )
    plan = run(champion=champion, base_model="gemini-2.5-flash", rebase_on_retirement="retune")
    successor = plan.base_model
    assert successor != "gemini-2.5-flash" and plan.action == "launch"
    assert plan.config_hash == default_hash(base_model=successor)
    assert plan.warnings[0].startswith("Rebasing: the champion's base model gemini-2.5-flash retires on 2026-10-20")
    warned = run(champion=champion, base_model="gemini-2.5-flash", rebase_on_retirement="warn")
    assert warned.base_model == "gemini-2.5-flash" and "rebase_on_retirement to 'retune'" in warned.warnings[0]


def test_a_run_that_judged_nothing_records_no_verdict(tmp_path: Path) -> None:
    from airflow.providers.common.compat.sdk import AirflowSkipException

    exported: Any = SimpleNamespace(fingerprint=FINGERPRINT)
    plan = steps.TuningPlan(launch=False, reason="skipping", config_hash=default_hash())
    params = PipelineParams(gcs_prefix=str(tmp_path), pipeline_id="p")
    with pytest.raises(AirflowSkipException, match="judged no tuned model"):
        steps.record_verdict(exported, plan, None, None, None, params, "r1")
    assert not (tmp_path / "verdicts").exists()


def test_the_plans_warnings_reach_the_run_summary(run: Any, tmp_path: Path) -> None:
    from gemini_qa_tuning.contracts import RunSummary

    plan = run(tune_from="champion")  # no champion yet: tunes the base and warns
    summary = RunSummary.from_task_results(
        run_id="run-1",
        exported=None,
        plan=plan.to_json(),
        job=None,
        tuned=None,
        comparison=None,
        decision=None,
        promoted=None,
    )
    written = steps.summarize_run(summary, PipelineParams(gcs_prefix=str(tmp_path), pipeline_id="p"))
    assert any("there is no champion yet" in warning for warning in written.warnings), written.warnings
