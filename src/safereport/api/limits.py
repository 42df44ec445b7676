"""Limits: the request body's size (enforced as it streams in) and per-key token buckets.

`Guard` is the outermost ASGI layer of our own: it refuses a body larger than the limit whether
or not `Content-Length` says so, turns any exception that escapes the app into the one error
shape (no traceback, no data), and counts every request for the metrics.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from safereport.api import metrics
from safereport.api.errors import JSON, InternalError, PayloadTooLarge, error_body, log, status_for

# Set in the scope by a layer that answers a route itself (the metrics' endpoint label).
ENDPOINT_KEY = "safereport.endpoint"


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"expected a request body of at most {limit} bytes, got more", field="(body)")


class Guard:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.limit = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        status = 500
        begun = time.perf_counter()
        limit = self.limit

        async def sending(message: Message) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                started = True
                status = int(message["status"])
            await send(message)

        async def answer(exc: Exception) -> None:
            nonlocal started, status
            if started:
                return
            error = exc if isinstance(exc, PayloadTooLarge) else InternalError("internal error")
            status = status_for(error)
            message = (
                error.message if isinstance(exc, PayloadTooLarge) else "internal error; nothing was disclosed"
            )
            body = error_body(error.code, message, error.field)
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-type", JSON.encode()),
                        (b"content-length", str(len(body)).encode()),
                        (b"connection", b"close"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            started = True

        declared = _content_length(scope)
        try:
            if declared is not None and declared > limit:
                await answer(too_large(limit))
                return
            received = 0

            async def receiving() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > limit:
                        raise too_large(limit)
                return message

            await self.app(scope, receiving, sending)
        except PayloadTooLarge as exc:
            await answer(exc)
        except Exception as exc:  # fail closed: one shape, class name in the log, nothing else
            log.error(
                "unexpected %s while answering a request; nothing was disclosed", exc.__class__.__name__
            )
            await answer(exc)
        finally:
            endpoint = scope.get(ENDPOINT_KEY) or getattr(scope.get("route"), "path", None) or "unmatched"
            metrics.observe_http(endpoint, scope.get("method", ""), status, time.perf_counter() - begun)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """Token buckets by key (an API key id, a client address): `rate` a second, up to `burst`.

    In-process: each worker keeps its own buckets. At most `capacity` buckets are kept; the
    least recently used is dropped first (it would be full again by then, or nearly).
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        capacity: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.capacity = capacity
        self.clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0.0 if allowed (and a token is spent), else the seconds until it would be."""
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = _Bucket(self.burst, now)
                self._buckets[key] = bucket
                if len(self._buckets) > self.capacity:
                    self._buckets.popitem(last=False)
            else:
                self._buckets.move_to_end(key)
                bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
                bucket.at = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate


def client_address(scope: dict[str, Any] | Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"
