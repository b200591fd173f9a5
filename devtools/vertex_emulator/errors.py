"""Errors in Google's JSON error format: ``{"error": {"code": 404, "message": "...", "status": "NOT_FOUND"}}``.

Also the ``google.rpc.Code`` numbers that a failed or cancelled tuning job carries in ``error.code``.
"""

from __future__ import annotations

from typing import Any

# google.rpc.Code values (a TuningJob's ``error.code``; not HTTP status codes).
RPC_CANCELLED = 1
RPC_INVALID_ARGUMENT = 3
RPC_NOT_FOUND = 5
RPC_INTERNAL = 13
RPC_UNAVAILABLE = 14

# The google.rpc status name Google APIs send with each HTTP error code.
_STATUS_BY_HTTP_CODE = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


class ApiError(Exception):
    """An error answered to the client with an HTTP code, a google.rpc status name and a message."""

    def __init__(
        self,
        http_code: int,
        status: str,
        message: str,
        headers: dict[str, str] | None = None,
        details: list[dict[str, Any]] | None = None,
    ):
        super().__init__(message)
        self.http_code = http_code
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.details = details or []

    @classmethod
    def from_http_code(cls, http_code: int, message: str) -> ApiError:
        """An error whose status name is the one Google pairs with ``http_code``."""
        return cls(http_code, _STATUS_BY_HTTP_CODE.get(http_code, "UNKNOWN"), message)

    def to_json(self) -> dict[str, Any]:
        """The response body, as Google APIs send it."""
        body: dict[str, Any] = {"code": self.http_code, "message": self.message, "status": self.status}
        if self.details:
            body["details"] = self.details
        return {"error": body}


def invalid_argument(message: str) -> ApiError:
    """400 ``INVALID_ARGUMENT``: the request itself is wrong."""
    return ApiError(400, "INVALID_ARGUMENT", message)


def failed_precondition(message: str) -> ApiError:
    """400 ``FAILED_PRECONDITION``: the request is valid but the resource is in the wrong state."""
    return ApiError(400, "FAILED_PRECONDITION", message)


def not_found(message: str) -> ApiError:
    """404 ``NOT_FOUND``: no such resource or method."""
    return ApiError(404, "NOT_FOUND", message)


BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"


def bad_request(violations: list[tuple[str, str]]) -> ApiError:
    """400 ``INVALID_ARGUMENT`` with ``google.rpc.BadRequest`` field violations, one per (field, description).

    The shape and the message follow what Vertex AI answers to a bad tuning request: snake_case proto
    field paths under ``tuning_job.`` and "List of found errors:\t1.Field: ...; Message: ...\t"
    (GoogleCloudPlatform/generative-ai issue #2081, 2025-05-24).
    """
    listed = "".join(
        f"{number}.Field: {field}; Message: {description}\t"
        for number, (field, description) in enumerate(violations, start=1)
    )
    return ApiError(
        400,
        "INVALID_ARGUMENT",
        f"List of found errors:\t{listed}",
        details=[
            {
                "@type": BAD_REQUEST_TYPE,
                "fieldViolations": [{"field": field, "description": description} for field, description in violations],
            }
        ],
    )
