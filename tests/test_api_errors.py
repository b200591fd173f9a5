"""Which failed calls are worth retrying, and how long the server asks to wait."""

from __future__ import annotations

from gemini_qa_tuning.api_errors import is_transient_api_error, retry_after_seconds


def test_transient_error_classification() -> None:
    from google.genai import errors

    assert is_transient_api_error(errors.ClientError(429, {"error": {"message": "quota"}}))
    assert is_transient_api_error(errors.ServerError(503, {"error": {"message": "down"}}))
    assert not is_transient_api_error(errors.ClientError(404, {"error": {"message": "missing"}}))
    assert not is_transient_api_error(errors.ClientError(400, {"error": {"message": "bad"}}))
    assert is_transient_api_error(ConnectionResetError())
    assert is_transient_api_error(TimeoutError())
    assert not is_transient_api_error(ValueError("bug"))


def test_retry_after_is_read_from_the_response() -> None:
    class Response:
        def __init__(self) -> None:
            self.headers = {"Retry-After": "7"}

    class Failure(Exception):
        response = Response()

    assert retry_after_seconds(Failure()) == 7.0
    assert retry_after_seconds(ValueError()) is None
