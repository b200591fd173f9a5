"""Reading the result of an upstream task that may not have run (a skipped branch).

A TaskFlow argument bound to a task's output pulls exactly one XCom, and when the upstream task was
skipped (it pushed none) the Task SDK logs ``XCom not found`` at error level before it passes ``None``.
A successful run that skips a branch would then show error lines for nothing. Reading the task's XCom
sequence instead (what ``ti.xcom_pull`` does without a map index) finds it simply empty.

One reader, two callers: a task reading an upstream result (:func:`optional_result`), and an artifact
link reading its own task's result when the task ends (``links.artifacts.task_result``).
"""

from __future__ import annotations

from typing import Any

#: The XCom key of a task's return value (Airflow's ``XCOM_RETURN_KEY``).
RETURN_VALUE_KEY = "return_value"


def task_return_value(*, dag_id: str, task_id: str, run_id: str) -> Any:
    """The return value of one task in one run, or ``None`` when it pushed none (skipped, failed)."""
    from airflow.sdk.execution_time.xcom import XCom

    values = XCom.get_all(key=RETURN_VALUE_KEY, dag_id=dag_id, task_id=task_id, run_id=run_id)
    return values[0] if values else None


def optional_result(task_id: str) -> Any:
    """The return value of ``task_id`` in this run, or ``None`` when it pushed none (skipped).

    The caller must have ``task_id`` upstream (directly or not), so it has finished by now.
    """
    from airflow.sdk import get_current_context

    ti = get_current_context()["ti"]
    return task_return_value(dag_id=ti.dag_id, task_id=task_id, run_id=ti.run_id)
