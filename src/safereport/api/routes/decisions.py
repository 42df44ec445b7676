"""Decisions over HTTP: inbound requests (requester keys) and outbound checks (controller keys),
one at a time or in a batch, each durable in the audit log before its response leaves.

The party a request speaks for is the caller's organisation, never what the document says: an
inbound request must name the caller as `requester`, an outbound check must name the caller
as `controller`. A request naming another organisation is refused (403) and the refusal is
appended to the transparency log first, as a `deny` entry whose policy is
`authn-requester-mismatch` (or `authn-controller-mismatch`) and which records the organisation
of the key that sent it (`authenticated_org`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from safereport.api import metrics
from safereport.api.auth import require
from safereport.api.errors import JSON
from safereport.api.models import ERRORS, BatchOut, DecisionOut, json_body, ref
from safereport.api.routes._common import json_response, parse_json
from safereport.api.state import ApiState, state_of
from safereport.apikeys import Caller, Role
from safereport.audit.entry import AuditEntry, canonical, query_key, request_digest, scrub
from safereport.errors import BadInput, NotPermitted
from safereport.model import Decision, Direction, DisclosureRequest, SubjectById
from safereport.wire import parse_request, response_to_json

router = APIRouter(prefix="/v1", tags=["decisions"])
DECIDERS = Depends(require(Role.REQUESTER, Role.CONTROLLER))

REQUESTER_MISMATCH = "authn-requester-mismatch"
CONTROLLER_MISMATCH = "authn-controller-mismatch"
MAX_BATCH = 10_000


def _acting(request: DisclosureRequest) -> tuple[str, str, Role, str]:
    """(organisation the request speaks for, its field, the role that may send it, refusal id)."""
    if request.direction is Direction.INBOUND:
        return request.requester, "requester", Role.REQUESTER, REQUESTER_MISMATCH
    return request.controller, "controller", Role.CONTROLLER, CONTROLLER_MISMATCH


def refusal_entry(state: ApiState, caller: Caller, request: DisclosureRequest, policy: str) -> bytes:
    """The audit entry of a refused impersonation: who asked as whom, no plaintext personal data."""
    fw = state.firewall
    key = state.subject_key
    subject = request.subject
    identifiers = (
        [subject.person_id] if isinstance(subject, SubjectById) else [subject.name, subject.date_of_birth]
    )
    entry = AuditEntry(
        time=fw.clock(),
        request_id=request.request_id,
        request_digest=request_digest(key, request),
        requester=request.requester,
        controller=request.controller,
        direction=request.direction.value,
        purpose=request.purpose.value,
        legal_basis=scrub(request.legal_basis, identifiers),
        justification=scrub(request.justification, identifiers),
        subject=query_key(key, request),
        subject_persons=(),
        record_scope=request.record_id,
        categories_requested=tuple(c.value for c in request.categories),
        decision=Decision.DENY,
        policies=(policy,),
        released={},
        withheld=(),
        records_released=(),
        policy_version=fw.engine_for(request.controller).version,
        consent_id=request.consent_id,
        consent_applied=False,
    )
    document = entry.to_document()
    document["authenticated_org"] = caller.org
    document["authenticated_role"] = caller.role.value
    return canonical(document)


def _log_refusals(state: ApiState, caller: Caller, refused: list[tuple[DisclosureRequest, str]]) -> None:
    state.firewall.log.append([refusal_entry(state, caller, r, policy) for r, policy in refused])


async def authorise(
    state: ApiState, caller: Caller, requests: Sequence[DisclosureRequest], *, prefix: str = ""
) -> None:
    """Refuse (after logging) any request that speaks for another organisation than the caller's."""
    refused: list[tuple[int, DisclosureRequest, str, str]] = []
    wrong_role: tuple[int, DisclosureRequest] | None = None
    for position, request in enumerate(requests):
        org, field, role, policy = _acting(request)
        if org != caller.org:
            refused.append((position, request, field, policy))
        elif role is not caller.role and wrong_role is None:
            wrong_role = (position, request)
    if refused:
        await run_in_threadpool(_log_refusals, state, caller, [(r, policy) for _, r, _, policy in refused])
        for _, request, _, _ in refused:
            metrics.REFUSED_IMPERSONATIONS.labels(request.direction.value).inc()
        position, _, field, _ = refused[0]
        where = f"[{position}]." if prefix else ""
        raise NotPermitted(
            f"expected {field} to be the organisation of this key ({caller.org}), got another; "
            "the attempt has been logged",
            field=f"{where}{field}",
        )
    if wrong_role is not None:
        position, request = wrong_role
        needed = "requester" if request.direction is Direction.INBOUND else "controller"
        where = f"[{position}]." if prefix else ""
        raise NotPermitted(
            f"expected a {needed} key for an {request.direction.value} request, got a {caller.role.value} key",
            field=f"{where}direction",
        )


def _shaped(response: Any, explain: bool) -> dict[str, Any]:
    out = response_to_json(response)
    if not explain:
        out.pop("explanation", None)
    return out


def _check_explain(caller: Caller, explain: bool) -> None:
    if explain and caller.role is not Role.CONTROLLER:
        raise NotPermitted(
            "expected a controller key: the explanation is for the controller alone", field="explain"
        )


async def decide_one(state: ApiState, caller: Caller, body: bytes, explain: bool) -> bytes:
    """One request's JSON response, once its decision is durable (shared with the fast path)."""
    _check_explain(caller, explain)
    parsed = parse_request(parse_json(body, what="(request)"))
    await authorise(state, caller, [parsed])
    (response,) = await state.committer.decide([parsed])
    metrics.observe_decision(parsed, response.decision)
    return orjson.dumps(_shaped(response, explain))


@router.post(
    "/decisions",
    summary="Decide one inbound request (requester key) or outbound check (controller key)",
    response_model=None,
    responses={200: {"model": DecisionOut, "description": "The requester-facing response"}, **ERRORS},
    openapi_extra=json_body(ref("DisclosureRequest")),
)
async def decide(
    request: Request,
    explain: bool = Query(False, description="Add the explanation (controllers' own outbound checks only)."),
    caller: Caller = DECIDERS,
) -> Response:
    """Served by `DecisionFastPath` ahead of the router; the same steps, documented here."""
    body = await decide_one(state_of(request), caller, await request.body(), explain)
    return Response(body, media_type=JSON)


def _batch_documents(body: bytes) -> list[Any]:
    stripped = body.lstrip()
    if stripped.startswith(b"["):
        documents = parse_json(body, what="(batch)")
        if not isinstance(documents, list):
            raise BadInput("expected a JSON array of requests", field="(batch)")
        return documents
    out = []
    for number, line in enumerate(body.splitlines(), start=1):
        if line.strip():
            out.append(parse_json(line, what=f"line {number}"))
    return out


@router.post(
    "/decisions/batch",
    summary="Decide many requests (a JSON array, or JSON Lines): all are checked before any is decided",
    response_model=None,
    responses={200: {"model": BatchOut, "description": "One response per request, in order"}, **ERRORS},
    openapi_extra=json_body({"type": "array", "items": ref("DisclosureRequest")}, jsonl=True),
)
async def decide_batch(
    request: Request,
    explain: bool = Query(False, description="Add explanations (controllers' own outbound checks only)."),
    caller: Caller = DECIDERS,
) -> Response:
    state = state_of(request)
    _check_explain(caller, explain)
    documents = _batch_documents(await request.body())
    if not documents:
        raise BadInput("expected at least one request, got none", field="(batch)")
    if len(documents) > MAX_BATCH:
        raise BadInput(f"expected at most {MAX_BATCH} requests, got {len(documents)}", field="(batch)")
    parsed: list[DisclosureRequest] = []
    for position, document in enumerate(documents):
        try:
            parsed.append(parse_request(document))
        except BadInput as exc:
            exc.field = f"[{position}].{exc.field or '(request)'}"
            raise
    await authorise(state, caller, parsed, prefix="batch")
    responses = await state.committer.decide(parsed)
    for one, response in zip(parsed, responses, strict=True):
        metrics.observe_decision(one, response.decision)
    return json_response({"responses": [_shaped(r, explain) for r in responses]})
