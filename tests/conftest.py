"""Shared fixtures: hermetic environment, a loopback-only network guard, and the local servers."""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
SQUAD_SAMPLE = SHARED_DATA / "squad-sample" / "squad-v2-dev-5-articles.json"
# Logs and the local credential file of the session's emulators; one folder per pytest-xdist worker.
TEST_STATE = REPO_ROOT / ".local" / "pytest" / os.environ.get("PYTEST_XDIST_WORKER", "")

sys.path.insert(0, str(REPO_ROOT))  # devtools/ is not installed; tests import it from the checkout

from tests import xdist_groups  # noqa: E402  (needs the checkout on sys.path)

xdist_groups.name_groups_file()

# Hermetic settings, before any test module imports Airflow, google-auth, gcsfs or datasets.
os.environ.pop("GOOGLE_APPLICATION_CREDENTIALS", None)
os.environ.update(
    {
        "NO_GCE_CHECK": "true",
        "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false",
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_UPDATE_DOWNLOAD_COUNTS": "0",
        # A fresh metadata database for every test session: nothing left over from earlier runs.
        "AIRFLOW_HOME": tempfile.mkdtemp(prefix="airflow-home-"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
    }
)


# --------------------------------------------------------------------------- jsonschema: check a schema once
def _check_each_schema_once() -> None:
    """Make ``jsonschema.validate`` check a schema against its meta-schema once per session, not per call.

    Airflow's ``Param.resolve`` calls ``jsonschema.validate`` for every Param of every task each time a
    DAG is serialized, and ``validate`` first checks the *schema* against the meta-schema: about 40 % of
    the CPU of a ``dag.test()`` run of the pipeline DAG (~13,000 checks of the same ~50 schemas per run).
    That check is a pure function of the schema, so remembering which schemas passed changes no outcome:
    the instance is still validated on every call, and a schema that fails is checked (and fails) again.
    """
    import jsonschema
    import jsonschema.validators
    from jsonschema.exceptions import best_match

    passed: set[tuple[type, str]] = set()

    def validate(instance: Any, schema: Any, cls: Any = None, *args: Any, **kwargs: Any) -> None:
        # jsonschema.validators.validate (4.x) with the meta-schema check remembered per schema
        if cls is None:
            cls = jsonschema.validators.validator_for(schema)
        try:
            key: tuple[type, str] | None = (cls, json.dumps(schema, sort_keys=True, default=repr))
        except (TypeError, ValueError):  # keys that cannot be sorted, a cycle: check every time
            key = None
        if key is None or key not in passed:
            cls.check_schema(schema)
            if key is not None:
                passed.add(key)
        error = best_match(cls(schema, *args, **kwargs).iter_errors(instance))
        if error is not None:
            raise error

    jsonschema.validate = validate  # type: ignore[assignment]
    jsonschema.validators.validate = validate  # type: ignore[assignment]


_check_each_schema_once()


# --------------------------------------------------------------------------- network guard
def _is_loopback(address: Any) -> bool:
    if not isinstance(address, tuple) or not address:
        return True  # AF_UNIX paths and the like never leave the machine
    host = str(address[0])
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False  # a host name other than localhost would be resolved and reached: refuse


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return True


class NonLoopbackConnectionError(RuntimeError):
    """A test tried to reach a host other than this machine."""


def _refuse(what: str) -> NoReturn:
    raise NonLoopbackConnectionError(f"test tried to {what}; only loopback allowed")


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that reaches for a host other than this machine (Google, Hugging Face, ...).

    Every way out is refused *before* the real call, so no packet leaves: TCP and UDP ``connect``,
    UDP ``sendto`` / ``sendmsg`` to an address, and every resolver call for a remote name or address
    (a look-up is already traffic, to a DNS server). Loopback, ``localhost`` and this machine's own
    host name stay allowed; Airflow asks for its own FQDN.
    """
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_sendto = socket.socket.sendto
    real_sendmsg = socket.socket.sendmsg
    real_getaddrinfo = socket.getaddrinfo
    real_gethostbyname = socket.gethostbyname
    real_gethostbyname_ex = socket.gethostbyname_ex
    real_gethostbyaddr = socket.gethostbyaddr
    real_getnameinfo = socket.getnameinfo
    own_names = {socket.gethostname(), socket.gethostname().split(".")[0]}

    def is_local_name(host: Any) -> bool:
        name = host.decode() if isinstance(host, bytes) else host
        return name is None or name in own_names or _is_loopback((name, 0))

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        if not _is_loopback(address):
            _refuse(f"connect to {address!r}")
        return real_connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> Any:
        if not _is_loopback(address):
            _refuse(f"connect to {address!r}")
        return real_connect_ex(self, address)

    def guarded_sendto(self: socket.socket, data: Any, *flags_and_address: Any) -> Any:
        # sendto(data, address) or sendto(data, flags, address)
        if not flags_and_address or not _is_loopback(flags_and_address[-1]):
            _refuse(f"send a datagram to {flags_and_address[-1:]!r}")
        return real_sendto(self, data, *flags_and_address)

    def guarded_sendmsg(self: socket.socket, buffers: Any, *rest: Any, **kwargs: Any) -> Any:
        # sendmsg(buffers[, ancdata[, flags[, address]]]); without an address it goes where connect() allowed.
        address = kwargs.get("address", rest[2] if len(rest) > 2 else None)
        if address is not None and not _is_loopback(address):
            _refuse(f"send a message to {address!r}")
        return real_sendmsg(self, buffers, *rest, **kwargs)

    def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        # An IP literal needs no look-up; connect() then decides whether it may be reached.
        name = host.decode() if isinstance(host, bytes) else host
        if not is_local_name(host) and not _is_ip_literal(name):
            _refuse(f"resolve {name!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    def guarded_gethostbyname(host: str) -> str:
        if not is_local_name(host):
            _refuse(f"resolve {host!r}")
        return real_gethostbyname(host)

    def guarded_gethostbyname_ex(host: str) -> tuple[str, list[str], list[str]]:
        if not is_local_name(host):
            _refuse(f"resolve {host!r}")
        return real_gethostbyname_ex(host)

    def guarded_gethostbyaddr(host: str) -> tuple[str, list[str], list[str]]:
        # A reverse look-up of a remote address asks a DNS server about it.
        if not is_local_name(host):
            _refuse(f"look up the name of {host!r}")
        return real_gethostbyaddr(host)

    def guarded_getnameinfo(address: Any, flags: int) -> tuple[str, str]:
        numeric = flags & socket.NI_NUMERICHOST  # no look-up at all: the address is only formatted
        if not numeric and not (isinstance(address, tuple) and address and is_local_name(address[0])):
            _refuse(f"look up the name of {address!r}")
        return real_getnameinfo(address, flags)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
    monkeypatch.setattr(socket.socket, "sendto", guarded_sendto)
    monkeypatch.setattr(socket.socket, "sendmsg", guarded_sendmsg)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    monkeypatch.setattr(socket, "gethostbyname", guarded_gethostbyname)
    monkeypatch.setattr(socket, "gethostbyname_ex", guarded_gethostbyname_ex)
    monkeypatch.setattr(socket, "gethostbyaddr", guarded_gethostbyaddr)
    monkeypatch.setattr(socket, "getnameinfo", guarded_getnameinfo)


# --------------------------------------------------------------------------- Airflow
@pytest.fixture(scope="session")
def airflow_db() -> Iterator[float]:
    """A migrated metadata database in the test AIRFLOW_HOME; yields how long the migration took (s)."""
    import time

    from airflow.utils import db

    started = time.monotonic()
    db.initdb()
    yield time.monotonic() - started


# --------------------------------------------------------------------------- data
@pytest.fixture(scope="session")
def squad_sample_path() -> Path:
    """The real SQuAD 2.0 sample in ../shared/data; tests that need it skip when it is absent."""
    if not SQUAD_SAMPLE.exists():
        pytest.skip(f"real SQuAD sample not found at {SQUAD_SAMPLE}")
    return SQUAD_SAMPLE


# --------------------------------------------------------------------------- local servers
@pytest.fixture(scope="session")
def gcs_emulator() -> Iterator[Any]:
    from devtools.gcs_emulator import GcsEmulator

    TEST_STATE.mkdir(parents=True, exist_ok=True)
    with GcsEmulator(backend="memory", log_file=TEST_STATE / "fake-gcs-server.log") as emulator:
        previous = os.environ.get("STORAGE_EMULATOR_HOST")
        os.environ["STORAGE_EMULATOR_HOST"] = emulator.endpoint
        yield emulator
        if previous is None:
            os.environ.pop("STORAGE_EMULATOR_HOST", None)
        else:
            os.environ["STORAGE_EMULATOR_HOST"] = previous


@pytest.fixture
def gcs_bucket_uri(gcs_emulator: Any) -> str:
    """A fresh, unique prefix in the emulator's bucket."""
    from devtools.local_env import LOCAL_BUCKET

    return f"gs://{LOCAL_BUCKET}/t-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def vertex_emulator(gcs_emulator: Any) -> Iterator[Any]:
    from devtools.vertex_emulator.config import LIBRARY_COMPATIBILITY_PINS
    from devtools.vertex_emulator.process import VertexEmulatorProcess

    # TEMPORARY (issue 10): the pins keep the library's tests green until it moves to current models and
    # sends thinking settings; the emulator's own contract tests switch its strict defaults back on.
    with VertexEmulatorProcess(
        gcs_endpoint=gcs_emulator.endpoint,
        log_file=TEST_STATE / "vertex-emulator.log",
        **LIBRARY_COMPATIBILITY_PINS,
    ) as emulator:
        yield emulator


@pytest.fixture
def local_airflow_env(gcs_emulator: Any, vertex_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> dict:
    """The environment of a local run (connection, emulator endpoints), set for this test."""
    from devtools.local_env import local_environment

    environment = local_environment(gcs_emulator.endpoint, vertex_emulator.base_url, TEST_STATE)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return environment


@pytest.fixture
def genai_client(vertex_emulator: Any) -> Iterator[Any]:
    """A google-genai client in Vertex mode talking to a freshly reset emulator, SDK retries off."""
    import google.oauth2.credentials
    from google import genai
    from google.genai import types

    from devtools.local_env import LOCAL_LOCATION, LOCAL_PROJECT, LOCAL_TOKEN

    vertex_emulator.reset()
    client = genai.Client(
        vertexai=True,
        project=LOCAL_PROJECT,
        location=LOCAL_LOCATION,
        credentials=google.oauth2.credentials.Credentials(token=LOCAL_TOKEN),
        http_options=types.HttpOptions(
            base_url=vertex_emulator.base_url, retry_options=types.HttpRetryOptions(attempts=1)
        ),
    )
    yield client
    client.close()


# --------------------------------------------------------------------------- Vertex tuning jobs
FAST_JOBS = {"pending_seconds": 0.05, "queued_seconds": 0.05, "running_seconds": 0.3, "cancelling_seconds": 0.1}
#: The smallest training set the Vertex emulator accepts (its models.json ``training_examples_min``).
MIN_TRAINING_EXAMPLES = 16
PROMPT = "Answer the question.\n\nContext:\nThe bridge opened in 1911.\n\nQuestion:\nWhen did the bridge open?"


@pytest.fixture
def tuning_files(gcs_bucket_uri: str) -> tuple[str, str]:
    """``(train_uri, validation_uri)``: small valid Gemini tuning JSONL files in the GCS emulator.

    The training file has :data:`MIN_TRAINING_EXAMPLES` examples, the fewest the (strict) emulator accepts.
    """
    from gemini_qa_tuning import storage
    from gemini_qa_tuning.gemini_format import tuning_line

    train, validation = f"{gcs_bucket_uri}/train.jsonl", f"{gcs_bucket_uri}/validation.jsonl"
    storage.write_text(train, "\n".join([tuning_line(PROMPT, "1911")] * MIN_TRAINING_EXAMPLES) + "\n")
    storage.write_text(validation, tuning_line(PROMPT, "1911") + "\n")
    return train, validation


@pytest.fixture
def training_uri(tuning_files: tuple[str, str]) -> str:
    """Just the training file of :func:`tuning_files`."""
    return tuning_files[0]


@pytest.fixture
def fast_vertex(vertex_emulator: Any, local_airflow_env: dict) -> Any:
    """The emulator, reset, with jobs that finish in a fraction of a second; the local connection is set."""
    vertex_emulator.reset()
    vertex_emulator.configure(**FAST_JOBS)
    return vertex_emulator


@pytest.fixture
def held_vertex(fast_vertex: Any) -> Any:
    """The emulator with every tuning job created from now on held in JOB_STATE_PENDING until the test moves
    it on with ``held_vertex.advance_job(name[, state])``: nothing the test checks races the clock.

    An emulator-only control (``hold_jobs_at``, ``POST /_emulator/tuningJobs/{id}:advance``), not Vertex AI.
    """
    fast_vertex.configure(hold_jobs_at="JOB_STATE_PENDING")
    return fast_vertex


@pytest.fixture
def create_job(genai_client: Any, fast_vertex: Any, training_uri: str) -> Callable[..., str]:
    """Create a tuning job in the (freshly reset) emulator with the given outcome; returns its name.

    ``state="JOB_STATE_RUNNING"`` (or any later state) puts the job there at once and keeps it there until
    the test advances it, instead of leaving it to the clock; without it the job follows the clock.
    """

    from gemini_qa_tuning.tuning import TuningConfig

    def create(outcome: str = "succeed", state: str | None = None, **timing: float) -> str:
        hold = "JOB_STATE_PENDING" if state is not None else None
        fast_vertex.configure(job_outcome=outcome, hold_jobs_at=hold, **{**FAST_JOBS, **timing})
        request = TuningConfig(training_uri=training_uri).request(f"fixture-{outcome}", pipeline_id="tests")
        dataset, config = request.to_sdk()
        job = genai_client.tunings.tune(base_model=request.base_model, training_dataset=dataset, config=config)
        assert job.name
        if state is not None and state != "JOB_STATE_PENDING":
            assert fast_vertex.advance_job(job.name, state)["state"] == state
        return job.name

    return create


# --------------------------------------------------------------------------- thinking models in the catalog
#: Thinking facts of the Gemini 3 models as the Vertex emulator's models.json has them (lowest level
#: MINIMAL, no "off"); the expected tokens per level are what the evaluation reserves for thoughts.
LEVEL_THINKING_MODELS = {"gemini-3.5-flash-lite": "MINIMAL", "gemini-3.5-flash": "MEDIUM"}
EXPECTED_LEVEL_TOKENS = {"MINIMAL": 256, "LOW": 1024, "MEDIUM": 4096, "HIGH": 16384}


@pytest.fixture
def thinking_catalog(tmp_path: Path) -> Any:
    """The packaged model catalog with the level-based thinking models above (added or replaced), so the
    tests do not depend on which Gemini 3 facts the packaged file holds today."""
    from gemini_qa_tuning.tuning.catalog import load_catalog

    data = load_catalog().to_json()
    template = load_catalog().models[0].to_json()
    models = [model for model in data["models"] if model["name"] not in LEVEL_THINKING_MODELS]  # type: ignore[union-attr,index]
    for name, default_level in LEVEL_THINKING_MODELS.items():
        thinking = {
            "default_on": True,
            "can_disable": False,
            "min_budget": None,
            "max_budget": 24576,
            "levels": list(EXPECTED_LEVEL_TOKENS),
            "default_level": default_level,
            "expected_level_tokens": EXPECTED_LEVEL_TOKENS,
        }
        models.append({**template, "name": name, "family": "gemini-3.5", "thinking": thinking, "retirement_date": None})
    data["models"] = models
    path = tmp_path / "thinking-models.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return load_catalog(path)


@pytest.fixture
def with_thinking_catalog(thinking_catalog: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """:func:`thinking_catalog` as the catalog the evaluation reads its thinking facts from."""
    monkeypatch.setattr("gemini_qa_tuning.evaluation.thinking.default_catalog", lambda: thinking_catalog)
    return thinking_catalog


# --------------------------------------------------------------------------- make airflow's stack
@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup`` whose groups survive pytest 9.2's node ids (see tests/xdist_groups.py)."""
    return xdist_groups.make_scheduler(config, log)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own, which reports the collection to the controller
def pytest_collection_finish(session: pytest.Session) -> None:
    xdist_groups.write_groups(session.items)


#: The pytest-xdist group of the tests that share one ``make airflow`` stack (``make test`` runs
#: ``--dist loadgroup``): one worker runs them all, on one stack.
LOCAL_AIRFLOW_GROUP = "local_airflow"


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own, which reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Keep the tests of the shared local Airflow together, on one stack.

    Run alone (no pytest-xdist worker), they run last: the stack (several GiB, busy schedulers) is up
    only while they run instead of slowing every test collected between them. Under pytest-xdist they
    form one group and go first, with the other slow tests after them: the longest pieces of work start
    first, and the other worker runs the short tests meanwhile instead of leaving a long one for the end.
    """
    uses_stack = [item for item in items if "local_airflow" in getattr(item, "fixturenames", ())]
    rest = [item for item in items if item not in uses_stack]
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        items[:] = rest + uses_stack
        return
    for item in uses_stack:
        item.add_marker(pytest.mark.xdist_group(LOCAL_AIRFLOW_GROUP))
    slow = [item for item in rest if item.get_closest_marker("slow")]
    fast = [item for item in rest if not item.get_closest_marker("slow")]
    items[:] = uses_stack + slow + fast


@pytest.fixture(scope="session")
def local_airflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One running ``make airflow`` stack shared by the REST and the browser tests (a start costs ~1 min)."""
    from tests.airflow_stack import running_local_airflow

    with running_local_airflow(tmp_path_factory.mktemp("local-airflow")) as stack:
        yield stack


@pytest.fixture(scope="session")
def sample_run(local_airflow: Any) -> Any:
    """One sample run on the stack, triggered through the REST API and watched to its end (about a minute):
    shared by the REST test (tests/integration) and the Results-tab test (tests/ui), which read it."""
    return local_airflow.trigger_and_watch_sample_run("shared")
