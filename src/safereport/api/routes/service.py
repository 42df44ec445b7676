"""Health, readiness, metrics, the oversight statistics and the subject's own history."""

from __future__ import annotations

import importlib
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from safereport.api import metrics
from safereport.api.auth import require
from safereport.api.errors import RetryAfter, ServiceUnavailable
from safereport.api.limits import client_address
from safereport.api.models import ERRORS, Status, SubjectHistoryIn
from safereport.api.routes._common import json_response
from safereport.api.state import ApiState, state_of
from safereport.apikeys import Caller, Role
from safereport.errors import SafereportError
from safereport.orgs import registry
from safereport.policy import load_baseline
from safereport.store import auditlog

router = APIRouter(tags=["service"])
oversight_readers = require(Role.OVERSIGHT, Role.ADMIN)
OVERSIGHT_READERS = Depends(oversight_readers)
ANY_DOCUMENT = {"content": {"application/json": {"schema": {"type": "object"}}}}


@router.get("/healthz", summary="The process is up", response_model=Status)
async def healthz() -> Status:
    return Status(status="ok")


def _ready(state: ApiState) -> None:
    with state.firewall.store.read() as conn:
        conn.execute(text("SELECT count(*) FROM meta")).all()
        auditlog.size(conn)
        auditlog.latest_checkpoint(conn)
    load_baseline()
    state.firewall.engine_for(next(iter(registry())))
    if not state.committer.alive:
        raise ServiceUnavailable("the decision worker is not running")
    if not state.committer.warmed.is_set():
        raise ServiceUnavailable("the decision worker is still warming up")


@router.get(
    "/readyz",
    summary="The store is reachable, the policy is loaded and decisions can be logged",
    response_model=Status,
    responses={503: ERRORS[503]},
)
async def readyz(request: Request) -> Status:
    try:
        await run_in_threadpool(_ready, state_of(request))
    except SafereportError as exc:
        raise ServiceUnavailable(f"not ready ({exc.code})") from None
    return Status(status="ready")


@router.get(
    "/metrics",
    summary="Prometheus metrics (no personal data in any label)",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def prometheus() -> Response:
    body, content_type = await run_in_threadpool(metrics.exposition)
    return Response(body, 200, media_type=content_type)


def _library(module: str, name: str) -> Any:
    """A library function that may not be installed yet: 503 until it is."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise ServiceUnavailable(f"{module}.{name} is not available in this build") from None


@router.get(
    "/v1/oversight/statistics",
    summary="National statistics across every controller (counts under 10 suppressed)",
    response_class=Response,
    responses={200: ANY_DOCUMENT, **ERRORS},
)
async def oversight_statistics(request: Request, caller: Caller = OVERSIGHT_READERS) -> Response:
    national_statistics = _library("safereport.oversight", "national_statistics")
    fw = state_of(request).firewall
    document = await run_in_threadpool(lambda: national_statistics(fw).to_document())
    return json_response(document)


@router.post(
    "/v1/subject/history",
    summary="Every request about a person, for the person or their advocate (reference and access code)",
    response_class=Response,
    responses={200: ANY_DOCUMENT, **ERRORS},
)
async def subject_history(request: Request, body: SubjectHistoryIn) -> Response:
    state = state_of(request)
    wait = state.subject_limiter.take(client_address(request.scope))
    if wait:
        raise RetryAfter(
            f"expected at most {state.settings.subject_rate_limit:g} look-ups a second from one address, got more",
            retry_after=wait,
        )
    history = _library("safereport.subjects", "subject_history")
    fw = state.firewall
    document = await run_in_threadpool(lambda: history(fw, body.reference, body.code).to_document())
    return json_response(document)
