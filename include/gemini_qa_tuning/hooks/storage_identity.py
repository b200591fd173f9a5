"""Cloud Storage as the identity of an Airflow Google Cloud connection: the one Vertex AI calls use.

:class:`~gemini_qa_tuning.hooks.genai.GenAIVertexHook` signs Vertex AI requests with the credentials of
``gcp_conn_id`` and ``impersonation_chain``, resolved by the Google provider's :class:`GoogleBaseHook`
(key file, secret, credential config file, workload identity, impersonation). This module resolves the
same credentials the same way and binds them to :mod:`gemini_qa_tuning.storage` for a task, so artifacts
are read and written as that identity too, never as whatever the worker's environment defaults to.

Offline, the local connection (``devtools/local_env.py``) holds a fixed-token credential and
``STORAGE_EMULATOR_HOST`` points the storage client at fake-gcs-server; the client still sends that
connection's token.

Use it once per task, around everything the task reads or writes::

    with storage_as_connection(gcp_conn_id, impersonation_chain):
        ...

or, where a task already holds a Google hook (e.g. :class:`GenAIVertexHook`), share its very credentials
object: ``with storage.using_identity(storage_identity_of(hook)):``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from airflow.providers.google.common.hooks.base_google import GoogleBaseHook

from gemini_qa_tuning import storage

__all__ = ["connection_storage_identity", "storage_as_connection", "storage_identity_of"]


def connection_storage_identity(
    gcp_conn_id: str = GoogleBaseHook.default_conn_name,
    impersonation_chain: str | Sequence[str] | None = None,
) -> storage.StorageIdentity:
    """The credentials and project of an Airflow Google Cloud connection, impersonating as asked.

    Credentials are resolved exactly as for the connection's Vertex AI calls; a connection with no key
    of its own uses Application Default Credentials because that is what the connection says, as in
    every Google provider hook. Blocking: reads the connection and possibly a key or secret.
    """
    return storage_identity_of(GoogleBaseHook(gcp_conn_id=gcp_conn_id, impersonation_chain=impersonation_chain))


def storage_identity_of(hook: GoogleBaseHook) -> storage.StorageIdentity:
    """The identity of a Google hook (its connection, impersonation chain and project), credentials shared."""
    credentials, project = hook.get_credentials_and_project_id()
    source = f"Airflow connection {hook.gcp_conn_id!r}"
    chain = hook.impersonation_chain  # the argument, else the connection's own impersonation_chain extra
    if chain:
        source += f" impersonating {chain if isinstance(chain, str) else ' -> '.join(chain)}"
    return storage.StorageIdentity(credentials=credentials, project=project or None, source=source)


@contextlib.contextmanager
def storage_as_connection(
    gcp_conn_id: str = GoogleBaseHook.default_conn_name,
    impersonation_chain: str | Sequence[str] | None = None,
) -> Iterator[storage.StorageIdentity]:
    """Inside the block, every :mod:`gemini_qa_tuning.storage` call acts as the connection's identity."""
    with storage.using_identity(connection_storage_identity(gcp_conn_id, impersonation_chain)) as identity:
        yield identity
