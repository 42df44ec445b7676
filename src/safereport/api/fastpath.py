"""`POST /v1/decisions`, the service's hot path, answered ahead of FastAPI's router.

FastAPI's routing and dependency resolution cost more CPU per request than the rest of the
request together; on two cores that decides the throughput. This layer does exactly what the
documented route does, in the same order and with the same functions (`admit`, `decide_one`,
`error_response`): key, rate limit, role, `explain`, body, decision. Any other request passes
through to the application untouched.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from safereport.api.auth import admit, bearer_token
from safereport.api.errors import JSON, InvalidParameter, error_response
from safereport.api.limits import ENDPOINT_KEY
from safereport.api.routes.decisions import decide_one
from safereport.api.state import ApiState
from safereport.apikeys import Role
from safereport.errors import BadInput, SafereportError

PATH = "/v1/decisions"
ROLES = frozenset({Role.REQUESTER, Role.CONTROLLER})
# The values pydantic (and so FastAPI) reads as a boolean query parameter.
_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})


def _explain(query: bytes) -> bool:
    values = [v for k, v in parse_qsl(query.decode("latin-1"), keep_blank_values=True) if k == "explain"]
    if not values:
        return False
    value = values[-1].lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InvalidParameter("expected a valid boolean (got a value that does not fit)", field="explain")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


async def _body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise BadInput("expected a request body, got a closed connection", field="(request)")
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _answer(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    start: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", JSON.encode()), (b"content-length", str(len(body)).encode()), *headers],
    }
    await send(start)
    await send({"type": "http.response.body", "body": body})


class DecisionFastPath:
    def __init__(self, app: ASGIApp, *, state: ApiState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        scope[ENDPOINT_KEY] = PATH
        try:
            caller = await admit(self.state, bearer_token(_header(scope, b"authorization")), ROLES)
            explain = _explain(scope.get("query_string", b""))
            body = await decide_one(self.state, caller, await _body(receive), explain)
        except SafereportError as exc:
            refused = error_response(exc)
            headers = [
                (k, v) for k, v in refused.raw_headers if k not in (b"content-type", b"content-length")
            ]
            await _answer(send, refused.status_code, bytes(refused.body), headers)
            return
        await _answer(send, 200, body, [])
