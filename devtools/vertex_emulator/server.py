"""The HTTP server: the subset of the Vertex AI REST API the pipeline uses, plus ``/_emulator/*`` admin.

One asyncio event loop serves every request; injected latency is an ``asyncio.sleep``, so slow calls
never block others. Every error is answered in Google's JSON error format.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from devtools.vertex_emulator import jobs, readers, thinking, tuned_models
from devtools.vertex_emulator.batch_prediction import BATCH_ROUTES, BatchPredictionRoutes
from devtools.vertex_emulator.config import API_METHODS, EmulatorConfig
from devtools.vertex_emulator.datasets import (
    DatasetProblem,
    TuningExample,
    estimate_tokens,
    parse_tuning_file,
    read_dataset_text,
    supervised_tuning_data_stats,
)
from devtools.vertex_emulator.errors import (
    RPC_INVALID_ARGUMENT,
    ApiError,
    failed_precondition,
    invalid_argument,
    not_found,
)
from devtools.vertex_emulator.faults import FaultInjector
from devtools.vertex_emulator.models import ModelFacts, model_table
from devtools.vertex_emulator.registry import REGISTRY_ROUTES, RegistryRoutes
from devtools.vertex_emulator.store import EndpointRecord, Store, TunedModelRecord, TuningJobRecord, resource_name

logger = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 32 * 1024 * 1024
GCS_READ_TIMEOUT_SECONDS = 60
SUCCESS_COUNTED_METHODS = frozenset({"generateContent", "streamGenerateContent"})

Handler = Callable[[web.Request, dict[str, str]], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    """One API method: the path pattern it answers, its method key (counts, faults) and its handler."""

    http_method: str
    method_key: str
    pattern: re.Pattern[str]
    handler_name: str


_PREFIX = r"^/(?P<version>v1|v1beta1)/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/"
_MODEL = r"(?:publishers/(?P<publisher>[^/]+)/models/(?P<model>[^/:]+)|endpoints/(?P<endpoint_id>[^/:]+))"
ROUTES = tuple(
    Route(http_method, method_key, re.compile(_PREFIX + suffix + "$"), handler_name)
    for http_method, method_key, suffix, handler_name in (
        ("POST", "tuningJobs.create", "tuningJobs", "create_tuning_job"),
        ("GET", "tuningJobs.list", "tuningJobs", "list_tuning_jobs"),
        ("GET", "tuningJobs.get", r"tuningJobs/(?P<job_id>[^/:]+)", "get_tuning_job"),
        ("POST", "tuningJobs.cancel", r"tuningJobs/(?P<job_id>[^/:]+):cancel", "cancel_tuning_job"),
        ("POST", "generateContent", _MODEL + ":generateContent", "generate_content"),
        ("POST", "streamGenerateContent", _MODEL + ":streamGenerateContent", "stream_generate_content"),
        ("POST", "countTokens", _MODEL + ":countTokens", "count_tokens"),
        *REGISTRY_ROUTES,  # Model Registry: registry.py
        *BATCH_ROUTES,  # batch prediction jobs: batch_prediction.py
        ("PATCH", "models.patch", r"models/(?P<model_id>[^/:@]+)(?:@(?P<model_version>[^/:]+))?", "patch_model"),
    )
)


# Emulator-only test control of one tuning job (not a Vertex AI API; see README.md).
_JOB_CONTROL = re.compile(r"^/_emulator/tuningJobs/(?P<job_id>[^/:]+):(?P<action>hold|advance)$")


def error_response(error: ApiError) -> web.Response:
    return web.json_response(error.to_json(), status=error.http_code, headers=error.headers)


@dataclass(frozen=True)
class _TuningData:
    """What a tuning job takes from valid training data: its statistics and the tuned reader's profile."""

    stats: dict[str, Any]
    reader_profile: dict[str, Any]
    example_count: int


@dataclass(frozen=True)
class _DatasetLimits:
    """The dataset sizes a tuning job accepts (checked inside the job, once the files are read)."""

    training_examples_min: int
    validation_examples_max: int


def _parse_tuning_data(
    training_text: str,
    training_uri: str,
    validation_text: str | None,
    validation_uri: str | None,
    limits: _DatasetLimits,
) -> _TuningData:
    """Check both files (raises ``DatasetProblem``); learn only from the training file, as a tuning job does."""
    examples: list[TuningExample] = parse_tuning_file(training_text, training_uri, "Training dataset")
    if len(examples) < limits.training_examples_min:
        raise DatasetProblem(
            RPC_INVALID_ARGUMENT,
            f"Training dataset {training_uri} has {len(examples)} examples; a tuning job needs at least "
            f"{limits.training_examples_min} (Google recommends starting with 100).",
        )
    if validation_text is not None:
        validation = parse_tuning_file(validation_text, str(validation_uri), "Validation dataset")
        if len(validation) > limits.validation_examples_max:
            raise DatasetProblem(
                RPC_INVALID_ARGUMENT,
                f"Validation dataset {validation_uri} has {len(validation)} examples; at most "
                f"{limits.validation_examples_max} are allowed. Use a smaller validation split.",
            )
    return _TuningData(
        stats={"supervisedTuningDataStats": supervised_tuning_data_stats(examples)},
        reader_profile=readers.build_reader_profile([(example.prompt, example.answer) for example in examples]),
        example_count=len(examples),
    )


def _part_texts(content: Any) -> list[str]:
    """The text parts of one ``{role, parts}`` content (non-text parts are ignored)."""
    if not isinstance(content, dict):
        return []
    return [part["text"] for part in content.get("parts") or [] if isinstance(part, dict) and "text" in part]


def _request_texts(body: dict[str, Any]) -> list[str]:
    texts = _part_texts(body.get("systemInstruction"))
    for content in body["contents"]:
        texts += _part_texts(content)
    return texts


def _check_contents(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid_argument("The request body must be a JSON object.")
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents or not all(isinstance(item, dict) for item in contents):
        raise invalid_argument("contents is required: a non-empty list of {role, parts} objects.")
    return body


def _prompt(body: dict[str, Any]) -> str:
    for content in reversed(body["contents"]):
        if content.get("role", "user") == "user":
            return "\n".join(_part_texts(content))
    return ""


def _max_output_tokens(body: dict[str, Any]) -> int | None:
    generation_config = body.get("generationConfig") or {}
    value = generation_config.get("maxOutputTokens") if isinstance(generation_config, dict) else None
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise invalid_argument(f"generationConfig.maxOutputTokens must be a positive integer, got {value!r}.")
    return value


class Emulator(RegistryRoutes, BatchPredictionRoutes):
    """State and request handling of one emulator instance."""

    def __init__(self, config: EmulatorConfig, store: Store):
        self.startup_config = config
        self.config = config
        self.store = store
        self.faults = FaultInjector(config)
        self.request_counts: Counter[str] = Counter()
        self.started_at = time.time()
        self._session: aiohttp.ClientSession | None = None
        self._response_count = 0  # numbers responseId
        # Tuning or batch job id -> when get/list start to see it (the slow_create_seconds fault); in memory only.
        self._visible_at: dict[str, float] = {}

    # ---------------------------------------------------------------------------------- app wiring
    def make_app(self) -> web.Application:
        """The aiohttp application: one catch-all route, dispatched here so every 404 is Google-shaped."""
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.router.add_route("*", "/{path:.*}", self.dispatch)
        app.on_startup.append(self._open_session)
        app.on_cleanup.append(self._close_session)
        return app

    async def _open_session(self, app: web.Application) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=GCS_READ_TIMEOUT_SECONDS))

    async def _close_session(self, app: web.Application) -> None:
        if self._session is not None:
            await self._session.close()

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        try:
            if request.path.startswith("/_emulator/"):
                return await self._admin(request)
            return await self._api(request)
        except ApiError as error:
            return error_response(error)
        except web.HTTPRequestEntityTooLarge:
            return error_response(
                invalid_argument(f"Request payload size exceeds the limit: {MAX_REQUEST_BYTES} bytes.")
            )
        except web.HTTPException as error:  # any other refusal by aiohttp itself
            return error_response(ApiError.from_http_code(error.status, f"{error.reason}: {error.text}"))
        except Exception:
            logger.exception("unexpected error serving %s %s", request.method, request.path)
            return error_response(ApiError(500, "INTERNAL", "Internal error in the Vertex AI emulator; see its log."))

    async def _api(self, request: web.Request) -> web.StreamResponse:
        for route in ROUTES:
            match = route.pattern.match(request.path)
            if match is not None and route.http_method == request.method:
                break
        else:
            self.request_counts["unknown"] += 1
            raise not_found(f"The emulator has no method {request.method} {request.path}.")
        self.request_counts[route.method_key] += 1
        config = self.config
        rejection = self.faults.check(route.method_key, config, time.monotonic())
        if config.latency_seconds > 0 and config.faults_apply_to(route.method_key):
            await asyncio.sleep(config.latency_seconds)
        if rejection is not None:
            logger.debug("%s %s rejected with %d", request.method, request.path, rejection.http_code)
            raise rejection
        handler: Handler = getattr(self, route.handler_name)
        response = await handler(request, {key: value for key, value in match.groupdict().items() if value})
        if route.method_key in SUCCESS_COUNTED_METHODS:
            self.request_counts[f"{route.method_key}.ok"] += 1
        return response

    @staticmethod
    async def _json_body(request: web.Request) -> Any:
        raw = await request.read()
        if not raw.strip():
            return {}
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise invalid_argument(f"Invalid JSON payload received: {error}.") from None

    # ---------------------------------------------------------------------------------- tuning jobs
    def _hidden_jobs(self, now: float) -> frozenset[str]:
        """Ids of jobs (tuning or batch) created under ``slow_create_seconds`` that get and list do not see yet."""
        return frozenset(job_id for job_id, visible_at in self._visible_at.items() if visible_at > now)

    async def _answer_create_late(self, config: EmulatorConfig, method: str, job_id: str) -> None:
        """The ``slow_create_seconds`` fault on the create ``method``: the job is stored (acted on) already,
        but get/list see it, and the create is answered, only that much later, so a client with a shorter
        timeout gives up without the job's name."""
        if config.slow_create_seconds > 0 and config.faults_apply_to(method):
            self._visible_at[job_id] = time.time() + config.slow_create_seconds
            await asyncio.sleep(config.slow_create_seconds)

    def _job(self, params: dict[str, str]) -> TuningJobRecord:
        job = self.store.jobs.get(params["job_id"])
        hidden = job is not None and job.job_id in self._hidden_jobs(time.time())
        if job is None or hidden or not job.in_project(params["project"]) or job.location != params["location"]:
            name = resource_name(params["project"], params["location"], "tuningJobs", params["job_id"])
            raise not_found(f"TuningJob {name} not found.")
        return job

    async def _read_tuning_data(
        self, create: jobs.CreateRequest, config: EmulatorConfig
    ) -> _TuningData | DatasetProblem:
        """The job's training data, or the problem that will fail the job (Vertex checks data inside the job)."""
        assert self._session is not None, "the aiohttp session opens with the application"
        gcs_endpoint = config.gcs_endpoint
        try:
            training_text = await read_dataset_text(create.training_dataset_uri, gcs_endpoint, self._session)
            validation_text = None
            if create.validation_dataset_uri is not None:
                validation_text = await read_dataset_text(create.validation_dataset_uri, gcs_endpoint, self._session)
            table = model_table()
            limits = _DatasetLimits(
                training_examples_min=config.min_training_examples or table.training_examples_min,
                validation_examples_max=table.validation_examples_max,
            )
            return await asyncio.to_thread(
                _parse_tuning_data,
                training_text,
                create.training_dataset_uri,
                validation_text,
                create.validation_dataset_uri,
                limits,
            )
        except DatasetProblem as problem:
            return problem

    def _add_tuned_model_and_endpoint(
        self, job: TuningJobRecord, create: jobs.CreateRequest, data: _TuningData
    ) -> None:
        """One new model and endpoint per job, as on Vertex AI; they serve only once the job has succeeded.

        Each exported checkpoint (every epoch, or the last with ``exportLastCheckpointOnly``) gets its own
        endpoint too; the job's default endpoint serves the last epoch.
        """
        job.model_id, job.endpoint_id = self.store.new_id(), self.store.new_id()
        self.store.models[job.model_id] = TunedModelRecord(
            model_id=job.model_id,
            project=job.project,
            location=job.location,
            job_id=job.job_id,
            base_model=create.base_model,
            display_name=create.echoed.get("tunedModelDisplayName"),
            training_dataset_uri=create.training_dataset_uri,
            # Continuous tuning starts from the parent's weights: the stand-in starts from its profile.
            reader_profile=(
                readers.continue_reader_profile(
                    self.store.models[create.parent_model_id].reader_profile, data.reader_profile
                )
                if create.parent_model_id
                else data.reader_profile
            ),
            parent_model_id=create.parent_model_id,
        )
        self.store.endpoints[job.endpoint_id] = EndpointRecord(
            endpoint_id=job.endpoint_id,
            project=job.project,
            location=job.location,
            model_id=job.model_id,
            job_id=job.job_id,
            project_number=job.project_number,
        )
        epochs = [job.epochs] if create.export_last_checkpoint_only else list(range(1, job.epochs + 1))
        for epoch in epochs:
            endpoint_id = self.store.new_id()
            self.store.endpoints[endpoint_id] = EndpointRecord(
                endpoint_id=endpoint_id,
                project=job.project,
                location=job.location,
                model_id=job.model_id,
                job_id=job.job_id,
                epoch=epoch,
                project_number=job.project_number,
            )
            job.checkpoint_endpoints.append({"epoch": epoch, "endpoint_id": endpoint_id})

    def _parent_model(self, params: dict[str, str], tuned_model_name: str) -> jobs.ParentModel | None:
        """The tuned model a continuous tuning job names, if it exists in the request's project and location."""
        match = jobs.TUNED_MODEL_NAME.match(tuned_model_name)
        model = self.store.models.get(match.group("model_id")) if match else None
        job = self.store.jobs.get(model.job_id) if model else None
        if (
            match is None
            or model is None
            or job is None
            or not job.in_project(params["project"])
            or not job.in_project(match.group("project"))
            or job.location != params["location"]
            or match.group("location") != job.location
        ):
            return None
        return jobs.ParentModel(
            model_id=model.model_id,
            base_model=model.base_model,
            job_succeeded=jobs.current_state(job, time.time()) == jobs.SUCCEEDED,
            checkpoint_ids=tuple(str(checkpoint["epoch"]) for checkpoint in job.checkpoint_endpoints),
        )

    async def create_tuning_job(self, request: web.Request, params: dict[str, str]) -> web.Response:
        config = self.config  # as the request arrived: a config change while reading data does not apply
        create = jobs.validate_create_request(
            await self._json_body(request), model_table(), config.today_date(), partial(self._parent_model, params)
        )
        data = await self._read_tuning_data(create, config)
        problem = data if isinstance(data, DatasetProblem) else None
        job = TuningJobRecord(
            job_id=self.store.new_id(),
            project=params["project"],
            location=params["location"],
            create_time=time.time(),
            request=create.echoed,
            outcome=config.job_outcome,
            pending_seconds=config.pending_seconds,
            queued_seconds=config.queued_seconds,
            running_seconds=config.running_seconds,
            cancelling_seconds=config.cancelling_seconds,
            hold_state=config.hold_jobs_at,
            data_error={"code": problem.code, "message": problem.message} if problem else None,
            project_number=config.project_number,
            epochs=create.epochs,
            best_epoch=config.best_checkpoint_epoch,
        )
        if isinstance(data, _TuningData):
            job.steps_per_epoch = max(1, -(-data.example_count // jobs.EXAMPLES_PER_STEP))
            job.data_stats = {
                "supervisedTuningDataStats": {
                    **data.stats["supervisedTuningDataStats"],
                    "tuningStepCount": str(job.steps_per_epoch * job.epochs),
                }
            }
            self._add_tuned_model_and_endpoint(job, create, data)
        self.store.jobs[job.job_id] = job
        self.store.save()
        logger.info(
            "created %s (outcome %s%s)",
            job.name,
            job.outcome,
            f", dataset problem: {problem.message}" if problem else "",
        )
        await self._answer_create_late(config, "tuningJobs.create", job.job_id)
        return web.json_response(jobs.job_json(job, time.time(), params["version"]))

    async def get_tuning_job(self, request: web.Request, params: dict[str, str]) -> web.Response:
        return web.json_response(jobs.job_json(self._job(params), time.time(), params["version"]))

    async def list_tuning_jobs(self, request: web.Request, params: dict[str, str]) -> web.Response:
        query = request.query
        body = jobs.list_jobs(
            self.store,
            params["project"],
            params["location"],
            query.get("filter"),
            query.get("pageSize"),
            query.get("pageToken"),
            time.time(),
            params["version"],
            hidden=self._hidden_jobs(time.time()),
        )
        return web.json_response(body)

    async def cancel_tuning_job(self, request: web.Request, params: dict[str, str]) -> web.Response:
        job = self._job(params)
        now = time.time()
        state = jobs.current_state(job, now)
        if state in jobs.TERMINAL_STATES:
            raise failed_precondition(f"Cannot cancel {job.name}: it has already ended in state {state}.")
        if state != jobs.CANCELLING:
            job.cancel_time = now
            self.store.save()
            logger.info("cancelling %s (was %s)", job.name, state)
        return web.json_response({})

    # ---------------------------------------------------------------------------------- tuned models
    async def patch_model(self, request: web.Request, params: dict[str, str]) -> web.Response:
        """``models.patch`` (e.g. ``defaultCheckpointId``); see ``tuned_models.py`` for the rules and sources."""
        name = resource_name(params["project"], params["location"], "models", params["model_id"])
        model = self.store.models.get(params["model_id"])
        job = self.store.jobs.get(model.job_id) if model else None
        # A tuned model exists once its job has succeeded.
        if (
            model is None
            or job is None
            or not job.in_project(params["project"])
            or model.location != params["location"]
            or jobs.current_state(job, time.time()) != jobs.SUCCEEDED
        ):
            raise not_found(f"Model {name} not found.")
        tuned_models.check_version(params.get("model_version"), name)
        tuned_models.apply_patch(model, job, await self._json_body(request), request.query.get("updateMask"))
        self.store.save()
        logger.info("patched %s: default checkpoint %s", name, model.default_checkpoint_id)
        return web.json_response(tuned_models.model_json(model, job))

    # ---------------------------------------------------------------------------------- models
    def _answerer(self, params: dict[str, str]) -> tuple[Callable[[str], str], ModelFacts]:
        """The stand-in model behind a publisher model or a tuned endpoint, and its base model's facts.

        Retired models answer 404, as Vertex AI does, and so do tuned models built on them.
        """
        project, location = params["project"], params["location"]
        today = self.config.today_date()
        table = model_table()
        if "endpoint_id" in params:
            endpoint = self.store.endpoints.get(params["endpoint_id"])
            job = self.store.jobs.get(endpoint.job_id) if endpoint else None
            name = resource_name(project, location, "endpoints", params["endpoint_id"])
            if (
                endpoint is None
                or job is None
                or not endpoint.in_project(project)
                or endpoint.location != location
                or jobs.current_state(job, time.time()) != jobs.SUCCEEDED
            ):
                raise not_found(f"Endpoint {name} not found.")
            model = self.store.models[endpoint.model_id]
            facts = table.servable(model.base_model, today)
            if facts is None:
                retired = table.get(model.base_model)
                raise not_found(
                    f"Endpoint {name} not found: its tuned model's base {model.base_model} "
                    + (f"was retired on {retired.retires}." if retired and retired.retires else "is not served.")
                )
            # The tuned model's own endpoint serves its default checkpoint (models.patch can change it).
            epoch = endpoint.epoch if endpoint.epoch is not None else tuned_models.default_epoch(model, job)
            best_epoch = min(job.best_epoch or job.epochs, job.epochs)
            extra_words = readers.checkpoint_extra_words(epoch, best_epoch)
            return partial(readers.tuned_answer, profile=model.reader_profile, extra_words=extra_words), facts
        publisher, model_name = params["publisher"], params["model"]
        facts = table.servable(model_name, today) if publisher == "google" else None
        if facts is None:
            known = table.get(model_name) if publisher == "google" else None
            reason = (
                f"it was retired on {known.retires}"
                if known is not None and known.retires
                else "the emulator serves the models in devtools/vertex_emulator/models.json"
            )
            raise not_found(
                f"Publisher model {resource_name(project, location, 'publishers', publisher)}/models/{model_name} "
                f"not found ({reason})."
            )
        return readers.base_answer, facts

    def _generate(self, body: Any, params: dict[str, str]) -> dict[str, Any]:
        body = _check_contents(body)
        max_output_tokens = _max_output_tokens(body)
        answer_with, facts = self._answerer(params)
        thoughts = thinking.thinking_tokens(body, facts, self.config.model_thinking)
        answer = answer_with(_prompt(body))
        finish_reason = "STOP"
        if max_output_tokens is not None:
            # Thoughts come first and draw on the same allowance as the answer.
            thoughts = min(thoughts, max_output_tokens)
            room = max_output_tokens - thoughts
            if estimate_tokens(answer) > room:
                answer, finish_reason = answer[: room * 4], "MAX_TOKENS"
        prompt_tokens = sum(estimate_tokens(text) for text in _request_texts(body))
        answer_tokens = estimate_tokens(answer)
        self._response_count += 1
        # No text left: Vertex sends the candidate without parts (the SDK's response.text is then None).
        content: dict[str, Any] = {"role": "model", "parts": [{"text": answer}]} if answer else {"role": "model"}
        usage: dict[str, Any] = {
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": answer_tokens,
            "totalTokenCount": prompt_tokens + answer_tokens + thoughts,
        }
        if thoughts:
            usage["thoughtsTokenCount"] = thoughts
        return {
            "candidates": [{"content": content, "finishReason": finish_reason}],
            "usageMetadata": usage,
            "modelVersion": facts.model_id,
            "createTime": jobs.timestamp(time.time()),
            "responseId": f"emulator-{self._response_count}",
        }

    async def generate_content(self, request: web.Request, params: dict[str, str]) -> web.Response:
        return web.json_response(self._generate(await self._json_body(request), params))

    async def stream_generate_content(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        # One chunk holds the whole answer; ?alt=sse gets server-sent events, otherwise a JSON array.
        chunk = self._generate(await self._json_body(request), params)
        if request.query.get("alt") != "sse":
            return web.json_response([chunk])
        return web.Response(text=f"data: {json.dumps(chunk)}\r\n\r\n", content_type="text/event-stream")

    async def count_tokens(self, request: web.Request, params: dict[str, str]) -> web.Response:
        body = _check_contents(await self._json_body(request))
        self._answerer(params)  # 404 for an unknown model or endpoint, as Vertex AI answers
        texts = _request_texts(body)
        return web.json_response(
            {
                "totalTokens": sum(estimate_tokens(text) for text in texts),
                "totalBillableCharacters": sum(len(text) for text in texts),
            }
        )

    # ---------------------------------------------------------------------------------- admin
    def reset(self) -> None:
        """Back to the start-up config; no jobs, models or endpoints; request counts zero."""
        self.config = self.startup_config
        self.faults.restart(self.config)
        self.request_counts.clear()
        self.store.clear()
        self._visible_at.clear()
        self.reset_batch_jobs()
        logger.info("reset to the start-up configuration")

    def configure(self, changes: dict[str, Any]) -> None:
        """Merge ``changes`` into the configuration (raises ``ValueError`` for a bad key or value)."""
        self.config = self.config.updated(changes)
        if {"error_rate_503", "error_seed", "requests_per_minute"} & set(changes):
            self.faults.restart(self.config)
        logger.info("configuration changed: %s", changes)

    async def _set_quota(self, request: web.Request) -> web.Response:
        """``POST /_emulator/quota`` ``{"requests_per_minute": N|null, "quota_window_seconds": s}``: change the
        quota now, keeping the calls already admitted in the window (``/_emulator/config`` restarts it)."""
        changes = await self._json_body(request)
        allowed = {"requests_per_minute", "quota_window_seconds"}
        if not isinstance(changes, dict) or not changes or set(changes) - allowed:
            raise invalid_argument(f"POST /_emulator/quota takes a JSON object with some of {sorted(allowed)}.")
        try:
            self.config = self.config.updated(changes)
        except ValueError as error:
            raise invalid_argument(str(error)) from None
        logger.info("quota changed (window history kept): %s", changes)
        return web.json_response(self.config.to_json())

    def counts(self) -> dict[str, int]:
        """Requests received by method key since start or reset; every API method is listed, even at 0."""
        return {**dict.fromkeys(API_METHODS, 0), **self.request_counts}

    async def _control_job(self, request: web.Request, job_id: str, action: str) -> web.Response:
        """``POST /_emulator/tuningJobs/{id}:hold|advance`` with an optional ``{"state": ...}``: the job after it."""
        job = self.store.jobs.get(job_id)
        if job is None:
            raise not_found(f"The emulator has no tuning job {job_id!r} (pass the last part of the job's name).")
        body = await self._json_body(request)
        if not isinstance(body, dict) or set(body) - {"state"}:
            raise invalid_argument(
                f'POST /_emulator/tuningJobs/{{id}}:{action} takes {{}} or {{"state": "JOB_STATE_…"}}.'
            )
        state = body.get("state")
        if state is not None and not isinstance(state, str):
            raise invalid_argument(f"state must be a job state name such as {jobs.RUNNING!r}, got {state!r}.")
        now = time.time()
        if action == "hold":
            jobs.hold(job, state, now)
        else:
            jobs.advance(job, state, now)
        self.store.save()
        logger.info(
            "admin %s %s%s: now %s", action, job.name, f" ({state})" if state else "", jobs.current_state(job, now)
        )
        return web.json_response(jobs.job_json(job, now))

    async def _admin(self, request: web.Request) -> web.Response:
        action = (request.method, request.path)
        job_control = _JOB_CONTROL.match(request.path)
        if request.method == "POST" and job_control is not None:
            return await self._control_job(request, job_control["job_id"], job_control["action"])
        if action == ("GET", "/_emulator/health"):
            return web.json_response(
                {"status": "ok", "uptimeSeconds": round(time.time() - self.started_at, 3), "jobs": len(self.store.jobs)}
            )
        if action == ("GET", "/_emulator/requests"):
            return web.json_response(self.counts())
        if action == ("GET", "/_emulator/config"):
            return web.json_response(self.config.to_json())
        if action == ("POST", "/_emulator/config"):
            changes = await self._json_body(request)
            if not isinstance(changes, dict):
                raise invalid_argument("POST /_emulator/config takes a JSON object of config keys.")
            try:
                self.configure(changes)
            except ValueError as error:
                raise invalid_argument(str(error)) from None
            return web.json_response(self.config.to_json())
        if action == ("POST", "/_emulator/quota"):
            return await self._set_quota(request)
        if action == ("POST", "/_emulator/reset"):
            self.reset()
            return web.json_response({"status": "reset", "config": self.config.to_json()})
        raise not_found(
            f"The emulator has no admin method {request.method} {request.path}; see devtools/vertex_emulator/README.md."
        )


async def serve(config: EmulatorConfig, host: str, port: int, state_file: Path | None, port_file: Path | None) -> None:
    """Serve until SIGTERM or SIGINT. The bound port is written to ``port_file`` once listening."""
    emulator = Emulator(config, Store.open(state_file))
    runner = web.AppRunner(emulator.make_app(), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    bound_port = int(runner.addresses[0][1])
    if port_file is not None:
        temporary = port_file.with_name(port_file.name + ".tmp")
        temporary.write_text(str(bound_port))
        temporary.replace(port_file)
    logger.info(
        "Vertex AI emulator listening on http://%s:%d (state file: %s, GCS: %s)",
        host,
        bound_port,
        state_file or "none",
        config.gcs_endpoint or "none",
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
