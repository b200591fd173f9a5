"""Errors in Google's JSON error format: ``{"error": {"code": 404, "message": "...", "status": "NOT_FOUND"}}``."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answered to the client with an HTTP code, a google.rpc status name and a message."""

    def __init__(self, http_code: int, status: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.http_code = http_code
        self.status = status
        self.message = message
        self.headers = headers or {}

    def to_json(self) -> dict[str, Any]:
        """The response body, as Google APIs send it."""
        return {"error": {"code": self.http_code, "message": self.message, "status": self.status}}


def invalid_argument(message: str) -> ApiError:
    return ApiError(400, "INVALID_ARGUMENT", message)


def failed_precondition(message: str) -> ApiError:
    return ApiError(400, "FAILED_PRECONDITION", message)


def not_found(message: str) -> ApiError:
    return ApiError(404, "NOT_FOUND", message)
