"""Notifications through the providers' notifiers: a real local SMTP server receives the promotion mail."""

from __future__ import annotations

import email
import email.policy
import json
import logging
import socket
from collections.abc import Iterator
from dataclasses import replace
from email.message import Message as MailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message as MessageHandler

from gemini_qa_tuning.champion import ChampionRecord
from gemini_qa_tuning.contracts import ModelComparison, RunSummary
from gemini_qa_tuning.evaluation.report import ComparisonHeadline, MetricsHeadline, RoleScores
from gemini_qa_tuning.outcome import describe_outcome
from gemini_qa_tuning.pipeline import notify
from gemini_qa_tuning.pipeline.params import PipelineParams
from gemini_qa_tuning.promotion import PromotionDecision
from gemini_qa_tuning.tuning.planning import TuningPlan

CONN_ID = "notify_test_smtp"


class Inbox(MessageHandler):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[MailMessage] = []

    def handle_message(self, message: MailMessage) -> None:
        self.messages.append(message)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def inbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    connection = {
        "conn_type": "smtp",
        "host": "127.0.0.1",
        "port": port,
        "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "pipeline@example.test"},
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(connection))
    try:
        yield handler
    finally:
        controller.stop()


def promoted_summary() -> RunSummary:
    headline = MetricsHeadline(
        questions=200,
        models={"base": RoleScores(61.5, 70.25), "tuned": RoleScores(78.0, 85.125)},
        comparisons={"tuned_vs_base": ComparisonHeadline(16.5, 12.0, 21.0, 14.875, 11.0, 18.75)},
    )
    return RunSummary(
        run_id="manual__2026-12-01",
        dataset=None,
        tuning_plan=TuningPlan(launch=True, reason="new data"),
        tuning_job=None,
        tuned_model=None,
        evaluation=ModelComparison(metrics_uri="gs://b/p/runs/r/metrics.json", headline=headline),
        promotion=PromotionDecision(True, ("F1 +14.88 over the base",)),
        promoted_champion=None,
        summary_uri="gs://b/p/runs/r/summary.json",
    )


def with_champion(summary: RunSummary) -> RunSummary:
    record = ChampionRecord(model="projects/1/locations/us-central1/endpoints/42", run_id=summary.run_id)
    return replace(summary, promoted_champion=record)


def mail_params() -> PipelineParams:
    return PipelineParams(notify_smtp_conn_id=CONN_ID, notify_email_to=("lead@example.test",))


def body_of(message: MailMessage) -> str:
    parts = [part for part in message.walk() if part.get_content_type() == "text/html"]
    payload = parts[0].get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def test_the_promotion_mail_reaches_a_real_smtp_server_with_the_scores(inbox: Inbox) -> None:
    summary = with_champion(promoted_summary())
    notify.notify_after_run(summary, mail_params(), "gemini_squad_tuning", context={})
    assert len(inbox.messages) == 1
    mail = email.message_from_bytes(inbox.messages[0].as_bytes())
    assert mail["To"] == "lead@example.test"
    assert "promoted projects/1/locations/us-central1/endpoints/42" in " ".join(str(mail["Subject"]).split())
    body = body_of(mail)
    assert "promoted: F1 +14.9 over the base (95 % CI +11.0 .. +18.8)" in body
    assert "tuned     EM  78.00   F1  85.12" in body and "base      EM  61.50   F1  70.25" in body
    assert "gs://b/p/runs/r/metrics.json" in body


def test_no_channel_only_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    failed = notify.send(notify.promotion_message(promoted_summary(), "d"), PipelineParams(), context={})
    assert failed == []
    assert "Notification: [d] promoted" in caplog.text


def test_an_unreachable_mail_server_never_fails_the_pipeline(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    connection = {"conn_type": "smtp", "host": "127.0.0.1", "port": free_port(), "extra": {"disable_ssl": True}}
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(connection))
    monkeypatch.setenv("AIRFLOW__SMTP_PROVIDER__SMTP_RETRY_LIMIT", "0")
    failed = notify.send(notify.promotion_message(promoted_summary(), "d"), mail_params(), context={})
    assert failed == ["email"]
    assert "Could not send the email notification" in caplog.text


def test_outcome_lines() -> None:
    summary = promoted_summary()
    assert describe_outcome(summary).startswith("promoted: F1 +14.9 over the base")
    kept = replace(summary, promotion=PromotionDecision(False, ("F1 +0.40 over the champion: below the gain",)))
    assert describe_outcome(kept) == "kept champion: F1 +0.40 over the champion: below the gain"
    skipped = replace(summary, tuning_plan=TuningPlan(launch=False, reason="data and config unchanged"))
    assert describe_outcome(skipped) == "skipped: data and config unchanged"


def test_the_failure_callback_mails_the_run_and_its_failed_tasks(inbox: Inbox) -> None:
    class FailedRun:
        dag_id, run_id = "gemini_squad_tuning", "scheduled__2026-12-01"

        def get_task_instances(self, state: str) -> list[object]:
            assert state == "failed"
            return [type("TaskInstance", (), {"task_id": "refresh_dataset"})()]

    params = {"notify_smtp_conn_id": CONN_ID, "notify_email_to": ["lead@example.test"]}
    notify.notify_failure({"params": params, "dag_run": FailedRun(), "reason": "task_failure"})
    (mail,) = inbox.messages
    assert "run scheduled__2026-12-01 failed" in " ".join(str(mail["Subject"]).split())
    assert "Failed tasks: refresh_dataset" in body_of(mail)


def test_a_failure_callback_on_bad_params_still_only_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    notify.notify_failure({"params": {"epoch_count": 3}, "run_id": "r"})
    assert "Notification: [?] run r failed" in caplog.text
