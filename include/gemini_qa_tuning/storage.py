"""Object I/O addressed by URI: ``gs://bucket/name`` or a local path (``file://`` or plain).

Every artifact of the pipeline is named by a URI, so the same code writes to Cloud Storage in production
and to the fake-gcs-server emulator (``STORAGE_EMULATOR_HOST``) or a local folder on a laptop.

**Whose identity.** Cloud Storage calls act as the :class:`StorageIdentity` bound with
:func:`using_identity`: inside an Airflow task that is the task's Google Cloud connection and impersonation
chain, the same credentials its Vertex AI calls use (``hooks/storage_identity.py`` builds it; this module
imports no Airflow). With nothing bound, as for a library user outside Airflow, the client is built the
way ``google.cloud.storage.Client()`` builds it: Application Default Credentials and their project (or
anonymous credentials when ``STORAGE_EMULATOR_HOST`` is set).

**Whole objects.** A GCS upload becomes visible only when complete, and a local write goes to a temporary
file that is renamed into place, so a reader never sees half an object.

**Conditional writes** (``if_generation_match``) are a compare-and-swap on both backends. GCS checks the
object's generation itself. A local object's generation is a digest of its bytes, and every local write,
conditional or not, swaps its file in while holding an exclusive ``flock`` on the object's folder, after
comparing under that lock: of several processes racing on one machine exactly one wins. (A folder shared
between machines, e.g. over NFS or gcsfuse, gets no such guarantee: use ``gs://`` there.)
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast
from urllib.parse import urlparse

if TYPE_CHECKING:
    from google.auth.credentials import Credentials
    from google.cloud.storage import Client

__all__ = [
    "BucketNotFoundError",
    "ObjectChangedError",
    "StorageIdentity",
    "bound_identity",
    "delete",
    "exists",
    "is_gcs",
    "iter_lines",
    "join_uri",
    "list_uris",
    "local_path",
    "open_binary",
    "put_file_if_changed",
    "read_bytes",
    "read_text",
    "read_with_generation",
    "split_gcs_uri",
    "using_identity",
    "write_bytes",
    "write_if_changed",
    "write_text",
]

logger = logging.getLogger(__name__)

# A GCS read of an object and its generation retries this often when the object changes in between.
_GENERATION_READ_ATTEMPTS = 5


class ObjectChangedError(RuntimeError):
    """A conditional write found the object changed since it was read (or present when it must not be)."""


class BucketNotFoundError(FileNotFoundError):
    """A write went to a bucket that does not exist (or that the identity cannot see): no retry creates it."""


def _missing_bucket(uri: str, bucket_name: str) -> BucketNotFoundError:
    return BucketNotFoundError(
        f"Cannot write {uri}: the bucket gs://{bucket_name} does not exist, or the identity writing "
        "cannot see it. Create the bucket, or point the URI at an existing one."
    )


# --------------------------------------------------------------------------- identity
@dataclass(frozen=True)
class StorageIdentity:
    """Who Cloud Storage calls act as.

    :param credentials: google-auth credentials every request is signed with.
    :param project: the project the client is attributed to; ``None`` for none (bucket and object calls
        need no project, and ``None`` keeps the client from looking one up in the environment).
    :param source: where the credentials came from, for logs (e.g. ``Airflow connection 'x'``).
    """

    credentials: Credentials = field(repr=False)  # never in a log line or a traceback's locals
    project: str | None = None
    source: str = "explicit credentials"


class _ClientSlot:
    """The Cloud Storage client of one identity (``None``: the environment's defaults), one per process.

    A client holds a connection pool: it is shared across threads but rebuilt after a fork.
    """

    def __init__(self, identity: StorageIdentity | None) -> None:
        self.identity = identity
        self._lock = threading.Lock()
        self._clients: dict[int, Client] = {}

    def client(self) -> Client:
        from google.cloud import storage

        pid = os.getpid()
        with self._lock:
            if pid not in self._clients:
                if self.identity is None:
                    logger.info("Cloud Storage client with the environment's default credentials (none bound)")
                    self._clients[pid] = storage.Client()
                else:
                    logger.info(
                        "Cloud Storage client as %s (project %s)",
                        self.identity.source,
                        self.identity.project or "none",
                    )
                    self._clients[pid] = storage.Client(
                        project=self.identity.project, credentials=self.identity.credentials
                    )
            return self._clients[pid]

    def close(self) -> None:
        with self._lock:
            client = self._clients.pop(os.getpid(), None)
        if client is not None:
            client.close()


_slot_lock = threading.Lock()
_default_slot = _ClientSlot(None)
_active_slot = _default_slot


@contextlib.contextmanager
def using_identity(identity: StorageIdentity) -> Iterator[StorageIdentity]:
    """Make every Cloud Storage call of this process act as ``identity`` until the block ends.

    The binding is process-wide, not per thread, so that work handed to a thread pool can never drop
    back to the environment's credentials unseen. Airflow runs each task in its own process: bind once
    per task (``hooks/storage_identity.py``). Blocks may nest; the previous binding returns on exit.
    """
    global _active_slot
    slot = _ClientSlot(identity)
    with _slot_lock:
        previous, _active_slot = _active_slot, slot
    try:
        yield identity
    finally:
        with _slot_lock:
            _active_slot = previous
        slot.close()


def bound_identity() -> StorageIdentity | None:
    """The identity Cloud Storage calls act as now; ``None`` when the environment's defaults apply."""
    return _active_slot.identity


def _gcs_client() -> Client:
    return _active_slot.client()


# --------------------------------------------------------------------------- URIs
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


def _blob(uri: str) -> Any:
    bucket_name, name = split_gcs_uri(uri)
    return _gcs_client().bucket(bucket_name).blob(name)


# --------------------------------------------------------------------------- local compare-and-swap
def _local_generation(data: bytes) -> int:
    """A local object's generation: a 63-bit digest of its bytes, never 0 (0 means "no object").

    A digest, unlike a modification time, changes with every different content however fast writes
    follow each other, and is a pure function of what a reader sees. Writing back bytes identical to
    the ones read keeps the generation; such a write changes nothing a reader could notice.
    """
    return (int.from_bytes(hashlib.sha256(data).digest()[:8], "big") >> 1) or 1


def _current_local_generation(path: Path) -> int:
    try:
        return _local_generation(path.read_bytes())
    except FileNotFoundError:
        return 0


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on a folder: local writes into it compare and swap one at a time.

    Locking the folder itself leaves no lock files beside the objects. Each call opens its own
    descriptor, so threads of one process exclude each other too; closing it releases the lock, also
    when the process dies.
    """
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _write_local(uri: str, data: bytes, if_generation_match: int | None) -> None:
    path = local_path(uri)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The bytes go to a temporary file before the lock is taken: the lock covers only compare + rename.
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        with _folder_lock(path.parent):
            if if_generation_match is not None:
                current = _current_local_generation(path)
                if current != if_generation_match and current != _local_generation(data):
                    raise ObjectChangedError(_changed_message(uri, if_generation_match, current))
            os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _changed_message(uri: str, expected: int, found: int | None) -> str:
    wanted = "no object" if expected == 0 else f"generation {expected}"
    seen = "" if found is None else (", found no object" if found == 0 else f", found generation {found}")
    return f"{uri} changed since it was read (expected {wanted}{seen}): another writer got there first"


# --------------------------------------------------------------------------- reads
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
    if not is_gcs(uri):
        try:
            data = local_path(uri).read_bytes()
        except FileNotFoundError:
            return b"", 0
        return data, _local_generation(data)
    from google.api_core.exceptions import NotFound, PreconditionFailed

    bucket_name, name = split_gcs_uri(uri)
    bucket = _gcs_client().bucket(bucket_name)
    for _ in range(_GENERATION_READ_ATTEMPTS):
        blob = bucket.get_blob(name)
        if blob is None:
            return b"", 0
        try:
            return bytes(blob.download_as_bytes(if_generation_match=blob.generation)), int(blob.generation)
        except NotFound:
            return b"", 0
        except PreconditionFailed:
            continue  # replaced between the metadata read and the download: read the new one
    raise ObjectChangedError(
        f"{uri} changed {_GENERATION_READ_ATTEMPTS} times while it was being read; something rewrites it "
        "continuously. Find that writer, or try again later."
    )


# --------------------------------------------------------------------------- writes
def write_bytes(
    uri: str,
    data: bytes,
    content_type: str = "application/octet-stream",
    if_generation_match: int | None = None,
) -> None:
    """Write a whole object. ``if_generation_match`` makes the write conditional (0 = must not exist).

    Raises ObjectChangedError when the condition does not hold, unless the object already holds exactly
    ``data``: then the write was done, e.g. by an attempt whose response was lost and that the client
    retried (GCS), and there is nothing left to do.
    """
    if not is_gcs(uri):
        _write_local(uri, data, if_generation_match)
        return
    from google.api_core.exceptions import NotFound, PreconditionFailed

    blob = _blob(uri)
    try:
        blob.upload_from_string(data, content_type=content_type, if_generation_match=if_generation_match)
    except NotFound as error:  # an upload answers 404 only for a missing bucket
        raise _missing_bucket(uri, blob.bucket.name) from error
    except PreconditionFailed as error:
        current = blob.bucket.get_blob(blob.name)
        if current is not None and _same_bytes(current, data):
            return
        found = 0 if current is None else int(current.generation)
        raise ObjectChangedError(_changed_message(uri, int(if_generation_match or 0), found)) from error


def _same_bytes(blob: Any, data: bytes) -> bool:
    """Whether a GCS object (metadata already read) holds exactly ``data``, by size and MD5."""
    if blob.size != len(data) or not blob.md5_hash:
        return False
    return bool(blob.md5_hash == base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode())


def write_text(uri: str, text: str, content_type: str = "text/plain; charset=utf-8") -> None:
    write_bytes(uri, text.encode("utf-8"), content_type=content_type)


def write_if_changed(uri: str, data: bytes, content_type: str = "application/octet-stream") -> bool:
    """Write unless the object already holds exactly these bytes. Returns True when it wrote."""
    if is_gcs(uri):
        bucket_name, name = split_gcs_uri(uri)
        existing = _gcs_client().bucket(bucket_name).get_blob(name)
        if existing is not None and _same_bytes(existing, data):
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
    path = local_path(uri)
    if not path.parent.is_dir():
        return
    with _folder_lock(path.parent):  # never between another writer's compare and its rename
        path.unlink(missing_ok=True)


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


# --------------------------------------------------------------------------- streamed files (large datasets)
_STREAM_CHUNK_BYTES = 8 << 20


def open_binary(uri: str) -> BinaryIO:
    """A binary reader of an object, streamed rather than read whole (FileNotFoundError when absent)."""
    if not is_gcs(uri):
        return local_path(uri).open("rb")
    from google.api_core.exceptions import NotFound

    blob = _blob(uri)
    try:
        blob.reload()  # fail here, not at the first read, when there is no such object
    except NotFound as error:
        raise FileNotFoundError(f"No object at {uri}") from error
    return cast(BinaryIO, blob.open("rb", chunk_size=_STREAM_CHUNK_BYTES))


def _file_digest(path: Path, algorithm: str) -> bytes:
    digest = hashlib.new(algorithm, usedforsecurity=False)
    with path.open("rb") as handle:
        while chunk := handle.read(_STREAM_CHUNK_BYTES):
            digest.update(chunk)
    return digest.digest()


def _same_file_bytes(first: Path, second: Path) -> bool:
    with first.open("rb") as one, second.open("rb") as other:
        while True:
            left, right = one.read(_STREAM_CHUNK_BYTES), other.read(_STREAM_CHUNK_BYTES)
            if left != right:
                return False
            if not left:
                return True


def put_file_if_changed(uri: str, path: Path, content_type: str = "application/octet-stream") -> bool:
    """:func:`write_if_changed` for content already in a local file (too big to hold in memory).

    The file is consumed: moved into place (locally) or uploaded and then deleted. Returns True when it
    wrote. Locally the move is a rename under the folder lock when ``path`` is on the same file system.
    """
    try:
        if is_gcs(uri):
            bucket_name, name = split_gcs_uri(uri)
            existing = _gcs_client().bucket(bucket_name).get_blob(name)
            size = path.stat().st_size
            if existing is not None and existing.size == size and existing.md5_hash:
                md5 = base64.b64encode(_file_digest(path, "md5")).decode()
                if existing.md5_hash == md5:
                    return False
            from google.api_core.exceptions import NotFound

            try:
                _blob(uri).upload_from_filename(str(path), content_type=content_type)
            except NotFound as error:  # an upload answers 404 only for a missing bucket
                raise _missing_bucket(uri, bucket_name) from error
            return True
        target = local_path(uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() and target.stat().st_size == path.stat().st_size and _same_file_bytes(target, path):
            return False
        if path.stat().st_dev != target.parent.stat().st_dev:
            # A rename cannot cross file systems: copy next to the target first, then rename.
            descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            os.close(descriptor)
            shutil.copyfile(path, temporary)
            path.unlink()
            path = Path(temporary)
        with _folder_lock(target.parent):
            os.replace(path, target)
        return True
    finally:
        path.unlink(missing_ok=True)
