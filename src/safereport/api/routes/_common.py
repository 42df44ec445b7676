"""Reading bodies and writing JSON, shared by the routes."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from starlette.responses import Response

from safereport.api.errors import JSON
from safereport.errors import BadInput


async def read_json(request: Request, *, what: str) -> Any:
    """The body as one JSON document (its size was limited as it streamed in)."""
    return parse_json(await request.body(), what=what)


def parse_json(body: bytes, *, what: str) -> Any:
    if not body.strip():
        raise BadInput("expected a JSON document in the request body, got an empty body", field=what)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadInput("expected one JSON document, got invalid JSON", field=what) from None


def json_response(document: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(document), status, media_type=JSON)


def text_response(text: str, *, cache: str = "no-store") -> Response:
    return Response(text, 200, {"Cache-Control": cache}, media_type="text/plain; charset=utf-8")
