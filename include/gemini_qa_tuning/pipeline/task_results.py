"""Reading the result of an upstream task that may not have run (a skipped branch).

A TaskFlow argument bound to a task's output pulls exactly one XCom, and when the upstream task was
skipped (it pushed none) the Task SDK logs ``XCom not found`` at error level before it passes ``None``.
A successful run that skips a branch would then show error lines for nothing. Pulling without a map
index reads the task's XCom sequence instead, which is simply empty for a task that pushed nothing.
"""

from __future__ import annotations

from typing import Any


def optional_result(task_id: str) -> Any:
    """The return value of ``task_id`` in this run, or ``None`` when it pushed none (skipped).

    The caller must have ``task_id`` upstream (directly or not), so it has finished by now.
    """
    from airflow.sdk import get_current_context

    return get_current_context()["ti"].xcom_pull(task_ids=task_id)
