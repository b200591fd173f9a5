"""Every judged tuned model's verdict, kept so that no paid model is judged twice or left unjudged.

A tuning job is paid for once per dataset fingerprint + tuning config hash + pipeline (the launch
reuses a live or succeeded job with those labels). Whether its model was *judged* — evaluated against
the base model and the champion, and promoted or rejected — is not something Vertex knows, so the
pipeline records it here, one object per key::

    <gcs_prefix>/verdicts/<dataset fingerprint>-<config hash>.json

The plan of the next run reads it (:func:`read_verdict`): a verdict means "judged, skip"; a succeeded or
running job without one means "evaluate that job's model, pay for no new tuning"; neither means
"launch". A verdict is written only once the decision has been carried out (the promotion written, or
the champion kept), so a run that dies between deciding and promoting leaves no verdict and the next
run judges the model again rather than skipping a model it believes promoted. The champion history
(what served when) is a separate record; verdicts cover rejections too.

Each judgement is also kept, never replaced, in a history the run report's chart reads
(:func:`read_all_verdicts`): a model judged again (``force_retrain``) keeps its earlier points. It sits
beside ``verdicts/``, which holds exactly the current verdict per key::

    <gcs_prefix>/verdict_history/<dataset fingerprint>-<config hash>/<run id>.json
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Self

from gemini_qa_tuning import storage
from gemini_qa_tuning.evaluation.report import MetricsHeadline
from gemini_qa_tuning.json_types import JsonObject, read_bool, read_optional_str, read_str

__all__ = [
    "CorruptVerdictError",
    "Verdict",
    "read_all_verdicts",
    "read_verdict",
    "verdict_history_uri",
    "verdict_uri",
    "write_verdict",
]

VERDICTS_FOLDER = "verdicts"
#: Every judgement, one object per key and run (VERDICTS_FOLDER keeps only the current one per key).
VERDICT_HISTORY_FOLDER = "verdict_history"
logger = logging.getLogger(__name__)
_KEY_PART = re.compile(r"^[a-z0-9_-]{1,63}$")


class CorruptVerdictError(ValueError):
    """A verdict file exists but cannot be read as one; the message names the file and what to do."""


@dataclass(frozen=True)
class Verdict:
    """What a run decided about one tuned model, with the numbers it decided on.

    :param dataset_fingerprint: the data the model was tuned on.
    :param config_hash: the tuning config hash (``TuningConfig.config_hash``) of the job.
    :param promoted: whether the model became the champion.
    :param reasons: the promotion policy's sentences (why promoted or rejected).
    :param headline: EM/F1 per model, paired differences and their 95 % intervals.
    :param metrics_uri: the run's full ``metrics.json``.
    :param job_name: the tuning job that produced the model.
    :param model: the endpoint that was evaluated.
    :param tuned_model: the tuned model resource (``projects/…/models/M@V``), if known.
    :param run_id: the run that judged it.
    :param decided_at: when (ISO 8601, UTC).
    :param pipeline_id: the pipeline that owns the job.
    """

    dataset_fingerprint: str
    config_hash: str
    promoted: bool
    reasons: tuple[str, ...]
    headline: MetricsHeadline
    metrics_uri: str
    job_name: str | None
    model: str | None
    tuned_model: str | None
    run_id: str
    decided_at: str
    pipeline_id: str | None = None

    def to_json(self) -> JsonObject:
        return {
            "dataset_fingerprint": self.dataset_fingerprint,
            "config_hash": self.config_hash,
            "promoted": self.promoted,
            "reasons": list(self.reasons),
            "headline": self.headline.to_json(),
            "metrics_uri": self.metrics_uri,
            "job_name": self.job_name,
            "model": self.model,
            "tuned_model": self.tuned_model,
            "run_id": self.run_id,
            "decided_at": self.decided_at,
            "pipeline_id": self.pipeline_id,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        where = "verdict"
        reasons = data.get("reasons", [])
        headline = data.get("headline")
        if not isinstance(reasons, list) or not isinstance(headline, Mapping):
            raise ValueError(f"{where}: 'reasons' must be a list and 'headline' an object, got {data!r}")
        return cls(
            dataset_fingerprint=read_str(data, "dataset_fingerprint", where),
            config_hash=read_str(data, "config_hash", where),
            promoted=read_bool(data, "promoted", where),
            reasons=tuple(str(reason) for reason in reasons),
            headline=MetricsHeadline.from_json(headline),
            metrics_uri=read_str(data, "metrics_uri", where),
            job_name=read_optional_str(data, "job_name", where),
            model=read_optional_str(data, "model", where),
            tuned_model=read_optional_str(data, "tuned_model", where),
            run_id=read_str(data, "run_id", where),
            decided_at=read_str(data, "decided_at", where),
            pipeline_id=read_optional_str(data, "pipeline_id", where),
        )

    def describe(self) -> str:
        """One phrase for the log: promoted or rejected, by which run, on what F1."""
        f1 = self.headline.models.get("tuned")
        score = f" (tuned F1 {f1.f1:.1f})" if f1 is not None else ""
        outcome = "promoted" if self.promoted else "rejected"
        return f"{outcome} by run {self.run_id} on {self.decided_at}{score}"


def verdict_uri(gcs_prefix: str, dataset_fingerprint: str, config_hash: str) -> str:
    """Where the verdict of the model tuned on ``dataset_fingerprint`` with ``config_hash`` is kept."""
    for name, value in (("dataset_fingerprint", dataset_fingerprint), ("config_hash", config_hash)):
        if not _KEY_PART.match(value or ""):
            raise ValueError(
                f"{name} {value!r} cannot name a verdict file: use the export's fingerprint and "
                "TuningConfig.config_hash() (lowercase letters, digits, '-' and '_', at most 63)."
            )
    return storage.join_uri(gcs_prefix, VERDICTS_FOLDER, f"{dataset_fingerprint}-{config_hash}.json")


def read_verdict(gcs_prefix: str, dataset_fingerprint: str, config_hash: str) -> Verdict | None:
    """The recorded verdict for this data and tuning config, or ``None`` when the model was never judged.

    Raises :class:`CorruptVerdictError` for a file that is not a verdict: skipping on it could leave a
    paid model unjudged, judging again could pay twice for predictions, so a person decides.
    """
    uri = verdict_uri(gcs_prefix, dataset_fingerprint, config_hash)
    if not storage.exists(uri):
        return None
    try:
        return Verdict.from_json(json.loads(storage.read_text(uri)))
    except (ValueError, TypeError) as error:
        raise CorruptVerdictError(
            f"{uri} is not a readable verdict ({error}). Delete it to have the model judged again, or restore "
            "it from the run that wrote it (its metrics.json holds the numbers)."
        ) from error


def write_verdict(gcs_prefix: str, verdict: Verdict) -> str:
    """Record ``verdict`` (replacing an earlier one for the same key: the latest judgement counts); its URI.

    The judgement also goes to the history (:func:`verdict_history_uri`), first: a verdict is never
    current without its history entry.
    """
    uri = verdict_uri(gcs_prefix, verdict.dataset_fingerprint, verdict.config_hash)
    text = json.dumps(verdict.to_json(), indent=2, sort_keys=True) + "\n"
    storage.write_text(verdict_history_uri(gcs_prefix, verdict), text)
    storage.write_text(uri, text)
    return uri


def verdict_history_uri(gcs_prefix: str, verdict: Verdict) -> str:
    """Where the history keeps ``verdict``: one object per key and run, never replaced by a later judgement."""
    from gemini_qa_tuning.run_summary import run_folder_name

    key = verdict_uri(gcs_prefix, verdict.dataset_fingerprint, verdict.config_hash).rsplit("/", 1)[1]
    folder = storage.join_uri(gcs_prefix, VERDICT_HISTORY_FOLDER, key.removesuffix(".json"))
    return storage.join_uri(folder, f"{run_folder_name(verdict.run_id)}.json")


def read_all_verdicts(gcs_prefix: str) -> list[Verdict]:
    """Every judgement under ``gcs_prefix``: the history and the current verdicts (one written before the
    history existed counts too), each judgement once, oldest first. An unreadable file is left out with a warning:
    a history is for reading, and :func:`read_verdict` still refuses it when a plan needs it."""
    found: dict[tuple[str, str, str], Verdict] = {}
    folders = (VERDICT_HISTORY_FOLDER, VERDICTS_FOLDER)
    uris = [uri for folder in folders for uri in storage.list_uris(storage.join_uri(gcs_prefix, folder) + "/")]
    for uri in uris:
        if not uri.endswith(".json"):
            continue
        try:
            verdict = Verdict.from_json(json.loads(storage.read_text(uri)))
        except (ValueError, TypeError) as error:
            logger.warning("%s is not a readable verdict (%s); left out of the history", uri, error)
            continue
        found.setdefault((verdict.run_id, verdict.dataset_fingerprint, verdict.config_hash), verdict)
    return sorted(found.values(), key=lambda verdict: (verdict.decided_at, verdict.run_id))
