"""One ``make airflow`` stack for the tests that need a real local Airflow (REST and browser tests).

``running_local_airflow`` starts ``python -m devtools.local_airflow`` on free ports with a temporary state
folder, waits until every component is healthy and the pipeline DAG is parsed, checks that every socket
the stack listens on is on a loopback address, and unpauses the DAG. On exit it stops everything like
Ctrl-C does and fails when a process is left (killed then). ``tests/conftest.py`` offers it as the
session fixture ``local_airflow`` so the REST, the Results-tab and the trigger-form tests share one start
(about a minute on a loaded 2-core machine), and the REST and the Results-tab tests share one sample run
(fixture ``sample_run``, ``LocalAirflow.trigger_and_watch_sample_run``): a run on the stack costs as much.

Tuning jobs on the stack's Vertex AI emulator are held RUNNING (``hold_jobs_at``) until ``watch_run`` has
seen the sensor deferred; then it ends the job with the emulator's ``advance`` control. So "the triggerer
held the wait" is checked without racing the emulator's clock: on a loaded machine the launch can take
longer than a short emulated job, which then ends before the sensor's first check and never defers.

The launcher, the emulators and each Airflow component run in their own session. The stack gives the
launcher a marker variable that they all inherit and finds the launch's processes from it (see
``LaunchProcesses``), so it can check they all stop and kill stragglers even when a test fails.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import psutil
import pytest

from devtools.vertex_emulator.admin import EmulatorAdmin

REPO_ROOT = Path(__file__).resolve().parents[1]
DAG_ID = "gemini_squad_tuning"
SENSOR_TASK_ID = "wait_for_tuning_job"
LAUNCH_TASK_ID = "launch_tuning_job"
JOB_NAME_XCOM_KEY = "tuning_job_name"
MARKER_VARIABLE = "LOCAL_AIRFLOW_TEST_LAUNCH"

# Budgets (seconds): how long to wait before calling a stack or run stuck, not speed targets (those are
# benchmarks). Measured on 2 cores: healthy in 14-25 s (45-60 s with other test runs competing), a sample
# run takes 25-30 s idle and over 90 s on a machine at load 15, everything stops within 5-13 s.
HEALTHY_TIMEOUT = 180
DAG_PARSED_TIMEOUT = 90
RUN_TIMEOUT = 300
STOP_TIMEOUT = 25
POLL_SECONDS = 0.5

# Task states after which the run cannot succeed in time (retries wait minutes): stop and report.
BAD_TASK_STATES = {"failed", "up_for_retry", "upstream_failed"}


# --------------------------------------------------------------------------- processes
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LaunchProcesses:
    """Finds every process of one launch, whichever process group or session it started.

    A process belongs to the launch when its environment carries the launch's marker, when it descends
    from such a process, or when it is in a process group one of them was seen in. The last two matter
    because Airflow renames its workers (setproctitle), which overwrites what /proc shows of their
    environment, and an orphan keeps its group but not its parent.
    """

    def __init__(self, marker: str) -> None:
        self.marker = f"{MARKER_VARIABLE}={marker}".encode()
        self.groups: set[int] = set()

    def scan(self) -> dict[int, str]:
        """pid -> command line of the launch's live processes (zombies excluded)."""
        parent: dict[int, int] = {}
        group: dict[int, int] = {}
        marked: set[int] = set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            try:
                # after the command name in parentheses: state, ppid, pgrp, session, ...
                state, ppid, pgrp = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:3]
                if state == "Z":
                    continue
                parent[pid], group[pid] = int(ppid), int(pgrp)
                if self.marker in (entry / "environ").read_bytes().split(b"\0"):
                    marked.add(pid)
            except (OSError, ValueError):  # gone meanwhile, or not ours to read
                continue
        self.groups |= {group[pid] for pid in marked}
        self.groups -= {os.getpgrp()}  # never this test's own group

        def belongs(pid: int) -> bool:
            seen: set[int] = set()
            while pid in parent and pid not in seen:
                if pid in marked or group[pid] in self.groups:
                    return True
                seen.add(pid)
                pid = parent[pid]
            return False

        found: dict[int, str] = {}
        for pid in parent:
            if pid != os.getpid() and belongs(pid):
                with contextlib.suppress(OSError):
                    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                    found[pid] = cmdline.replace(b"\0", b" ").decode(errors="replace").strip()
        return found


def listening_sockets(pids: list[int]) -> list[tuple[str, int, str]]:
    """(address, port, command) of every TCP socket listening and every UDP socket bound by ``pids``."""
    found = []
    for pid in pids:
        try:
            process = psutil.Process(pid)
            connections = process.net_connections(kind="inet")
            command = " ".join(process.cmdline())[:120]
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue  # gone meanwhile
        for connection in connections:
            listening = connection.status == psutil.CONN_LISTEN
            bound_udp = connection.type == socket.SOCK_DGRAM and connection.laddr and not connection.raddr
            if listening or bound_udp:
                found.append((connection.laddr.ip, connection.laddr.port, command))
    return found


def assert_only_loopback_listeners(processes: LaunchProcesses, api_port: int) -> None:
    """Nothing of the stack may be reachable from another machine: every listener is on loopback."""
    listeners = listening_sockets(list(processes.scan()))
    assert any(port == api_port for _, port, _ in listeners), f"api-server not seen listening: {listeners}"
    exposed = [listener for listener in listeners if not ipaddress.ip_address(listener[0]).is_loopback]
    assert not exposed, f"listening beyond loopback: {exposed}"


def memory_mib(pids: list[int]) -> tuple[float, float]:
    """Summed RSS (counts shared pages once per process) and PSS (shares them out) of ``pids``, in MiB."""
    rss_kib = pss_kib = 0
    for pid in pids:
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in rollup.splitlines():
            name, _, value = line.partition(":")
            if name == "Rss":
                rss_kib += int(value.split()[0])
            elif name == "Pss":
                pss_kib += int(value.split()[0])
    return rss_kib / 1024, pss_kib / 1024


def stop_launch(launcher: subprocess.Popen[bytes], processes: LaunchProcesses) -> tuple[float, dict[int, str]]:
    """Stop like Ctrl-C does (signal the launcher's group), wait, then SIGKILL stragglers.

    Returns the seconds the graceful stop took and what was still running after it (killed since).
    """
    started = time.monotonic()
    deadline = started + STOP_TIMEOUT
    if launcher.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(launcher.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            launcher.wait(timeout=max(deadline - time.monotonic(), 0.1))
    # The launcher waits only for `airflow standalone` itself; its children take a moment longer.
    while (left := processes.scan()) and time.monotonic() < deadline:
        time.sleep(0.2)
    stop_seconds = time.monotonic() - started
    for _ in range(3):  # a dying parent may still spawn: sweep until nothing is left
        stragglers = processes.scan()
        if not stragglers:
            break
        for pid in stragglers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
    if launcher.poll() is None:
        launcher.kill()
    launcher.wait(timeout=10)
    return stop_seconds, left


# --------------------------------------------------------------------------- REST API
class AirflowApi:
    """The few REST calls the test needs, as an admin of the simple auth manager."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.token: str | None = None

    def request(self, method: str, path: str, body: Any = None, timeout: float = 30) -> Any:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"null")

    def log_in(self) -> None:
        self.token = self.request("GET", "/auth/token")["access_token"]


@dataclass
class RunWatch:
    """What the test saw of a DAG run: latest and all states per task, memory peaks."""

    run_state: str = "unknown"
    task_states: dict[str, str | None] = field(default_factory=dict)
    seen: dict[str, set[str | None]] = field(default_factory=dict)
    peak_rss_mib: float = 0.0
    peak_pss_mib: float = 0.0
    #: the tuning job ``watch_run`` ended once the sensor was seen deferred ("" until then)
    released_job: str = ""

    def sample_memory(self, processes: LaunchProcesses) -> None:
        rss, pss = memory_mib(list(processes.scan()))
        self.peak_rss_mib = max(self.peak_rss_mib, rss)
        self.peak_pss_mib = max(self.peak_pss_mib, pss)


@dataclass(frozen=True)
class FinishedRun:
    """A DAG run on the stack that has ended: what it was triggered with and what the test saw of it."""

    run_id: str
    conf: dict[str, Any]
    watch: RunWatch
    #: from the trigger to the end of the run, as the test saw it
    run_seconds: float


# --------------------------------------------------------------------------- diagnostics
def tail(path: Path, lines: int, keep: str = "") -> str:
    if not path.exists():
        return f"({path} does not exist)"
    kept = [line for line in path.read_text(errors="replace").splitlines() if line.startswith(keep)]
    return "\n".join(line[:400] for line in kept[-lines:])


def diagnostics(launcher_log: Path, airflow_home: Path, run_id: str | None, watch: RunWatch) -> str:
    """Task states, the scheduler's last words and the logs of tasks that went wrong, for a failure message."""
    parts = [
        f"run {run_id}: {watch.run_state}",
        "task states: " + json.dumps(watch.task_states, sort_keys=True),
        "states seen: " + json.dumps({task: sorted(map(str, seen)) for task, seen in watch.seen.items()}),
        "--- scheduler (last 40 lines)",
        tail(launcher_log, 40, keep="scheduler"),
        "--- launcher output (last 15 lines)",
        tail(launcher_log, 15),
    ]
    if run_id:
        run_logs = airflow_home / "logs" / f"dag_id={DAG_ID}" / f"run_id={run_id}"
        for task_id, state in sorted(watch.task_states.items()):
            attempts = sorted(run_logs.glob(f"task_id={task_id}/attempt=*.log"))
            if state in BAD_TASK_STATES and attempts:
                parts += [f"--- task {task_id} ({state}), {attempts[-1].name} (last 25 lines)", tail(attempts[-1], 25)]
    return "\n".join(parts)


# --------------------------------------------------------------------------- the stack
@dataclass
class LocalAirflow:
    """A running ``make airflow`` stack: its URL, an admin REST client, its processes and logs."""

    base_url: str
    api: AirflowApi
    api_port: int
    processes: LaunchProcesses
    launcher_log: Path
    airflow_home: Path
    healthy_seconds: float
    vertex: EmulatorAdmin

    def unique_gcs_prefix(self, label: str) -> str:
        """An artifact prefix of its own, so runs of the shared stack never see each other's files."""
        return f"gs://gemini-qa-tuning/t-{label}-{uuid.uuid4().hex[:12]}"

    def run_path(self, run_id: str) -> str:
        return f"/api/v2/dags/{DAG_ID}/dagRuns/{urllib.parse.quote(run_id, safe='')}"

    def task_log(self, run_id: str, task_id: str) -> str:
        """The text of the last attempt's log of ``task_id`` in ``run_id`` (empty when there is none)."""
        task_logs = self.airflow_home / "logs" / f"dag_id={DAG_ID}" / f"run_id={run_id}" / f"task_id={task_id}"
        attempts = sorted(task_logs.glob("attempt=*.log"))
        return attempts[-1].read_text(errors="replace") if attempts else ""

    def fail(self, reason: str, run_id: str | None = None, watch: RunWatch | None = None) -> NoReturn:
        details = diagnostics(self.launcher_log, self.airflow_home, run_id, watch or RunWatch())
        pytest.fail(f"{reason}\n{details}", pytrace=False)

    def watch_run(self, run_id: str, timeout: float = RUN_TIMEOUT) -> RunWatch:
        """Poll the run's task instances until the run ends; fail early when a task goes wrong.

        A poll the api-server does not answer in time (a loaded machine) is asked again until ``timeout``.
        A run this gives up on is marked failed, so it does not hold the DAG's only active-run slot (and its
        held tuning job) and leave the next test's run queued behind it.
        """
        watch = RunWatch()
        started = time.monotonic()
        run_path = self.run_path(run_id)
        try:
            while True:
                try:
                    self.poll_run(run_id, watch)
                except (TimeoutError, ConnectionError) as error:
                    slow_answer: Exception | None = error
                except urllib.error.URLError as error:
                    if isinstance(error, urllib.error.HTTPError) or not isinstance(error.reason, TimeoutError):
                        raise
                    slow_answer = error
                else:
                    slow_answer = None
                watch.sample_memory(self.processes)
                if watch.run_state in ("success", "failed"):
                    return watch
                if BAD_TASK_STATES & set(watch.task_states.values()):
                    self.fail("a task of the run failed", run_id, watch)
                if time.monotonic() - started > timeout:
                    reason = f"run not finished {time.monotonic() - started:.0f} s after the trigger"
                    self.fail(f"{reason} (last poll: {slow_answer!r})" if slow_answer else reason, run_id, watch)
                time.sleep(POLL_SECONDS)
        except BaseException:
            with contextlib.suppress(Exception):
                self.api.request("PATCH", run_path, {"state": "failed"})
            raise

    def poll_run(self, run_id: str, watch: RunWatch) -> None:
        """One look at the run: its task states, then its state; ends its held job once the sensor defers."""
        run_path = self.run_path(run_id)
        for instance in self.api.request("GET", f"{run_path}/taskInstances")["task_instances"]:
            watch.task_states[instance["task_id"]] = instance["state"]
            watch.seen.setdefault(instance["task_id"], set()).add(instance["state"])
        if (
            not watch.released_job
            and watch.task_states.get(SENSOR_TASK_ID) == "deferred"
            and self.scheduler_drained_defer_exit(run_id)
        ):
            watch.released_job = self.release_held_job(run_id)
        watch.run_state = self.api.request("GET", run_path)["state"]

    def scheduler_drained_defer_exit(self, run_id: str) -> bool:
        """Whether the scheduler has handled the executor's "success" of the sensor's deferring attempt.

        Airflow 3.3 fails a resumed deferrable task when that stale event is handled after the trigger
        already fired and the task runs again (apache/airflow#72716, open in 3.3.1; retries recover it). A
        real tuning job runs for minutes, so the event is long handled when it ends; the test ends its job
        only after the event, as in production, instead of seconds after the deferral.
        """
        marker = (
            f"Received executor event with state success for task instance TaskInstanceKey(dag_id='{DAG_ID}', "
            f"task_id='{SENSOR_TASK_ID}', run_id='{run_id}'"
        )
        return marker in self.launcher_log.read_text(errors="replace")

    def release_held_job(self, run_id: str) -> str:
        """End the run's tuning job (held RUNNING by the emulator) now that the sensor waits in the triggerer."""
        entry = self.api.request(
            "GET", f"{self.run_path(run_id)}/taskInstances/{LAUNCH_TASK_ID}/xcomEntries/{JOB_NAME_XCOM_KEY}"
        )
        job_name = str(entry["value"]).strip('"')
        self.vertex.advance_job(job_name, "JOB_STATE_SUCCEEDED")
        return job_name

    def trigger_and_watch_sample_run(self, label: str) -> FinishedRun:
        """Trigger a run on the packaged sample through the REST API and watch it to its end.

        The run has a pipeline and an artifact prefix of its own (its tuning job makes no other run on the
        sample skip tuning) and writes its outcome as its note through this stack's REST API (Param
        ``run_note_conn_id``; everyone is an admin here).
        """
        note_conn_id = f"airflow_api_{uuid.uuid4().hex[:8]}"
        self.api.request(
            "POST", "/api/v2/connections", {"connection_id": note_conn_id, "conn_type": "http", "host": self.base_url}
        )
        conf = {
            "source_kind": "sample",
            "poll_interval_seconds": 2,
            "gcs_prefix": self.unique_gcs_prefix(label),
            "run_note_conn_id": note_conn_id,
            "pipeline_id": f"{label}-{uuid.uuid4().hex[:8]}",
        }
        triggered = time.monotonic()
        run = self.api.request("POST", f"/api/v2/dags/{DAG_ID}/dagRuns", {"logical_date": None, "conf": conf})
        watch = self.watch_run(run["dag_run_id"])
        return FinishedRun(run["dag_run_id"], conf, watch, time.monotonic() - triggered)

    def assert_succeeded_with_deferred_sensor(self, run_id: str, watch: RunWatch) -> None:
        if watch.run_state != "success":
            self.fail("the run failed", run_id, watch)
        if "deferred" not in watch.seen.get(SENSOR_TASK_ID, set()):
            self.fail(f"{SENSOR_TASK_ID} was never seen deferred (the triggerer should hold the wait)", run_id, watch)


def vertex_emulator_url(launcher_log: Path) -> str:
    """The stack's Vertex AI emulator, from the line ``devtools.local_stack`` prints when the servers are up."""
    match = re.search(r"Vertex AI emulator (http://\S+)", launcher_log.read_text(errors="replace"))
    if not match:
        raise AssertionError(f"{launcher_log} does not say where the Vertex AI emulator listens")
    return match.group(1)


@contextlib.contextmanager
def running_local_airflow(workdir: Path) -> Iterator[LocalAirflow]:
    """Start the stack in ``workdir``, yield it healthy with the DAG parsed and unpaused, stop it on exit."""
    api_port = free_port()
    base_url = f"http://127.0.0.1:{api_port}"
    api = AirflowApi(base_url)
    state = workdir / "state"
    airflow_home = state / "airflow-home"
    launcher_log = workdir / "local_airflow.log"
    marker = uuid.uuid4().hex
    # The launcher sets every Airflow setting it needs; drop the test session's (unit-test mode, its home).
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AIRFLOW")}
    environment |= {
        MARKER_VARIABLE: marker,
        # make airflow starts no log server; should one start anyway, on free ports instead of 8793/8794, so a
        # `make airflow` left running does not get in the way (and the loopback check reports it).
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
    }
    processes = LaunchProcesses(marker)

    def fail(reason: str) -> NoReturn:
        pytest.fail(f"{reason}\n{diagnostics(launcher_log, airflow_home, None, RunWatch())}", pytrace=False)

    started = time.monotonic()
    with launcher_log.open("wb") as log:
        launcher = subprocess.Popen(
            [sys.executable, "-m", "devtools.local_airflow", "--port", str(api_port), "--state", str(state)],
            cwd=REPO_ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        # 1. healthy: metadatabase, scheduler, triggerer and dag-processor all report in
        deadline = started + HEALTHY_TIMEOUT
        while True:
            if launcher.poll() is not None:
                fail(f"devtools.local_airflow exited with {launcher.returncode} before Airflow was healthy")
            with contextlib.suppress(OSError, ValueError):
                health = api.request("GET", "/api/v2/monitor/health", timeout=2)
                if all(component.get("status") == "healthy" for component in health.values()):
                    break
            if time.monotonic() > deadline:
                fail(f"Airflow not healthy within {time.monotonic() - started:.0f} s")
            time.sleep(POLL_SECONDS)
        healthy_seconds = time.monotonic() - started
        assert_only_loopback_listeners(processes, api_port)
        api.log_in()

        # 2. the DAG is parsed (without import errors), then unpaused
        deadline = time.monotonic() + DAG_PARSED_TIMEOUT
        while True:
            try:
                api.request("GET", f"/api/v2/dags/{DAG_ID}")
                break
            except urllib.error.HTTPError as error:
                if error.code != 404:
                    raise
            if time.monotonic() > deadline:
                import_errors = api.request("GET", "/api/v2/importErrors")
                fail(f"DAG {DAG_ID} not parsed {time.monotonic() - started:.0f} s after the start; {import_errors=}")
            time.sleep(POLL_SECONDS)
        api.request("PATCH", f"/api/v2/dags/{DAG_ID}", {"is_paused": False})
        vertex = EmulatorAdmin(vertex_emulator_url(launcher_log))
        vertex.configure(hold_jobs_at="JOB_STATE_RUNNING")
        yield LocalAirflow(base_url, api, api_port, processes, launcher_log, airflow_home, healthy_seconds, vertex)
        assert_only_loopback_listeners(processes, api_port)  # also after tasks ran (workers, triggerer)
    finally:
        stop_seconds, left_running = stop_launch(launcher, processes)
    assert not left_running, f"still running {STOP_TIMEOUT} s after the stop (killed now): {left_running}"
    print(f"\nlocal Airflow: healthy after {healthy_seconds:.1f} s; stopped in {stop_seconds:.1f} s")
