"""A declarative operator extra link, shaped like the Google provider's ``BaseGoogleLink``.

A link is a name, an XCom key and a format string; :meth:`DeclarativeLink.persist` stores the values the
format string needs, and :meth:`DeclarativeLink.get_link` formats them after the console's base URL. We do
not subclass the provider's class: importing it loads the provider's Google hook (google-auth, gcloud-aio,
≈1 s) into every DAG parse, and a DAG file must parse fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context
    from airflow.sdk.types import TaskInstanceKey

__all__ = ["CONSOLE_BASE_URL", "DeclarativeLink"]

#: Where console paths start (the provider's ``BASE_LINK``).
CONSOLE_BASE_URL = "https://console.cloud.google.com"


class DeclarativeLink(BaseOperatorLink):
    """An extra link whose URL is ``CONSOLE_BASE_URL + format_str.format(**values stored by persist())``."""

    name: ClassVar[str]
    key: ClassVar[str]
    format_str: ClassVar[str]

    @property
    def xcom_key(self) -> str:
        return self.key

    @classmethod
    def persist(cls, context: Context, **value: Any) -> None:
        """Store the values the format string needs, for the UI to format later."""
        context["ti"].xcom_push(key=cls.key, value=value)

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        stored = XCom.get_value(key=self.key, ti_key=ti_key)
        if isinstance(stored, str):  # Airflow stores the formatted URL under the key after the task ran
            return stored
        # Values the operator knows up front (e.g. from a job name argument), overridden by persisted ones.
        values = {**getattr(operator, "extra_links_params", {}), **(stored or {})}
        if not values:
            return ""
        try:
            path = self.format_str.format(**values)
        except KeyError:
            return ""
        return path if path.startswith("http") else CONSOLE_BASE_URL + path
