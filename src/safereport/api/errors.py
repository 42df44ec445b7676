"""One error shape for every HTTP error: `{"error": {"code", "message", "field"}}`.

The status follows the error's class; the body never carries a traceback, a stored value or
anything the caller did not send. An error that is not ours is reported by its class name only.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from safereport.errors import (
    AuditError,
    BadInput,
    ConfigError,
    LocalPolicyRejected,
    NotAuthenticated,
    NotPermitted,
    PolicyError,
    RateLimited,
    SafereportError,
    StoreError,
)

log = logging.getLogger("safereport.api")


class PayloadTooLarge(BadInput):
    """The request body is larger than SAFEREPORT_MAX_BODY_BYTES; it was not read further."""

    code = "payload_too_large"


class InvalidParameter(BadInput):
    """A query or path parameter does not fit its type (422, as FastAPI's own validation)."""

    code = "bad_input"


class NotFound(SafereportError):
    """No such resource, or none this caller may see: the two are answered alike."""

    code = "not_found"


class MethodNotAllowed(SafereportError):
    code = "method_not_allowed"


class ServiceUnavailable(SafereportError):
    """The service cannot answer safely now (store down, not started); nothing was disclosed."""

    code = "unavailable"


class InternalError(SafereportError):
    code = "internal_error"


class RetryAfter(RateLimited):
    """Rate limited, with the seconds until a request would be allowed again."""

    def __init__(self, message: str, *, retry_after: float, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after


JSON = "application/json"


def status_for(exc: SafereportError) -> int:
    """The HTTP status of one of our errors, by class (most specific first)."""
    table: tuple[tuple[type[SafereportError], int], ...] = (
        (NotAuthenticated, 401),
        (NotPermitted, 403),
        (NotFound, 404),
        (MethodNotAllowed, 405),
        (PayloadTooLarge, 413),
        (LocalPolicyRejected, 422),
        (InvalidParameter, 422),
        (RateLimited, 429),
        (BadInput, 400),
        (ConfigError, 400),
        (StoreError, 503),
        (AuditError, 503),
        (PolicyError, 503),
        (ServiceUnavailable, 503),
    )
    for cls, status in table:
        if isinstance(exc, cls):
            return status
    return 500


def error_body(code: str, message: str, field: str | None) -> bytes:
    return orjson.dumps({"error": {"code": code, "message": message, "field": field}})


def error_response(exc: SafereportError) -> Response:
    status = status_for(exc)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="safereport"'
    if isinstance(exc, RetryAfter):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    if status >= 500:
        # The message of a store or audit error may name paths or driver detail: say only what kind.
        message = {
            503: "the service cannot answer safely now; nothing was disclosed, try again later",
            500: "internal error; nothing was disclosed",
        }[503 if status == 503 else 500]
        log.warning("answered %s: %s (%s)", status, exc.code, exc.__class__.__name__)
        return Response(error_body(exc.code, message, None), status, headers, media_type=JSON)
    return Response(error_body(exc.code, exc.message, exc.field), status, headers, media_type=JSON)


def _field_path(loc: tuple[int | str, ...] | list[int | str]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:] or parts
    return ".".join(parts) or "(request)"


async def _validation(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first: dict[str, Any] = errors[0] if errors else {}
    field = _field_path(tuple(first.get("loc", ())))
    kind = first.get("type", "invalid")
    message = "required parameter is missing" if kind == "missing" else str(first.get("msg", "invalid value"))
    if message.startswith("Input should be "):
        message = "expected " + message[len("Input should be ") :]
    return Response(
        error_body("bad_input", f"{message} (got a value that does not fit)", field), 422, media_type=JSON
    )


async def _http(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return error_response(NotFound("expected a path this service serves (see /openapi.json)"))
    if exc.status_code == 405:
        response = error_response(
            MethodNotAllowed("expected a method this path allows (see /openapi.json)", field="method")
        )
        if exc.headers and "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    code = {400: "bad_input", 401: "not_authenticated", 403: "not_permitted"}.get(
        exc.status_code, "http_error"
    )
    return Response(
        error_body(code, f"the request was refused with status {exc.status_code}", None),
        exc.status_code,
        media_type=JSON,
    )


async def _ours(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, SafereportError)
    return error_response(exc)


def install(app: FastAPI) -> None:
    app.add_exception_handler(SafereportError, _ours)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
