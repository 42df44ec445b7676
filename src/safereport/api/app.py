"""The HTTP service: `create_app` builds one worker's FastAPI application (a uvicorn factory).

One Firewall per worker process; decisions go through the group committer, so every response
follows the durable commit of its audit entry.
"""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy.engine import make_url
from starlette.concurrency import run_in_threadpool

from safereport import __version__
from safereport.api import errors, metrics
from safereport.api.auth import Authenticator
from safereport.api.committer import GroupCommitter
from safereport.api.fastpath import DecisionFastPath
from safereport.api.limits import Guard, RateLimiter
from safereport.api.models import openapi_with_wire_schemas
from safereport.api.routes import admin, audit, decisions, records, service
from safereport.api.state import ApiState
from safereport.audit.keys import load_or_create_subject_key
from safereport.config import Settings, load_settings
from safereport.firewall import Firewall

DESCRIPTION = """\
safereport's HTTP API: a data-sharing firewall for public services.

Every caller is an organisation authenticated by an API key (`Authorization: Bearer sr_...`)
in one role: controller, requester, dpo, oversight or admin. Every decision is in the
transparency log before its response is sent. Errors have one shape:
`{"error": {"code", "message", "field"}}`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """One worker's application on the store the settings name (SAFEREPORT_* by default)."""
    settings = settings or load_settings()
    firewall = Firewall.open(settings=settings)
    state = ApiState(
        settings=settings,
        firewall=firewall,
        committer=GroupCommitter(
            firewall,
            max_batch=settings.commit_batch,
            lock_file=_turn_lock(settings.database_url),
        ),
        auth=Authenticator(firewall.store, settings.key_cache_seconds),
        key_limiter=RateLimiter(settings.rate_limit, settings.rate_burst),
        subject_limiter=RateLimiter(settings.subject_rate_limit, settings.subject_rate_burst),
        subject_key=load_or_create_subject_key(settings.keys_path),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        gc.freeze()  # what was built at startup lives as long as the worker: never rescan it
        yield
        await run_in_threadpool(state.close)
        metrics.worker_exited(os.getpid())

    app = FastAPI(
        title="safereport",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        redoc_url=None,
    )
    app.state.api = state
    app.state.firewall = firewall
    errors.install(app)
    app.add_middleware(DecisionFastPath, state=state)
    app.add_middleware(Guard, max_body_bytes=settings.max_body_bytes)  # outermost of ours
    for module in (service, decisions, records, audit, admin):
        app.include_router(module.router)
    _include_web(app)

    def openapi() -> dict[str, Any]:
        return openapi_with_wire_schemas(app)

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _warm_up() -> None:
    from safereport.redact import minimise

    minimise("A witness, Jo Bloggs of 1 High Street, said that her visa had expired.")


def _turn_lock(url: str) -> Path | None:
    """Beside a SQLite store, the file its workers take turns on to commit (see GroupCommitter)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database).with_name(Path(parsed.database).name + ".commit-lock")


def _include_web(app: FastAPI) -> None:
    from safereport import web

    app.include_router(web.router)
