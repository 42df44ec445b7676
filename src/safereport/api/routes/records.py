"""A controller's own data: ingesting records and granting, revoking and listing consents.

Every record and consent must name the caller's organisation as its controller. A consent of
another controller is answered exactly like a consent nobody holds.
"""

from __future__ import annotations

import io

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from safereport import ingest as ingesting
from safereport.api.auth import require, require_own
from safereport.api.models import (
    ERRORS,
    ConsentGrantOut,
    ConsentList,
    ConsentOut,
    ConsentRevokeOut,
    IngestOut,
    json_body,
    ref,
)
from safereport.api.routes._common import parse_json
from safereport.api.state import state_of
from safereport.apikeys import Caller, Role
from safereport.errors import BadInput, IngestError
from safereport.firewall import Firewall
from safereport.model import Record
from safereport.store import consents as consent_store
from safereport.wire import iter_records_jsonl, parse_consent, parse_record

router = APIRouter(prefix="/v1", tags=["records and consents"])
controller_only = require(Role.CONTROLLER)
CONTROLLER = Depends(controller_only)


def _records(body: bytes) -> list[tuple[int, Record]]:
    """(position, record): a JSON array (position = item, from 1) or JSON Lines (= line)."""
    if body.lstrip().startswith(b"["):
        documents = parse_json(body, what="(records)")
        if not isinstance(documents, list):
            raise BadInput("expected a JSON array of records, or JSON Lines", field="(records)")
        out: list[tuple[int, Record]] = []
        for position, document in enumerate(documents):
            if not isinstance(document, dict):
                raise IngestError(
                    f"expected a JSON object, got {type(document).__name__}",
                    line=position + 1,
                    field=f"[{position}]",
                )
            try:
                out.append((position + 1, parse_record(document)))
            except BadInput as exc:
                raise IngestError(
                    f"item {position + 1}: {exc.message}",
                    line=position + 1,
                    field=f"[{position}].{exc.field}",
                ) from None
        return out
    try:
        return list(iter_records_jsonl(io.BytesIO(body)))
    except IngestError as exc:
        raise IngestError(f"line {exc.line}: {exc.message}", line=exc.line, field=exc.field) from None


def _ingest(fw: Firewall, records: list[tuple[int, Record]]) -> ingesting.IngestReport:
    return ingesting.ingest(fw.store, records, fw.clock())


@router.post(
    "/records",
    summary="Ingest records (a JSON array, or JSON Lines): all or nothing, idempotent by record id",
    response_model=IngestOut,
    responses=ERRORS,
    openapi_extra=json_body({"type": "array", "items": ref("Record")}, jsonl=True),
)
async def ingest_records(request: Request, caller: Caller = CONTROLLER) -> IngestOut:
    state = state_of(request)
    records = _records(await request.body())
    if not records:
        raise BadInput("expected at least one record, got none", field="(records)")
    for position, record in records:
        if record.controller != caller.org:
            require_own(caller, record.controller, field=f"record {position}: controller")
    report = await run_in_threadpool(_ingest, state.firewall, records)
    return IngestOut(
        records=report.records,
        persons=report.persons,
        replaced=report.replaced,
        derived_resolved=report.derived,
    )


@router.post(
    "/consents",
    summary="Grant a subject's consent (idempotent)",
    response_model=ConsentGrantOut,
    responses=ERRORS,
    openapi_extra=json_body(ref("Consent")),
)
async def grant_consent(request: Request, caller: Caller = CONTROLLER) -> ConsentGrantOut:
    state = state_of(request)
    consent = parse_consent(parse_json(await request.body(), what="(consent)"))
    require_own(caller, consent.controller, field="controller")
    created = await run_in_threadpool(state.firewall.grant_consent, consent)
    return ConsentGrantOut(consent_id=consent.consent_id, granted=True, new=created)


def _revoke(fw: Firewall, controller: str, consent_id: str) -> ConsentRevokeOut:
    with fw.store.read() as conn:
        held = consent_store.get_consent(conn, consent_id)
    if held is None or held.controller != controller:
        return ConsentRevokeOut(consent_id=consent_id, revoked=False, changed=False)
    changed = fw.revoke_consent(consent_id)
    return ConsentRevokeOut(consent_id=consent_id, revoked=True, changed=changed)


@router.delete(
    "/consents/{consent_id}",
    summary="Revoke one of this controller's consents",
    response_model=ConsentRevokeOut,
    responses=ERRORS,
)
async def revoke_consent(request: Request, consent_id: str, caller: Caller = CONTROLLER) -> ConsentRevokeOut:
    return await run_in_threadpool(_revoke, state_of(request).firewall, caller.org, consent_id)


@router.get(
    "/consents",
    summary="This controller's consents",
    response_model=ConsentList,
    responses=ERRORS,
)
async def list_consents(request: Request, caller: Caller = CONTROLLER) -> ConsentList:
    held = await run_in_threadpool(state_of(request).firewall.consents, caller.org)
    return ConsentList(
        consents=[
            ConsentOut(
                consent_id=c.consent_id,
                controller=c.controller,
                recipient=c.recipient,
                purpose=c.purpose.value,
                categories=sorted(c.categories),
                expires=c.expires.isoformat().replace("+00:00", "Z"),
                revoked=c.revoked_at is not None,
            )
            for c in held
        ]
    )
