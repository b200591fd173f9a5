"""What a failed Vertex AI call means for a retry: is it transient, and how long the server asks to wait.

One place for the rules that the evaluation runner, the launch operator, the sensor and the trigger
share. Plain Python: no Airflow import.
"""

from __future__ import annotations

import email.utils
import random
import time
from typing import Any

# 408 request timeout and 429 quota; with every 5xx (see is_transient_status), the same request may
# succeed later.
TRANSIENT_HTTP_CODES = frozenset({408, 429})


def is_transient_status(code: int | None) -> bool:
    """Whether an HTTP status says "try again later": 408, 429 or any 5xx."""
    return code is not None and (code in TRANSIENT_HTTP_CODES or code >= 500)


def status_code(error: BaseException) -> int | None:
    """The HTTP status of a google-genai ``APIError`` (or anything with an int ``code``)."""
    code = getattr(error, "code", None)
    return code if isinstance(code, int) else None


def transient_exception_types() -> tuple[type[BaseException], ...]:
    """Transport-level errors (timeouts, resets, refused connections) of the HTTP stacks google-genai uses."""
    from google.auth.exceptions import TransportError

    found: list[type[BaseException]] = [TimeoutError, ConnectionError, TransportError]
    try:
        import aiohttp

        found.append(aiohttp.ClientError)
    except ImportError:  # pragma: no cover - google-genai's async path uses aiohttp when installed
        pass
    try:
        import httpx

        found.append(httpx.TransportError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(found)


def is_transient_api_error(error: BaseException) -> bool:
    """Whether retrying the same request later may succeed: 408/429/5xx, timeouts and network errors."""
    from google.genai import errors

    if isinstance(error, errors.APIError):
        return is_transient_status(error.code)
    return isinstance(error, transient_exception_types())


def retry_after_seconds(error: BaseException) -> float | None:
    """The server's requested wait: the Retry-After header, else a google.rpc.RetryInfo detail."""
    headers = getattr(getattr(error, "response", None), "headers", None)
    header = None
    if headers is not None and hasattr(headers, "get"):
        # aiohttp's and httpx's headers ignore case; a plain dict (tests, other transports) does not
        header = headers.get("Retry-After") or headers.get("retry-after")
    seconds = _parse_retry_after_header(str(header)) if header else None
    return seconds if seconds is not None else _retry_info_delay(getattr(error, "details", None))


def _parse_retry_after_header(value: str) -> float | None:
    """Retry-After is either delay-seconds or an HTTP date (RFC 9110); None when it is neither."""
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        retry_at = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(retry_at.timestamp() - time.time(), 0.0)


def _retry_info_delay(details: Any) -> float | None:
    """``retryDelay`` ("12s") of a RetryInfo entry in a Google error body, if there is one."""
    error_body = details.get("error", details) if isinstance(details, dict) else None
    entries = error_body.get("details") if isinstance(error_body, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        delay = entry.get("retryDelay") if isinstance(entry, dict) else None
        if isinstance(delay, str) and delay.endswith("s"):
            try:
                return max(float(delay[:-1]), 0.0)
            except ValueError:
                continue
    return None


def backoff_delay(attempt: int, base_seconds: float, cap_seconds: float, rng: random.Random) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1, 2, ...): exponential with jitter.

    The ceiling doubles per attempt (``base · 2^(attempt-1)``, at most ``cap_seconds``); the wait is
    drawn uniformly from its upper half, so workers that failed together do not retry together.
    """
    ceiling = min(cap_seconds, base_seconds * 2 ** (attempt - 1))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)
