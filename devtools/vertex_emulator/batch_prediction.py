"""Batch prediction jobs for Gemini (``batchPredictionJobs``): create, get, list by labels, cancel.

What Google documents, and the emulator does (read 2026-12-01):

* Input: one JSON Lines file in Cloud Storage, each line ``{"request": <GenerateContentRequest>}`` —
  https://cloud.google.com/vertex-ai/generative-ai/docs/multimodal/batch-prediction-from-cloud-storage
  ("Each line in the batch input data is a request to the model, which follows the same format for the
  Gemini API"). ``inputConfig.instancesFormat`` is ``jsonl`` with ``gcsSource.uris``, output
  ``outputConfig.predictionsFormat`` ``jsonl`` with ``gcsDestination.outputUriPrefix`` —
  https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/batch-prediction-api .
  The emulator supports only Cloud Storage (BigQuery is refused with a 400 naming the limit).
* ``model``: a publisher model ``publishers/google/models/M`` or a tuned model
  ``projects/P/locations/L/models/M`` (optionally ``@version`` or ``@alias``, as the BatchPredictionJob
  reference allows) — the same page lists "MODEL_PATH: publisher model name … or tuned endpoint name
  (projects/PROJECT_ID/locations/LOCATION/models/MODEL_ID)". An endpoint is not a Model: 400.
* Output: in the ``outputUriPrefix`` directory a new directory ``prediction-model-<create time>`` is made
  (BatchPredictionJob.OutputConfig.gcsDestination: "prediction-<model-display-name>-<job-create-time>,
  where timestamp is in YYYY-MM-DDThh:mm:ss.sssZ"; Gemini jobs write ``prediction-model-…``) holding
  ``predictions.jsonl``: per line the ``request`` echoed, ``status`` ("" when answered, else the error)
  and ``response`` (a GenerateContentResponse) when answered; ``outputInfo.gcsOutputDirectory`` names the
  directory and ``completionStats`` counts successful and failed lines.
* States: PENDING -> RUNNING -> SUCCEEDED, or FAILED (unreadable input, output not writable) with
  ``error``; cancel -> CANCELLING -> CANCELLED; cancelling an ended job is 400 FAILED_PRECONDITION.
* Batch requests skip the online quota (Vertex: no per-minute quota applies) and cost half
  (https://cloud.google.com/vertex-ai/generative-ai/docs/multimodal/batch-prediction-gemini: "Batch
  requests for Gemini models are discounted 50% from standard requests").

Each line is answered by the server's own online ``generateContent`` logic, so batch and online answers to
the same request are the same. The fault option ``batch_line_error_rate`` makes a share of lines per-line
errors (drawn from ``random.Random(error_seed)`` per job, so the same input gets the same errors).

Batch jobs live in memory only (not in the state file). Plain module: the server mixes
:class:`BatchPredictionRoutes` into its ``Emulator``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from devtools.vertex_emulator import jobs
from devtools.vertex_emulator.errors import (
    RPC_CANCELLED,
    RPC_INTERNAL,
    RPC_INVALID_ARGUMENT,
    RPC_NOT_FOUND,
    ApiError,
    failed_precondition,
    invalid_argument,
    not_found,
)
from devtools.vertex_emulator.store import Store, resource_name

if TYPE_CHECKING:
    from devtools.vertex_emulator.config import EmulatorConfig

logger = logging.getLogger(__name__)

BATCH_ROUTES = (
    ("POST", "batchPredictionJobs.create", "batchPredictionJobs", "create_batch_job"),
    ("GET", "batchPredictionJobs.list", "batchPredictionJobs", "list_batch_jobs"),
    ("GET", "batchPredictionJobs.get", r"batchPredictionJobs/(?P<batch_id>[^/:]+)", "get_batch_job"),
    ("POST", "batchPredictionJobs.cancel", r"batchPredictionJobs/(?P<batch_id>[^/:]+):cancel", "cancel_batch_job"),
)
BATCH_METHODS = tuple(route[1] for route in BATCH_ROUTES)

PENDING, RUNNING, SUCCEEDED = jobs.PENDING, jobs.RUNNING, jobs.SUCCEEDED
FAILED, CANCELLING, CANCELLED = jobs.FAILED, jobs.CANCELLING, jobs.CANCELLED
ENDED = frozenset({SUCCEEDED, FAILED, CANCELLED})
PREDICTIONS_FILE = "predictions.jsonl"
# Lines answered between two yields to the event loop (other requests go on while a job runs).
_LINES_PER_SLICE = 200

# BatchPredictionJob fields (aiplatform v1, discovery revision 20261106); proto JSON refuses others.
BATCH_JOB_FIELDS = frozenset(
    {
        "displayName",
        "model",
        "modelVersionId",
        "unmanagedContainerModel",
        "inputConfig",
        "instanceConfig",
        "modelParameters",
        "outputConfig",
        "dedicatedResources",
        "serviceAccount",
        "manualBatchTuningParameters",
        "generateExplanation",
        "explanationSpec",
        "labels",
        "encryptionSpec",
        "disableContainerLogging",
    }
)


@dataclass
class BatchJobRecord:
    """One batch prediction job; ``state`` moves as its task runs."""

    batch_id: str
    project: str
    location: str
    name_project: str
    display_name: str
    model: str  # as the request named it
    answer_params: dict[str, str]  # what the online answerer is called with
    input_uris: list[str]
    output_prefix: str
    labels: dict[str, str]
    create_time: float
    state: str = PENDING
    start_time: float | None = None
    end_time: float | None = None
    update_time: float = field(default_factory=time.time)
    error: dict[str, Any] | None = None
    output_directory: str | None = None
    total: int = 0  # input lines, once read
    successful: int = 0
    failed: int = 0

    @property
    def name(self) -> str:
        return resource_name(self.name_project, self.location, "batchPredictionJobs", self.batch_id)

    def move(self, state: str, error: dict[str, Any] | None = None) -> None:
        now = time.time()
        self.state, self.update_time = state, now
        if state == RUNNING and self.start_time is None:
            self.start_time = now
        if state in ENDED:
            self.end_time = now
        if error is not None:
            self.error = error

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self.name,
            "displayName": self.display_name,
            "model": self.model,
            "inputConfig": {"instancesFormat": "jsonl", "gcsSource": {"uris": list(self.input_uris)}},
            "outputConfig": {"predictionsFormat": "jsonl", "gcsDestination": {"outputUriPrefix": self.output_prefix}},
            "state": self.state,
            "createTime": jobs.timestamp(self.create_time),
            "updateTime": jobs.timestamp(self.update_time),
            "labels": dict(self.labels),
        }
        if self.start_time is not None:
            body["startTime"] = jobs.timestamp(self.start_time)
        if self.end_time is not None:
            body["endTime"] = jobs.timestamp(self.end_time)
        if self.error is not None:
            body["error"] = self.error
        if self.output_directory is not None:
            body["outputInfo"] = {"gcsOutputDirectory": self.output_directory}
        if self.state in ENDED or self.state == RUNNING:
            body["completionStats"] = {
                "successfulCount": str(self.successful),
                "failedCount": str(self.failed),
                "incompleteCount": "0" if self.state == SUCCEEDED else str(max(0, self.total - self.done)),
            }
        return body

    @property
    def done(self) -> int:
        return self.successful + self.failed


def _gcs_uri(value: Any, field_path: str, *, object_required: bool) -> str:
    if not isinstance(value, str) or not value.startswith("gs://"):
        raise invalid_argument(f"{field_path} must be a Cloud Storage URI gs://bucket/..., got {value!r}.")
    bucket, _, name = value.removeprefix("gs://").partition("/")
    if not bucket or (object_required and not name):
        raise invalid_argument(
            f"{field_path} {value!r} must name a bucket{' and an object' if object_required else ''}."
        )
    return value


def _input_uris(body: dict[str, Any]) -> list[str]:
    config = body.get("inputConfig")
    if not isinstance(config, dict):
        raise invalid_argument("inputConfig is required: {instancesFormat: 'jsonl', gcsSource: {uris: [...]}}.")
    if "bigquerySource" in config:
        raise invalid_argument("The emulator supports batch input from Cloud Storage only (gcsSource), not BigQuery.")
    if config.get("instancesFormat") != "jsonl":
        raise invalid_argument(
            "inputConfig.instancesFormat must be 'jsonl' for a Cloud Storage source, "
            f"got {config.get('instancesFormat')!r}."
        )
    source = config.get("gcsSource")
    uris = source.get("uris") if isinstance(source, dict) else None
    if not isinstance(uris, list) or not uris:
        raise invalid_argument("inputConfig.gcsSource.uris is required: a non-empty list of gs:// JSONL files.")
    return [_gcs_uri(uri, "inputConfig.gcsSource.uris[]", object_required=True) for uri in uris]


def _output_prefix(body: dict[str, Any]) -> str:
    config = body.get("outputConfig")
    if not isinstance(config, dict):
        raise invalid_argument("outputConfig is required: {predictionsFormat: 'jsonl', gcsDestination: {...}}.")
    if "bigqueryDestination" in config:
        raise invalid_argument("The emulator writes batch output to Cloud Storage only (gcsDestination).")
    if config.get("predictionsFormat") != "jsonl":
        raise invalid_argument(
            "outputConfig.predictionsFormat must be 'jsonl' for Cloud Storage, "
            f"got {config.get('predictionsFormat')!r}."
        )
    destination = config.get("gcsDestination")
    prefix = destination.get("outputUriPrefix") if isinstance(destination, dict) else None
    return _gcs_uri(prefix, "outputConfig.gcsDestination.outputUriPrefix", object_required=False)


def _output_folder(create_time: float) -> str:
    # YYYY-MM-DDThh:mm:ss.sssZ, as the OutputConfig reference gives it.
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(create_time))
    return f"prediction-model-{stamp}.{int(create_time * 1000) % 1000:03d}Z"


class _JobFailure(Exception):
    """What ends a running job FAILED: a google.rpc code and a message (the job's ``error``)."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code, self.message = code, message


class BatchPredictionRoutes:
    """The batch prediction handlers of :class:`devtools.vertex_emulator.server.Emulator` (a mixin)."""

    store: Store
    config: EmulatorConfig
    _session: aiohttp.ClientSession | None

    if TYPE_CHECKING:  # provided by the Emulator: its online answering and request parsing

        def _generate(self, body: Any, params: dict[str, str]) -> dict[str, Any]: ...

        def _answerer(self, params: dict[str, str]) -> Any: ...

        @staticmethod
        async def _json_body(request: web.Request) -> Any: ...

        def _hidden_jobs(self, now: float) -> frozenset[str]: ...

        async def _answer_create_late(self, config: EmulatorConfig, method: str, job_id: str) -> None: ...

    @property
    def batch_jobs(self) -> dict[str, BatchJobRecord]:
        jobs_by_id: dict[str, BatchJobRecord] | None = getattr(self, "_batch_jobs", None)
        if jobs_by_id is None:
            jobs_by_id = {}
            self._batch_jobs = jobs_by_id
            self._batch_tasks: dict[str, asyncio.Task[None]] = {}
        return jobs_by_id

    def reset_batch_jobs(self) -> None:
        for task in getattr(self, "_batch_tasks", {}).values():
            task.cancel()
        self.batch_jobs.clear()
        self._batch_tasks.clear()

    # ------------------------------------------------------------------ model
    def _batch_model(self, model: Any, project: str, location: str) -> dict[str, str]:
        """The answerer parameters of the batch ``model`` (404/400 as Vertex refuses it)."""
        if not isinstance(model, str) or not model:
            raise invalid_argument("model is required: publishers/google/models/M or projects/P/locations/L/models/M.")
        parts = model.split("/")
        if len(parts) == 4 and parts[0] == "publishers" and parts[2] == "models":
            params = {"project": project, "location": location, "publisher": parts[1], "model": parts[3]}
            self._answerer(params)  # 404 for an unknown or retired publisher model, as generateContent
            return params
        if len(parts) == 6 and parts[0] == "projects" and parts[2] == "locations" and parts[4] == "endpoints":
            raise invalid_argument(
                f"model {model!r} is an endpoint; a batch prediction job takes a Model: "
                "projects/P/locations/L/models/M (the tuned model) or publishers/google/models/M."
            )
        if len(parts) == 6 and parts[0] == "projects" and parts[2] == "locations" and parts[4] == "models":
            if parts[3] != location:
                raise invalid_argument(f"model {model!r} is in {parts[3]}; the job is created in {location}.")
            model_id, _, version = parts[5].partition("@")
            record = self.store.models.get(model_id)
            job = self.store.jobs.get(record.job_id) if record else None
            if (
                record is None
                or job is None
                or not job.in_project(parts[1])
                or not job.in_project(project)
                or jobs.current_state(job, time.time()) != jobs.SUCCEEDED
            ):
                raise not_found(f"Model {model} not found.")
            if version and version != "1" and version not in record.version_aliases:
                raise not_found(f"Model {model} not found: no version or alias {version!r}.")
            endpoint = next(
                (
                    endpoint
                    for endpoint in self.store.endpoints.values()
                    if endpoint.model_id == model_id and endpoint.epoch is None
                ),
                None,
            )
            if endpoint is None:
                raise not_found(f"Model {model} not found.")
            return {"project": project, "location": location, "endpoint_id": endpoint.endpoint_id}
        raise invalid_argument(
            f"model {model!r} is not a model resource name: use publishers/google/models/M or "
            "projects/P/locations/L/models/M[@version]."
        )

    def _batch_job(self, params: dict[str, str]) -> BatchJobRecord:
        job = self.batch_jobs.get(params["batch_id"])
        if (
            job is None
            or job.batch_id in self._hidden_jobs(time.time())
            or params["project"] not in (job.project, job.name_project)
            or job.location != params["location"]
        ):
            name = resource_name(params["project"], params["location"], "batchPredictionJobs", params["batch_id"])
            raise not_found(f"BatchPredictionJob {name} not found.")
        return job

    # ------------------------------------------------------------------ routes
    async def create_batch_job(self, request: web.Request, params: dict[str, str]) -> web.Response:
        body = await self._json_body(request)
        if not isinstance(body, dict):
            raise invalid_argument("The request body must be a BatchPredictionJob JSON object.")
        unknown = sorted(set(body) - BATCH_JOB_FIELDS)
        if unknown:
            raise invalid_argument(
                f"Invalid JSON payload received. Unknown name(s) {unknown} at 'batch_prediction_job'."
            )
        display_name = body.get("displayName")
        if not isinstance(display_name, str) or not display_name.strip():
            raise invalid_argument("displayName is required (a name you choose for the job).")
        labels = body.get("labels") or {}
        jobs._validate_labels(labels)
        answer_params = self._batch_model(body.get("model"), params["project"], params["location"])
        input_uris = _input_uris(body)
        output_prefix = _output_prefix(body)
        now = time.time()
        job = BatchJobRecord(
            batch_id=self.store.new_id(),
            project=params["project"],
            location=params["location"],
            name_project=self.config.project_number or params["project"],
            display_name=display_name,
            model=body["model"],
            answer_params=answer_params,
            input_uris=input_uris,
            output_prefix=output_prefix,
            labels=dict(labels),
            create_time=now,
            update_time=now,
        )
        self.batch_jobs[job.batch_id] = job
        self._batch_tasks[job.batch_id] = asyncio.get_running_loop().create_task(self._run_batch_job(job))
        logger.info("created %s for %s (%s)", job.name, job.model, ", ".join(input_uris))
        await self._answer_create_late(self.config, "batchPredictionJobs.create", job.batch_id)
        return web.json_response(job.to_json())

    async def get_batch_job(self, request: web.Request, params: dict[str, str]) -> web.Response:
        return web.json_response(self._batch_job(params).to_json())

    async def list_batch_jobs(self, request: web.Request, params: dict[str, str]) -> web.Response:
        terms = jobs.parse_label_filter(request.query.get("filter"))
        try:
            page_size = int(request.query.get("pageSize") or jobs.DEFAULT_PAGE_SIZE)
        except ValueError:
            raise invalid_argument(f"pageSize must be an integer, got {request.query.get('pageSize')!r}.") from None
        page_size = min(max(page_size, 1), jobs.MAX_PAGE_SIZE)
        hidden = self._hidden_jobs(time.time())
        matching = sorted(
            (
                job
                for job in self.batch_jobs.values()
                if params["project"] in (job.project, job.name_project)
                and job.location == params["location"]
                and job.batch_id not in hidden
                and all(key in job.labels and (value is None or job.labels[key] == value) for key, value in terms)
            ),
            key=lambda job: (job.create_time, job.batch_id),
            reverse=True,
        )
        token = request.query.get("pageToken")
        start = 0
        if token:
            try:
                start = int(token)
            except ValueError:
                raise invalid_argument(
                    f"pageToken {token!r} is invalid: pass nextPageToken of the previous page."
                ) from None
        page = matching[start : start + page_size]
        response: dict[str, Any] = {"batchPredictionJobs": [job.to_json() for job in page]}
        if start + page_size < len(matching):
            response["nextPageToken"] = str(start + page_size)
        return web.json_response(response)

    async def cancel_batch_job(self, request: web.Request, params: dict[str, str]) -> web.Response:
        job = self._batch_job(params)
        if job.state in ENDED:
            raise failed_precondition(f"Cannot cancel {job.name}: it has already ended in state {job.state}.")
        if job.state != CANCELLING:
            job.move(CANCELLING)
            task = self._batch_tasks.get(job.batch_id)
            if task is not None:
                task.cancel()
            delay = self.config.cancelling_seconds
            asyncio.get_running_loop().call_later(
                delay,
                lambda: job.move(
                    CANCELLED, {"code": RPC_CANCELLED, "message": "The batch prediction job was cancelled."}
                ),
            )
            logger.info("cancelling %s", job.name)
        return web.json_response({})

    # ------------------------------------------------------------------ the job itself
    async def _run_batch_job(self, job: BatchJobRecord) -> None:
        config = self.config
        try:
            await asyncio.sleep(config.pending_seconds)
            job.move(RUNNING)
            started = time.monotonic()
            lines: list[str] = []
            for uri in job.input_uris:
                text = await self._gcs_read(uri)
                lines += [line for line in text.splitlines() if line.strip()]
            job.total = len(lines)
            rng = random.Random(config.error_seed)
            output: list[str] = []
            for index, line in enumerate(lines):
                output.append(self._answer_line(job, line, rng, config.batch_line_error_rate))
                if index % _LINES_PER_SLICE == _LINES_PER_SLICE - 1:
                    await asyncio.sleep(0)
            folder = f"{job.output_prefix.rstrip('/')}/{_output_folder(job.create_time)}"
            await self._gcs_write(f"{folder}/{PREDICTIONS_FILE}", "".join(output))
            job.output_directory = folder
            rest = config.batch_running_seconds - (time.monotonic() - started)
            if rest > 0:
                await asyncio.sleep(rest)
            job.move(SUCCEEDED)
            logger.info("%s succeeded: %d answered, %d failed lines", job.name, job.successful, job.failed)
        except asyncio.CancelledError:
            raise
        except aiohttp.ClientError as error:
            job.move(FAILED, {"code": RPC_INTERNAL, "message": f"Cloud Storage could not be reached: {error}."})
        except _JobFailure as error:
            job.move(FAILED, {"code": error.code, "message": error.message})
            logger.info("%s failed: %s", job.name, error.message)

    def _answer_line(self, job: BatchJobRecord, line: str, rng: random.Random, error_rate: float) -> str:
        processed = jobs.timestamp(time.time())
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            job.failed += 1
            return (
                json.dumps({"status": f"Invalid JSON line: {error}", "processed_time": processed, "request": line})
                + "\n"
            )
        request = item.get("request") if isinstance(item, dict) else None
        echoed = {**item} if isinstance(item, dict) else {"request": item}
        if not isinstance(request, dict):
            job.failed += 1
            status = 'Each line must be an object {"request": <GenerateContentRequest>}.'
            return json.dumps({**echoed, "status": status, "processed_time": processed}, ensure_ascii=False) + "\n"
        # Drawn for every line, so that which lines fail depends only on the seed and the line's position.
        faulty = rng.random() < error_rate
        if faulty:
            job.failed += 1
            status = "Internal error occurred while processing this request (emulator fault: batch_line_error_rate)."
            return json.dumps({**echoed, "status": status, "processed_time": processed}, ensure_ascii=False) + "\n"
        try:
            response = self._generate(request, job.answer_params)
        except ApiError as error:
            job.failed += 1
            status = json.dumps(error.to_json())
            return json.dumps({**echoed, "status": status, "processed_time": processed}, ensure_ascii=False) + "\n"
        job.successful += 1
        return (
            json.dumps({**echoed, "status": "", "processed_time": processed, "response": response}, ensure_ascii=False)
            + "\n"
        )

    # ------------------------------------------------------------------ Cloud Storage
    def _gcs_url(self, uri: str) -> tuple[str, str, str]:
        endpoint = self.config.gcs_endpoint
        if not endpoint:
            raise _JobFailure(RPC_INTERNAL, f"Cannot read or write {uri}: the emulator has no GCS endpoint.")
        bucket, _, name = uri.removeprefix("gs://").partition("/")
        return endpoint, bucket, name

    async def _gcs_read(self, uri: str) -> str:
        assert self._session is not None
        endpoint, bucket, name = self._gcs_url(uri)
        url = f"{endpoint}/storage/v1/b/{urllib.parse.quote(bucket, safe='')}/o/{urllib.parse.quote(name, safe='')}"
        async with self._session.get(url, params={"alt": "media"}) as response:
            if response.status == 404:
                raise _JobFailure(RPC_NOT_FOUND, f"Batch input file {uri} does not exist.")
            if response.status != 200:
                raise _JobFailure(RPC_INTERNAL, f"Reading {uri} failed: HTTP {response.status}.")
            body = await response.read()
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            raise _JobFailure(RPC_INVALID_ARGUMENT, f"Batch input file {uri} is not UTF-8.") from None

    async def _gcs_write(self, uri: str, text: str) -> None:
        assert self._session is not None
        endpoint, bucket, name = self._gcs_url(uri)
        url = f"{endpoint}/upload/storage/v1/b/{urllib.parse.quote(bucket, safe='')}/o"
        async with self._session.post(
            url,
            params={"uploadType": "media", "name": name},
            data=text.encode("utf-8"),
            headers={"Content-Type": "application/jsonl"},
        ) as response:
            if response.status == 404:
                raise _JobFailure(
                    RPC_NOT_FOUND, f"Cannot write batch output {uri}: the bucket {bucket} does not exist."
                )
            if response.status not in (200, 201):
                raise _JobFailure(RPC_INTERNAL, f"Writing {uri} failed: HTTP {response.status}.")
