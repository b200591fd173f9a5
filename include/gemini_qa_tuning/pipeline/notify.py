"""The pipeline's notifications through Airflow's notifiers: failure, promotion, retirement warning.

Each channel is a connection id Param (``notify_smtp_conn_id`` with ``notify_email_to``,
``notify_slack_webhook_conn_id``); empty means the message is only logged, which is the default. The
notifiers are the ones the providers ship (``SmtpNotifier``, ``SlackWebhookNotifier``). A notification
that cannot be sent is logged as a warning and never fails the task or the run: the pipeline's result
does not depend on a mail server.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping
from typing import Any

from gemini_qa_tuning.contracts import RunSummary
from gemini_qa_tuning.outcome import Message, failure_message, promotion_message, retirement_message
from gemini_qa_tuning.pipeline.params import PipelineParams

logger = logging.getLogger(__name__)

# The sender when the SMTP connection names none (its extra ``from_email``).
DEFAULT_FROM_EMAIL = "airflow@localhost"


def send(message: Message, params: PipelineParams, context: Mapping[str, Any]) -> list[str]:
    """Log ``message`` and send it on every configured channel; the channels it could not reach."""
    logger.info("Notification: %s\n%s", message.subject, message.body)
    failed = []
    for channel, notifier in _notifiers(message, params):
        try:
            notifier.notify(context)
        except Exception as error:  # a notifier that fails never fails the pipeline
            logger.warning("Could not send the %s notification %r: %s", channel, message.subject, error)
            failed.append(channel)
        else:
            logger.info("Sent the %s notification %r", channel, message.subject)
    return failed


def notify_after_run(summary: RunSummary, params: PipelineParams, dag_id: str, context: Mapping[str, Any]) -> None:
    """The promotion and retirement-warning notifications of a finished run."""
    if summary.promoted_champion is not None:
        send(promotion_message(summary, dag_id), params, context)
    if summary.warnings:
        send(retirement_message(summary.warnings, summary.run_id, dag_id), params, context)


def notify_failure(context: Mapping[str, Any]) -> None:
    """The DAG's ``on_failure_callback``: send the failure notification on the run's channels."""
    try:
        params = PipelineParams.from_params(context.get("params") or {})
    except ValueError:  # the run failed on its Params: notify on the defaults' channels
        params = PipelineParams()
    dag_run = context.get("dag_run")
    run_id = str(getattr(dag_run, "run_id", context.get("run_id", "?")))
    dag_id = str(getattr(dag_run, "dag_id", "?"))
    failed_tasks = [
        str(ti.task_id) for ti in (getattr(dag_run, "get_task_instances", lambda **_: [])(state="failed") or [])
    ]
    reason = context.get("reason")
    send(failure_message(dag_id, run_id, failed_tasks, str(reason) if reason else None), params, context)


def _notifiers(message: Message, params: PipelineParams) -> list[tuple[str, Any]]:
    notifiers: list[tuple[str, Any]] = []
    if params.notify_smtp_conn_id:
        if not params.notify_email_to:
            logger.warning(
                "notify_smtp_conn_id is set but notify_email_to is empty: no mail is sent for %r", message.subject
            )
        else:
            from airflow.providers.smtp.notifications.smtp import SmtpNotifier

            notifiers.append(
                (
                    "email",
                    SmtpNotifier(
                        to=list(params.notify_email_to),
                        from_email=DEFAULT_FROM_EMAIL,
                        subject=message.subject,
                        html_content=f"<pre>{html.escape(message.body)}</pre>",
                        smtp_conn_id=params.notify_smtp_conn_id,
                    ),
                )
            )
    if params.notify_slack_webhook_conn_id:
        from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

        notifiers.append(
            (
                "Slack",
                SlackWebhookNotifier(
                    slack_webhook_conn_id=params.notify_slack_webhook_conn_id,
                    text=f"*{message.subject}*\n{message.body}",
                ),
            )
        )
    return notifiers
