"""The quiet demo's terminal lines, from the log lines ``airflow dags test`` writes (copied from a real run)."""

from __future__ import annotations

import itertools

from devtools.demo_progress import TaskProgress

RUN = [
    "2026-12-01T11:29:53.206517Z [info     ] [DAG TEST] starting task_id=check_params map_index=-1 "
    "[airflow.sdk.definitions.dag] loc=dag.py:1501",
    "2026-12-01T11:30:20.689143Z [info     ] Done. Returned value was: {'gcs_prefix': 'gs://x'}",
    "2026-12-01T11:30:21.980246Z [info     ] Task instance state updated    "
    "[airflow.api_fastapi.execution_api.routes.task_instances] correlation_id=01a loc=task_instances.py:485 "
    "new_state=success rows_affected=1 ti_id=01a",
    "2026-12-01T11:30:25.061734Z [info     ] [DAG TEST] end task task_id=check_params map_index=-1 "
    "[airflow.sdk.definitions.dag] loc=dag.py:1563",
    "2026-12-01T11:30:45.493507Z [info     ] [DAG TEST] starting task_id=choose_tuning_path map_index=-1",
    "2026-12-01T11:30:45.857404Z [info     ] Skipping tasks [('skip_tuning', -1)] "
    "[airflow.task.operators.airflow.providers.standard.decorators.branch_python._BranchPythonDecoratedOperator]",
    "2026-12-01T11:30:45.967113Z [info     ] Task instance state updated    [x] new_state=success ti_id=01b",
    "2026-12-01T11:30:46.393906Z [info     ] [DAG TEST] end task task_id=choose_tuning_path map_index=-1",
    "2026-12-01T11:30:50.070749Z [info     ] [DAG TEST] starting task_id=wait_for_tuning_job map_index=-1",
    "2026-12-01T11:30:51.602563Z [info     ] Task instance state updated    [x] new_state=deferred ti_id=01c",
    "2026-12-01T11:31:01.265949Z [info     ] Task instance state updated    [x] new_state=success ti_id=01c",
    "2026-12-01T11:31:01.300000Z [info     ] [DAG TEST] end task task_id=wait_for_tuning_job map_index=-1",
    "2026-12-01T11:31:17.462704Z [info     ] [DAG TEST] starting task_id=clean_up_models map_index=-1",
    "2026-12-01T11:31:18.045718Z [info     ] Skipping task.                 [task] loc=task_runner.py:1622 "
    "reason='delete_losing_models is off: no tuned model is deleted.'",
    "2026-12-01T11:31:18.115080Z [info     ] Task instance state updated    [x] new_state=skipped ti_id=01d",
    "2026-12-01T11:31:18.516568Z [info     ] [DAG TEST] end task task_id=clean_up_models map_index=-1",
]


def shown(lines: list[str]) -> list[str]:
    out: list[str] = []
    ticks = itertools.count(step=2.0)
    progress = TaskProgress(out.append, clock=lambda: float(next(ticks)))
    for line in lines:
        progress.feed(line)
    return out


def test_one_line_per_finished_task_with_its_state_and_why_it_skipped() -> None:
    out = shown(RUN)
    assert [line.split()[1] for line in out] == [
        "check_params",
        "choose_tuning_path",
        "wait_for_tuning_job",
        "clean_up_models",
    ]
    assert "success" in out[0] and "Returned value" not in "".join(out)  # return values stay in the log
    assert "(skips skip_tuning)" in out[1]
    assert out[2].split()[2] == "success" and "deferred" in out[2]
    assert out[3].split()[2] == "skipped" and "(delete_losing_models is off" in out[3]


def test_a_failed_task_shows_the_first_error() -> None:
    out = shown(
        [
            "x [info     ] [DAG TEST] starting task_id=refresh_dataset map_index=-1",
            "x [error    ] Task failed with exception [task] loc=task_runner.py:1",
            "ValueError: the source has no test split",
            "x [info     ] Task instance state updated    [x] new_state=failed ti_id=01",
            "x [info     ] [DAG TEST] end task task_id=refresh_dataset map_index=-1",
        ]
    )
    assert len(out) == 1
    assert out[0].split()[:3] == ["!!", "refresh_dataset", "failed"]
    assert "ValueError: the source has no test split" in out[0]  # what went wrong, not "Task failed"


def test_a_long_running_task_reports_its_running_time() -> None:
    now = [0.0]
    progress = TaskProgress(lambda _line: None, clock=lambda: now[0])
    progress.feed("x [info     ] [DAG TEST] starting task_id=evaluate_base map_index=-1")
    assert progress.running_for() is None  # too early to bother the terminal
    now[0] = 12.0
    assert progress.running_for() == ("evaluate_base", 12.0)
    progress.feed("x [info     ] [DAG TEST] end task task_id=evaluate_base map_index=-1")
    assert progress.running_for() is None
