"""The quiet demo's terminal: one line per task as it finishes, the full Airflow log to a file.

``airflow dags test`` logs every task's start and end (``[DAG TEST] starting task_id=…`` / ``end task``)
and the state the task reached (``Task instance state updated … new_state=…``). ``TaskProgress`` reads
those lines one at a time and turns them into short lines for the terminal; everything else goes to the
log file only. While a task runs longer than a few seconds on a terminal, a status line (rewritten in
place with ``\\r``) shows how long it has been running, so a long tuning wait does not look like a hang.
"""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

_STARTING = re.compile(r"\[DAG TEST\] starting task_id=(?P<task>\S+)")
_ENDING = re.compile(r"\[DAG TEST\] end task task_id=(?P<task>\S+)")
_NEW_STATE = re.compile(r"Task instance state updated .*new_state=(?P<state>\w+)")
# A task that skips itself logs why (AirflowSkipException's message) ...
_SKIP_REASON = re.compile(r"Skipping task\.\s.*reason=(?P<quote>['\"])(?P<reason>.*?)(?P=quote)")
# ... and a branch names the tasks it does not follow.
_BRANCH_SKIPS = re.compile(r"Skipping tasks \[(?P<tasks>.*)\]")
_BRANCH_TASK = re.compile(r"\('(?P<task>[^']+)'")
_ERROR = re.compile(r"\[(?:error|critical)\s*\]\s*(?P<message>.*?)(?:\s+\[[\w.]+\]|$)")
# A line of a failing task's traceback that says what went wrong (``SomeError: message``).
_EXCEPTION = re.compile(r"^(?P<message>[A-Za-z_][\w.]*(?:Error|Exception|Failure)\b.*)$")

SYMBOLS = {"success": "ok", "skipped": "--", "failed": "!!", "up_for_retry": "!?", "deferred": ".."}
# Seconds a task runs before the terminal shows its running time.
PROGRESS_AFTER_SECONDS = 3.0


@dataclass
class TaskProgress:
    """What the terminal shows of an ``airflow dags test`` run, fed one log line at a time."""

    emit: Callable[[str], None]
    clock: Callable[[], float] = time.monotonic
    current: str | None = None
    started_at: float = 0.0
    state: str | None = None
    skip_reason: str | None = None
    deferred: bool = False
    branch_skips: list[str] = field(default_factory=list)  # the tasks a branch did not follow
    error: str | None = None  # the task's first error log line
    exception: str | None = None  # the last ``SomeError: message`` line of its traceback: what went wrong
    finished: list[str] = field(default_factory=list)

    def feed(self, line: str) -> None:
        if match := _STARTING.search(line):
            self.current, self.started_at = match["task"], self.clock()
            self.state = self.skip_reason = self.error = self.exception = None
            self.deferred, self.branch_skips = False, []
        elif match := _ENDING.search(line):
            self._finish(match["task"])
        elif match := _NEW_STATE.search(line):
            self.state = match["state"]
            self.deferred = self.deferred or self.state == "deferred"
        elif match := _SKIP_REASON.search(line):
            self.skip_reason = match["reason"]
        elif match := _BRANCH_SKIPS.search(line):
            self.branch_skips.extend(skipped["task"] for skipped in _BRANCH_TASK.finditer(match["tasks"]))
        elif match := _EXCEPTION.match(line.strip()):
            self.exception = match["message"]
        elif self.error is None and (match := _ERROR.search(line)):
            self.error = match["message"].strip()

    def _finish(self, task: str) -> None:
        state = self.state or "unknown"
        seconds = self.clock() - self.started_at
        line = f"  {SYMBOLS.get(state, '??')} {task:<24} {state:<8} {seconds:6.1f} s"
        if state == "skipped" and self.skip_reason:
            line += f"  ({self.skip_reason})"
        if self.deferred:
            line += "  (waited deferred, in the triggerer)"
        if self.branch_skips:
            line += f"  (skips {', '.join(self.branch_skips)})"
        if state in ("failed", "up_for_retry") and (cause := self.exception or self.error):
            line += f"  {cause[:120]}"
        self.emit(line)
        self.finished.append(task)
        self.current = None

    def running_for(self) -> tuple[str, float] | None:
        """The running task and for how long, once it has run longer than ``PROGRESS_AFTER_SECONDS``."""
        if self.current is None:
            return None
        seconds = self.clock() - self.started_at
        return (self.current, seconds) if seconds >= PROGRESS_AFTER_SECONDS else None


def run_quietly(command: list[str], environment: dict[str, str], log_file: Path, out: IO[str] = sys.stdout) -> int:
    """Run ``command``: its whole output to ``log_file``, one line per finished task to ``out``."""
    on_terminal = out.isatty()
    status_shown = False

    def emit(text: str) -> None:
        nonlocal status_shown
        if status_shown:  # wipe the in-place status line first
            out.write("\r\033[K")
            status_shown = False
        out.write(text + "\n")
        out.flush()

    progress = TaskProgress(emit)
    lines: queue.Queue[bytes | None] = queue.Queue()
    with log_file.open("ab") as log:
        process = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert process.stdout is not None
        reader = threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True)
        reader.start()
        while True:
            try:
                raw = lines.get(timeout=1.0)
            except queue.Empty:
                raw = b""
            if raw is None:
                break
            if raw:
                log.write(raw)
                progress.feed(raw.decode("utf-8", "replace").rstrip("\n"))
            if on_terminal and (running := progress.running_for()):
                task, seconds = running
                out.write(f"\r\033[K  .. {task:<24} running  {seconds:6.0f} s")
                out.flush()
                status_shown = True
        if status_shown:
            out.write("\r\033[K")
            out.flush()
        return process.wait()


def _pump(stream: IO[bytes], lines: queue.Queue[bytes | None]) -> None:
    for raw in stream:
        lines.put(raw)
    lines.put(None)
