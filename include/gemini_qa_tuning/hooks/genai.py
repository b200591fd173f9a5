"""A google-genai client in Vertex AI mode, built from an Airflow Google Cloud connection.

The Google provider's ``GenAIGenerativeModelHook`` builds its client without HTTP options, so it cannot
reach a local emulator, set timeouts or control retries. This hook reuses the provider's
:class:`GoogleBaseHook` for what it does well (project, credentials from every supported source,
impersonation chain) and adds:

* a base-URL override: the connection extra ``vertex_ai_base_url``, else the environment variable
  ``GOOGLE_VERTEX_BASE_URL``, else Google's endpoint. Locally this points the unmodified code at the
  Vertex AI emulator (``devtools/local_env.py``);
* the location: argument, else connection extra ``location``, else ``GOOGLE_CLOUD_LOCATION``, else
  ``us-central1``;
* HTTP retries of transient errors (429, 5xx, network) for reads, none for job creation (creating
  twice would pay twice; the launch operator re-checks by labels instead);
* sync and async (``client.aio``) tuning-job calls: create, get, list by labels, cancel; and setting a
  tuned model's default checkpoint (sync);
* sync and async batch prediction job calls (batch evaluation): create, get, list by labels, cancel.

Other tasks (evaluation) use :meth:`GenAIVertexHook.get_client` for generate/count-tokens calls.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.google.common.hooks.base_google import GoogleBaseHook

from gemini_qa_tuning.tuning import labels_filter

if TYPE_CHECKING:
    from google import genai
    from google.genai import types

BASE_URL_EXTRA = "vertex_ai_base_url"
BASE_URL_ENV = "GOOGLE_VERTEX_BASE_URL"
LOCATION_EXTRA = "location"
LOCATION_ENV = "GOOGLE_CLOUD_LOCATION"
DEFAULT_LOCATION = "us-central1"
DEFAULT_RETRY_ATTEMPTS = 5
DEFAULT_TIMEOUT_SECONDS = 60.0


@contextlib.contextmanager
def _quiet_experimental_warning() -> Iterator[None]:
    # google-genai warns on every tunings.tune call that its tuning API is "experimental"; in task
    # logs that line is noise next to the request we log ourselves.
    from google.genai.errors import ExperimentalWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        yield


class GenAIVertexHook(GoogleBaseHook):
    """google-genai (Vertex AI mode) client and tuning-job calls for an Airflow Google Cloud connection.

    :param gcp_conn_id: Airflow connection of type ``google_cloud_platform``.
    :param impersonation_chain: service account(s) to impersonate (see :class:`GoogleBaseHook`).
    :param project_id: Google Cloud project; defaults to the connection's project.
    :param location: Vertex AI region; see the module docstring for the fallbacks.
    :param base_url: Vertex AI API base URL; overrides connection and environment (tests, emulator).
    :param retry_attempts: attempts per read request (1 = no retry) on 429/5xx/network errors.
    :param timeout_seconds: timeout of each HTTP request.
    """

    def __init__(
        self,
        gcp_conn_id: str = GoogleBaseHook.default_conn_name,
        impersonation_chain: str | Sequence[str] | None = None,
        *,
        project_id: str | None = None,
        location: str | None = None,
        base_url: str | None = None,
        retry_attempts: int = DEFAULT_RETRY_ATTEMPTS,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        **kwargs: Any,
    ) -> None:
        super().__init__(gcp_conn_id=gcp_conn_id, impersonation_chain=impersonation_chain, **kwargs)
        if retry_attempts < 1:
            raise ValueError(f"retry_attempts must be at least 1 (1 = no retry), got {retry_attempts}.")
        self._project_id_override = project_id or None
        self._location_override = location or None
        self._base_url_override = base_url or None
        self.retry_attempts = retry_attempts
        self.timeout_seconds = timeout_seconds
        self._client: genai.Client | None = None

    # ------------------------------------------------------------------ settings
    @property
    def location(self) -> str:
        """The Vertex AI region requests go to."""
        return (
            self._location_override
            or self._get_field(LOCATION_EXTRA, None)
            or os.environ.get(LOCATION_ENV)
            or DEFAULT_LOCATION
        )

    def get_project_id(self) -> str:
        """The project requests go to; raises with what to set when none is configured."""
        project = self._project_id_override or self.project_id
        if not project:
            raise ValueError(
                f"No Google Cloud project for connection {self.gcp_conn_id!r}: set the connection's "
                "'project' extra, pass project_id, or use credentials that carry a project."
            )
        return project

    def get_base_url(self) -> str | None:
        """The Vertex AI API base URL, or ``None`` for Google's endpoint."""
        return self._base_url_override or self._get_field(BASE_URL_EXTRA, None) or os.environ.get(BASE_URL_ENV)

    def get_http_options(self) -> types.HttpOptions:
        """HTTP options of the client: base URL, per-request timeout and retries of transient errors."""
        from google.genai import types

        return types.HttpOptions(
            base_url=self.get_base_url(),
            timeout=int(self.timeout_seconds * 1000),
            retry_options=types.HttpRetryOptions(attempts=self.retry_attempts),
        )

    def get_client(self) -> genai.Client:
        """A google-genai client in Vertex AI mode (created once per hook; blocking: reads credentials)."""
        if self._client is None:
            from google import genai

            base_url = self.get_base_url()
            self.log.info(
                "Creating google-genai Vertex AI client: project=%s location=%s endpoint=%s",
                self.get_project_id(),
                self.location,
                base_url or "Google default",
            )
            self._client = genai.Client(
                vertexai=True,
                project=self.get_project_id(),
                location=self.location,
                credentials=self.get_credentials(),
                http_options=self.get_http_options(),
            )
        return self._client

    def close(self) -> None:
        """Release the client's sync connections; the next call builds a new client."""
        if self._client is not None:
            self._client.close()
            self._client = None

    async def aclose(self) -> None:
        """Release all of the client's connections (the aiohttp session and the sync pool)."""
        if self._client is not None:
            await self._client.aio.aclose()
            self._client.close()  # get_client() opened the sync pool too; closing it does no I/O wait
            self._client = None

    @staticmethod
    def _with_no_retry(config: types.CreateTuningJobConfig | None) -> types.CreateTuningJobConfig:
        # Per-request options are merged over the client's: the base URL and timeout stay.
        from google.genai import types

        config = config.model_copy() if config is not None else types.CreateTuningJobConfig()
        config.http_options = types.HttpOptions(retry_options=types.HttpRetryOptions(attempts=1))
        return config

    @staticmethod
    def _list_config(labels: Mapping[str, str], page_size: int) -> types.ListTuningJobsConfig:
        from google.genai import types

        return types.ListTuningJobsConfig(filter=labels_filter(labels), page_size=page_size)

    @staticmethod
    def _has_labels(job: types.TuningJob, labels: Mapping[str, str]) -> bool:
        # The server filters by labels; checking again keeps us correct against servers that ignore
        # or only partly apply the filter (reusing a wrong job would return someone else's model).
        job_labels = job.labels or {}
        return all(job_labels.get(key) == value for key, value in labels.items())

    # ------------------------------------------------------------------ sync calls
    def create_tuning_job(
        self,
        base_model: str,
        training_dataset: types.TuningDataset,
        config: types.CreateTuningJobConfig | None = None,
    ) -> types.TuningJob:
        """Create a supervised tuning job. Sent once, never retried: a retry could create a second job."""
        with _quiet_experimental_warning():
            return self.get_client().tunings.tune(
                base_model=base_model, training_dataset=training_dataset, config=self._with_no_retry(config)
            )

    def get_tuning_job(self, name: str) -> types.TuningJob:
        """The tuning job ``name`` (``projects/…/locations/…/tuningJobs/…``)."""
        return self.get_client().tunings.get(name=name)

    def list_tuning_jobs_by_labels(self, labels: Mapping[str, str], page_size: int = 100) -> list[types.TuningJob]:
        """Every tuning job in the project and location carrying all ``labels``."""
        pager = self.get_client().tunings.list(config=self._list_config(labels, page_size))
        return [job for job in pager if self._has_labels(job, labels)]

    def cancel_tuning_job(self, name: str) -> None:
        """Ask Vertex to cancel a tuning job (it moves to CANCELLING, then CANCELLED)."""
        self.get_client().tunings.cancel(name=name)

    def set_default_checkpoint(self, model: str, checkpoint_id: str) -> types.Model:
        """Make ``checkpoint_id`` the default checkpoint of the tuned ``model`` (``projects/…/models/M@V``).

        The tuned model's endpoint then serves that checkpoint. Vertex's ``models.patch`` of
        ``Model.defaultCheckpointId``, sent through google-genai's ``models.update``; see
        https://cloud.google.com/vertex-ai/generative-ai/docs/models/tuning-checkpoints ("Select the best
        performing checkpoint … to be the default checkpoint") and
        https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.models/patch.
        Idempotent, so the client's retries of transient errors are safe.
        """
        from google.genai import types

        return self.get_client().models.update(
            model=model, config=types.UpdateModelConfig(default_checkpoint_id=checkpoint_id)
        )

    # ------------------------------------------------------------------ async calls (client.aio)
    async def acreate_tuning_job(
        self,
        base_model: str,
        training_dataset: types.TuningDataset,
        config: types.CreateTuningJobConfig | None = None,
    ) -> types.TuningJob:
        """Async :meth:`create_tuning_job` (the client must already exist: call :meth:`get_client`)."""
        with _quiet_experimental_warning():
            return await self.get_client().aio.tunings.tune(
                base_model=base_model, training_dataset=training_dataset, config=self._with_no_retry(config)
            )

    async def aget_tuning_job(self, name: str) -> types.TuningJob:
        """Async :meth:`get_tuning_job`."""
        return await self.get_client().aio.tunings.get(name=name)

    async def alist_tuning_jobs_by_labels(
        self, labels: Mapping[str, str], page_size: int = 100
    ) -> list[types.TuningJob]:
        """Async :meth:`list_tuning_jobs_by_labels`."""
        pager = await self.get_client().aio.tunings.list(config=self._list_config(labels, page_size))
        return [job async for job in pager if self._has_labels(job, labels)]

    async def acancel_tuning_job(self, name: str) -> None:
        """Async :meth:`cancel_tuning_job`."""
        await self.get_client().aio.tunings.cancel(name=name)

    # ------------------------------------------------------------------ batch prediction jobs (issue 13)
    # google-genai's CreateBatchJobConfig has no labels field; BatchPredictionJob.labels is sent in the
    # request body through HttpOptions.extra_body (merged into the REST body by the SDK). The SDK's BatchJob
    # does not read labels back, so a lookup double-checks the display name, which carries the identity too.
    @staticmethod
    def _batch_create_config(display_name: str, dest: str, labels: Mapping[str, str]) -> types.CreateBatchJobConfig:
        from google.genai import types

        return types.CreateBatchJobConfig(
            display_name=display_name,
            dest=dest,
            # Sent once, never retried by the SDK: a retry could create (and pay for) a second job.
            http_options=types.HttpOptions(
                retry_options=types.HttpRetryOptions(attempts=1), extra_body={"labels": dict(labels)}
            ),
        )

    @staticmethod
    def _batch_list_config(labels: Mapping[str, str], page_size: int) -> types.ListBatchJobsConfig:
        from google.genai import types

        return types.ListBatchJobsConfig(filter=labels_filter(labels), page_size=page_size)

    def create_batch_job(
        self, model: str, src: str, dest: str, display_name: str, labels: Mapping[str, str]
    ) -> types.BatchJob:
        """Create a batch prediction job reading the JSONL ``src`` and writing under the ``dest`` prefix."""
        return self.get_client().batches.create(
            model=model, src=src, config=self._batch_create_config(display_name, dest, labels)
        )

    def get_batch_job(self, name: str) -> types.BatchJob:
        """The batch prediction job ``name`` (``projects/…/locations/…/batchPredictionJobs/…``)."""
        return self.get_client().batches.get(name=name)

    def list_batch_jobs_by_labels(
        self, labels: Mapping[str, str], display_name: str | None = None, page_size: int = 100
    ) -> list[types.BatchJob]:
        """Every batch prediction job carrying all ``labels`` (and named ``display_name``, when given)."""
        pager = self.get_client().batches.list(config=self._batch_list_config(labels, page_size))
        return [job for job in pager if display_name is None or job.display_name == display_name]

    def cancel_batch_job(self, name: str) -> None:
        """Ask Vertex to cancel a batch prediction job."""
        self.get_client().batches.cancel(name=name)

    async def acreate_batch_job(
        self, model: str, src: str, dest: str, display_name: str, labels: Mapping[str, str]
    ) -> types.BatchJob:
        """Async :meth:`create_batch_job` (the client must already exist: call :meth:`get_client`)."""
        return await self.get_client().aio.batches.create(
            model=model, src=src, config=self._batch_create_config(display_name, dest, labels)
        )

    async def alist_batch_jobs_by_labels(
        self, labels: Mapping[str, str], display_name: str | None = None, page_size: int = 100
    ) -> list[types.BatchJob]:
        """Async :meth:`list_batch_jobs_by_labels`."""
        pager = await self.get_client().aio.batches.list(config=self._batch_list_config(labels, page_size))
        return [job async for job in pager if display_name is None or job.display_name == display_name]

    async def aget_batch_job(self, name: str) -> types.BatchJob:
        """Async :meth:`get_batch_job`."""
        return await self.get_client().aio.batches.get(name=name)

    async def acancel_batch_job(self, name: str) -> None:
        """Async :meth:`cancel_batch_job`."""
        await self.get_client().aio.batches.cancel(name=name)
