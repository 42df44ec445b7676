"""The transparency log over HTTP, and the audit detail a DPO may read.

Published without a key (they hold only hashes and signatures), so that witnesses and
inspectors elsewhere can follow the log: the latest signed checkpoint (with cosignatures), the
log's public key, and the tree's tiles at C2SP tlog-tiles paths. Entry bundles are not
published: full entries stay with the controllers. Proof bundles need any valid key; entries
(the explanation of a decision) are for the controller's DPO.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from safereport.api.auth import require
from safereport.api.errors import NotFound
from safereport.api.models import ERRORS, CosignatureIn, CosignatureOut, ExplanationsOut, LoggedEntry
from safereport.api.routes._common import text_response
from safereport.api.state import state_of
from safereport.apikeys import Caller, Role
from safereport.audit import merkle
from safereport.errors import BadInput
from safereport.firewall import Firewall
from safereport.store import auditlog as rows
from safereport.store.tables import audit_log, log_tiles

router = APIRouter(prefix="/v1", tags=["audit"])
any_key = require(*Role)
ANY_KEY = Depends(any_key)
dpo_only = require(Role.DPO)
DPO = Depends(dpo_only)
oversight_only = require(Role.OVERSIGHT)
OVERSIGHT = Depends(oversight_only)

TEXT = {"content": {"text/plain": {"schema": {"type": "string"}}}}
MAX_EXPLANATIONS = 100

# ---------------------------------------------------------------- published: checkpoint, key, tiles


def _checkpoint(fw: Firewall) -> str:
    note = fw.log.checkpoint()
    size = int(note.split("\n", 2)[1])
    return fw.log.cosigned_checkpoint(size)


@router.get(
    "/log/checkpoint",
    summary="The latest signed checkpoint (C2SP tlog-checkpoint), with witnesses' cosignatures",
    response_class=Response,
    responses={200: TEXT, 503: ERRORS[503]},
)
async def checkpoint(request: Request) -> Response:
    return text_response(await run_in_threadpool(_checkpoint, state_of(request).firewall))


@router.get(
    "/log/key",
    summary="The log's public key (a signed-note verifier key)",
    response_class=Response,
    responses={200: TEXT, 503: ERRORS[503]},
)
async def log_key(request: Request) -> Response:
    return text_response(state_of(request).firewall.log.signer.verifier_key(), cache="max-age=3600")


_TILE = re.compile(r"(?P<level>\d{1,2})/(?P<index>(?:x\d{3}/)*\d{3})(?:\.p/(?P<width>\d{1,3}))?")


def parse_tile_path(path: str) -> tuple[merkle.TileKey, int]:
    """(tile, width) of a C2SP tlog-tiles path after `tile/`: "<L>/<N>[.p/<W>]"."""
    match = _TILE.fullmatch(path)
    if match is None:
        raise BadInput('expected a tile path "<L>/<N>[.p/<W>]" as C2SP tlog-tiles writes it', field="path")
    level = int(match["level"])
    index = int(match["index"].replace("x", "").replace("/", ""))
    width = int(match["width"]) if match["width"] is not None else merkle.TILE_WIDTH
    if not 0 <= level <= merkle.MAX_TILE_LEVEL or not 1 <= width <= merkle.TILE_WIDTH:
        raise BadInput("expected a tile level of 0-63 and a partial width of 1-255", field="path")
    key = merkle.TileKey(level, index)
    if merkle.tile_path(key, width) != "tile/" + path:
        raise BadInput(
            "expected the canonical path of the tile (x-prefixed groups of three digits)", field="path"
        )
    return key, width


def _tile(fw: Firewall, key: merkle.TileKey, width: int) -> bytes | None:
    with fw.store.read() as conn:
        stored = conn.execute(
            select(log_tiles.c.hashes).where(log_tiles.c.level == key.level, log_tiles.c.idx == key.index)
        ).scalar()
    if stored is None or len(stored) < width * merkle.HASH_SIZE:
        return None
    # A partial tile only ever grows: its first W hashes are the tile of width W.
    return bytes(stored[: width * merkle.HASH_SIZE])


@router.get(
    "/log/tile/{path:path}",
    summary="A tile of the Merkle tree (C2SP tlog-tiles): /v1/log/tile/<L>/<N>[.p/<W>]",
    response_class=Response,
    responses={
        200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
        400: ERRORS[400],
        404: ERRORS[404],
        503: ERRORS[503],
    },
)
async def tile(request: Request, path: str) -> Response:
    key, width = parse_tile_path(path)
    data = await run_in_threadpool(_tile, state_of(request).firewall, key, width)
    if data is None:
        raise NotFound("expected a tile the log holds", field="path")
    cache = "max-age=31536000, immutable" if width == merkle.TILE_WIDTH else "no-store"
    return Response(data, 200, {"Cache-Control": cache}, media_type="application/octet-stream")


# ---------------------------------------------------------------- with a key: proofs, cosignatures


def _proof(fw: Firewall, index: int) -> str:
    with fw.store.read() as conn:
        size = rows.size(conn)
    if index >= size:
        raise NotFound("expected the index of an entry in the log", field="index")
    return fw.log.proof(index)


@router.get(
    "/log/proof/{index}",
    summary="An offline proof bundle (C2SP tlog-proof) that a receipt's entry is in the log",
    response_class=Response,
    responses={200: TEXT, **ERRORS},
)
async def proof(request: Request, index: int = Path(ge=0, le=2**62), caller: Caller = ANY_KEY) -> Response:
    return text_response(await run_in_threadpool(_proof, state_of(request).firewall, index))


def _cosign(fw: Firewall, body: CosignatureIn) -> CosignatureOut:
    with fw.store.read() as conn:
        known = rows.checkpoint_at(conn, body.size) is not None
    if not known:
        raise NotFound("expected the size of a checkpoint this log issued", field="size")
    fw.log.add_cosignature(body.size, body.witness, body.line)
    return CosignatureOut(size=body.size, witness=body.witness, stored=True)


@router.post(
    "/log/cosignatures",
    summary="A witness's cosignature (C2SP tlog-cosignature) on a checkpoint this log issued",
    response_model=CosignatureOut,
    responses=ERRORS,
)
async def cosignature(request: Request, body: CosignatureIn, caller: Caller = OVERSIGHT) -> CosignatureOut:
    return await run_in_threadpool(_cosign, state_of(request).firewall, body)


# ---------------------------------------------------------------- the DPO's audit detail


def _logged(index: int, entry: str, leaf: str) -> tuple[LoggedEntry, dict[str, Any]]:
    document = orjson.loads(entry)
    return LoggedEntry(index=index, leaf_hash=leaf, entry=document), document


def explanations(fw: Firewall, controller: str, request_id: str) -> list[LoggedEntry]:
    """The entries of `controller` for `request_id`, newest first.

    The log has no index by request id: this is one scan of the entries table in the database
    (a substring filter on the canonical entry, then an exact check), linear in the log's size.
    """
    needle = '"request_id":' + json.dumps(request_id, ensure_ascii=False)
    owner = '"controller":' + json.dumps(controller, ensure_ascii=False)
    with fw.store.read() as conn:
        found = conn.execute(
            select(audit_log.c.idx, audit_log.c.entry, audit_log.c.leaf_hash)
            .where(audit_log.c.entry.contains(needle, autoescape=True))
            .where(audit_log.c.entry.contains(owner, autoescape=True))
            .order_by(audit_log.c.idx.desc())
            .limit(MAX_EXPLANATIONS * 4)
        ).all()
    out: list[LoggedEntry] = []
    for index, entry, leaf in found:
        logged, document = _logged(index, entry, leaf)
        if document.get("request_id") == request_id and document.get("controller") == controller:
            out.append(logged)
        if len(out) >= MAX_EXPLANATIONS:
            break
    return out


@router.get(
    "/explanations/{request_id}",
    summary="The audit entries (the explanation) of a request to this DPO's controller",
    response_model=ExplanationsOut,
    responses=ERRORS,
)
async def explanation(request: Request, request_id: str, caller: Caller = DPO) -> ExplanationsOut:
    found = await run_in_threadpool(explanations, state_of(request).firewall, caller.org, request_id)
    return ExplanationsOut(request_id=request_id, entries=found)


def _entry(fw: Firewall, controller: str, index: int) -> LoggedEntry:
    with fw.store.read() as conn:
        row = rows.entry_at(conn, index)
    if row is not None:
        logged, document = _logged(row.index, row.entry, row.leaf_hash)
        if document.get("controller") == controller:
            return logged
    raise NotFound("expected the index of an entry about this controller's data", field="index")


@router.get(
    "/audit/entries/{index}",
    summary="One audit entry (by a receipt's index) about this DPO's controller",
    response_model=LoggedEntry,
    responses=ERRORS,
)
async def entry(request: Request, index: int = Path(ge=0, le=2**62), caller: Caller = DPO) -> LoggedEntry:
    return await run_in_threadpool(_entry, state_of(request).firewall, caller.org, index)
