"""Object I/O addressed by URI: ``gs://bucket/name`` or a local path (``file://`` or plain).

Every artifact of the pipeline is named by a URI, so the same code writes to Cloud Storage in production
and to the fake-gcs-server emulator (``STORAGE_EMULATOR_HOST``) or a local folder on a laptop.

Writes are whole-object: a GCS upload becomes visible only when complete, and a local write goes to a
temporary file that is renamed into place, so a reader never sees half an object.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

if TYPE_CHECKING:
    from google.cloud.storage import Client

_client_lock = threading.Lock()
_clients: dict[int, Client] = {}


class ObjectChangedError(RuntimeError):
    """A conditional write found the object changed since it was read (or present when it must not be)."""


def is_gcs(uri: str) -> bool:
    return uri.startswith("gs://")


def split_gcs_uri(uri: str) -> tuple[str, str]:
    """``gs://bucket/a/b`` -> ``("bucket", "a/b")``."""
    parsed = urlparse(uri)
    if parsed.scheme != "gs" or not parsed.netloc:
        raise ValueError(f"Not a gs:// URI: {uri!r}. Expected gs://<bucket>/<object>.")
    return parsed.netloc, parsed.path.lstrip("/")


def local_path(uri: str) -> Path:
    return Path(uri[len("file://") :]) if uri.startswith("file://") else Path(uri)


def join_uri(base: str, *parts: str) -> str:
    """Join path segments onto a URI with single slashes."""
    joined = base.rstrip("/")
    for part in parts:
        joined = f"{joined}/{part.strip('/')}"
    return joined


def _gcs_client() -> Client:
    # One client per process: clients hold connection pools and are safe to share across threads.
    from google.cloud import storage

    pid = os.getpid()
    with _client_lock:
        if pid not in _clients:
            _clients[pid] = storage.Client()
        return _clients[pid]


def _blob(uri: str) -> Any:
    bucket_name, name = split_gcs_uri(uri)
    return _gcs_client().bucket(bucket_name).blob(name)


def read_bytes(uri: str) -> bytes:
    if is_gcs(uri):
        from google.api_core.exceptions import NotFound

        try:
            return bytes(_blob(uri).download_as_bytes())
        except NotFound as error:
            raise FileNotFoundError(f"No object at {uri}") from error
    return local_path(uri).read_bytes()


def read_text(uri: str) -> str:
    return read_bytes(uri).decode("utf-8")


def read_with_generation(uri: str) -> tuple[bytes, int]:
    """Read an object and the generation to pass back to a conditional write (0 when absent)."""
    if is_gcs(uri):
        from google.api_core.exceptions import NotFound

        bucket_name, name = split_gcs_uri(uri)
        blob = _gcs_client().bucket(bucket_name).get_blob(name)
        if blob is None:
            return b"", 0
        try:
            return bytes(blob.download_as_bytes(if_generation_match=blob.generation)), int(blob.generation)
        except NotFound:
            return b"", 0
    path = local_path(uri)
    if not path.exists():
        return b"", 0
    return path.read_bytes(), path.stat().st_mtime_ns


def write_bytes(
    uri: str,
    data: bytes,
    content_type: str = "application/octet-stream",
    if_generation_match: int | None = None,
) -> None:
    """Write a whole object. ``if_generation_match`` makes the write conditional (0 = must not exist).

    Raises ObjectChangedError when the condition does not hold.
    """
    if is_gcs(uri):
        from google.api_core.exceptions import PreconditionFailed

        try:
            _blob(uri).upload_from_string(data, content_type=content_type, if_generation_match=if_generation_match)
        except PreconditionFailed as error:
            raise ObjectChangedError(
                f"{uri} changed since it was read (expected generation {if_generation_match})"
            ) from error
        return
    path = local_path(uri)
    path.parent.mkdir(parents=True, exist_ok=True)
    if if_generation_match is not None:
        current = path.stat().st_mtime_ns if path.exists() else 0
        if current != if_generation_match:
            raise ObjectChangedError(f"{uri} changed since it was read (expected {if_generation_match})")
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_text(uri: str, text: str, content_type: str = "text/plain; charset=utf-8") -> None:
    write_bytes(uri, text.encode("utf-8"), content_type=content_type)


def write_if_changed(uri: str, data: bytes, content_type: str = "application/octet-stream") -> bool:
    """Write unless the object already holds exactly these bytes. Returns True when it wrote."""
    if is_gcs(uri):
        bucket_name, name = split_gcs_uri(uri)
        existing = _gcs_client().bucket(bucket_name).get_blob(name)
        if existing is not None and existing.md5_hash:
            digest = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
            if existing.md5_hash == digest and existing.size == len(data):
                return False
    else:
        path = local_path(uri)
        if path.exists() and path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    write_bytes(uri, data, content_type=content_type)
    return True


def exists(uri: str) -> bool:
    if is_gcs(uri):
        return bool(_blob(uri).exists())
    return local_path(uri).exists()


def delete(uri: str) -> None:
    """Delete an object; a missing one is fine."""
    if is_gcs(uri):
        from google.api_core.exceptions import NotFound

        with contextlib.suppress(NotFound):
            _blob(uri).delete()
        return
    local_path(uri).unlink(missing_ok=True)


def list_uris(prefix_uri: str) -> list[str]:
    """Every object URI under a prefix (recursively), sorted."""
    if is_gcs(prefix_uri):
        bucket_name, prefix = split_gcs_uri(prefix_uri)
        blobs = _gcs_client().list_blobs(bucket_name, prefix=prefix)
        return sorted(f"gs://{bucket_name}/{blob.name}" for blob in blobs)
    root = local_path(prefix_uri)
    if root.is_file():
        return [str(root)]
    if not root.exists():
        return []
    return sorted(str(path) for path in root.rglob("*") if path.is_file() and not path.name.startswith("."))


def iter_lines(uri: str) -> Iterator[str]:
    """The lines of a text object, without line endings, streamed rather than read whole."""
    if is_gcs(uri):
        from google.api_core.exceptions import NotFound

        try:
            with _blob(uri).open("rt", encoding="utf-8") as handle:
                for line in handle:
                    yield line.rstrip("\r\n")
        except NotFound as error:
            raise FileNotFoundError(f"No object at {uri}") from error
        return
    with local_path(uri).open(encoding="utf-8") as handle:
        for line in handle:
            yield line.rstrip("\r\n")
