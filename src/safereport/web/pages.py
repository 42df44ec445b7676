"""The oversight view and the subject view: server-rendered pages that need no JavaScript.

- `/oversight`: the national picture from the audit log, for an oversight or admin API key
  (signed in once; a signed, HttpOnly, SameSite=Strict cookie then carries the key's id).
  Published values only: counts under 10 show as "fewer than 10". No personal data.
- `/oversight/export.csv`: the same figures as CSV (a session, or `Authorization: Bearer`).
- `/subject`: a reference and access code give that person's own request history; POST only,
  no cookie, and every refusal reads the same.

The pages read the app's Firewall from `app.state.firewall` (or `app.state.api.firewall`).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from importlib import resources
from typing import Any, Protocol
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.concurrency import run_in_threadpool

from safereport.apikeys import Caller, authenticate
from safereport.errors import (
    BadInput,
    NotAuthenticated,
    NotPermitted,
    RateLimited,
    SafereportError,
    StoreError,
)
from safereport.firewall import Firewall
from safereport.oversight import NationalStatistics, national_statistics, publish_count
from safereport.subjects import SubjectHistory, subject_history
from safereport.web import labels, session
from safereport.web.charts import ChartCache

log = logging.getLogger("safereport.web")

router = APIRouter(include_in_schema=False)

DAYS_SHOWN = 31
FORM_LIMIT = 4096
SIGN_IN_REFUSED = "Sign-in refused: expected a live API key with the oversight or admin role."
SUBJECT_REFUSED = (
    "We could not show a history for that reference and access code. Check both and try again, "
    "or ask the organisation that gave them to you."
)
_CSP = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": _CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

_env = Environment(
    loader=PackageLoader("safereport.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["count"] = labels.count
_env.filters["when"] = labels.when
_env.filters["short"] = labels.short_hash
_env.filters["published"] = publish_count
_env.globals["labels"] = labels
_charts = ChartCache()


class _Limiter(Protocol):
    def take(self, key: str, cost: float = 1.0) -> float: ...


# ---------------------------------------------------------------------------------- plumbing


def _firewall(request: Request) -> Firewall:
    fw = getattr(request.app.state, "firewall", None)
    if fw is None:
        fw = getattr(getattr(request.app.state, "api", None), "firewall", None)
    if not isinstance(fw, Firewall):
        raise StoreError("the service has not started")
    return fw


def _limiter(request: Request) -> _Limiter | None:
    found = getattr(getattr(request.app.state, "api", None), "subject_limiter", None)
    return found if callable(getattr(found, "take", None)) else None


def _check_rate(request: Request) -> None:
    """Subject look-ups share the service's per-address bucket with `POST /v1/subject/history`."""
    limiter = _limiter(request)
    address = request.client.host if request.client else "unknown"
    if limiter is not None and limiter.take(address) > 0:
        raise RateLimited("expected fewer look-ups from this address; wait a minute and try again")


def _html(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    body = _env.get_template(template).render(**context)
    return HTMLResponse(body, status_code=status, headers=dict(SECURITY_HEADERS))


def _redirect(to: str) -> RedirectResponse:
    return RedirectResponse(to, status_code=303, headers=dict(SECURITY_HEADERS))


async def _form(request: Request) -> dict[str, str]:
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise BadInput(f"expected an HTML form (application/x-www-form-urlencoded), got {kind or 'none'!r}")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > FORM_LIMIT:
            raise BadInput(f"expected a form of at most {FORM_LIMIT} bytes, got more", field="(body)")
    try:
        parsed = parse_qs(bytes(body).decode("utf-8"), keep_blank_values=True, max_num_fields=8)
    except (UnicodeDecodeError, ValueError):
        raise BadInput("expected a UTF-8 form of a few fields", field="(body)") from None
    return {name: values[0] for name, values in parsed.items()}


async def _guarded(page: Callable[[], Awaitable[Response]], *, title: str) -> Response:
    """Fail closed: any error becomes a page that says what went wrong and discloses nothing."""
    try:
        return await page()
    except RateLimited as exc:
        return _html("message.html", 429, title=title, heading="Too many attempts", message=exc.message)
    except BadInput as exc:
        return _html(
            "message.html", 400, title=title, heading="That form could not be read", message=exc.message
        )
    except StoreError:
        log.error("the store is unavailable to the web pages; nothing was disclosed")
        return _html(
            "message.html",
            503,
            title=title,
            heading="Service unavailable",
            message="The service cannot reach its store just now. Nothing was disclosed. Try again later.",
        )
    except Exception as exc:
        code = exc.code if isinstance(exc, SafereportError) else "internal"
        log.error("unexpected %s (%s) on a web page; nothing was disclosed", exc.__class__.__name__, code)
        return _html(
            "message.html",
            500,
            title=title,
            heading="Something went wrong",
            message="The page could not be produced. Nothing was disclosed.",
        )


def _session_caller(request: Request, fw: Firewall) -> Caller | None:
    secret = session.session_secret(fw.settings.keys_path)
    key_id = session.opened(secret, request.cookies.get(session.COOKIE), datetime.now(UTC))
    return session.caller_for(fw.store, key_id) if key_id else None


# ---------------------------------------------------------------------------------- oversight


@router.get("/oversight", response_class=HTMLResponse)
async def oversight(request: Request) -> Response:
    async def page() -> Response:
        fw = _firewall(request)
        caller = await run_in_threadpool(_session_caller, request, fw)
        if caller is None:
            return _redirect("/oversight/sign-in")
        stats = await run_in_threadpool(national_statistics, fw)
        body = await run_in_threadpool(_rendered.page, stats, caller)
        return HTMLResponse(body, headers=dict(SECURITY_HEADERS))

    return await _guarded(page, title="Oversight")


@router.get("/oversight/sign-in", response_class=HTMLResponse)
async def sign_in_form(request: Request) -> Response:
    async def page() -> Response:
        return _html("sign_in.html", error=None)

    return await _guarded(page, title="Sign in")


@router.post("/oversight/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request) -> Response:
    async def page() -> Response:
        fw = _firewall(request)
        form = await _form(request)
        token = form.get("api_key", "").strip()

        def check() -> Caller | None:
            try:
                caller = authenticate(fw.store, token)
            except NotAuthenticated:
                return None
            return caller if caller.role in session.ROLES else None

        caller = await run_in_threadpool(check)
        if caller is None:
            return _html("sign_in.html", 401, error=SIGN_IN_REFUSED)
        secret = session.session_secret(fw.settings.keys_path)
        value, max_age = session.issue(secret, caller.key_id, datetime.now(UTC))
        response = _redirect("/oversight")
        response.set_cookie(
            session.COOKIE,
            value,
            max_age=max_age,
            path="/oversight",
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
        return response

    return await _guarded(page, title="Sign in")


@router.post("/oversight/sign-out")
async def sign_out(request: Request) -> Response:
    response = _redirect("/oversight/sign-in")
    response.delete_cookie(session.COOKIE, path="/oversight", httponly=True, samesite="strict")
    return response


@router.get("/oversight/export.csv")
async def export_csv(request: Request) -> Response:
    try:
        fw = _firewall(request)
        await run_in_threadpool(_csv_caller, request, fw)
        stats = await run_in_threadpool(national_statistics, fw)
        text = stats.to_csv()
    except SafereportError as exc:
        status = {NotAuthenticated: 401, NotPermitted: 403, StoreError: 503}.get(type(exc), 500)
        shown = exc if status != 500 else SafereportError("internal error; nothing was disclosed")
        return Response(
            _error_json(shown),
            status_code=status,
            media_type="application/json",
            headers=dict(SECURITY_HEADERS),
        )
    day = (stats.last_day or stats.computed_at.date()).isoformat()
    headers = {
        **SECURITY_HEADERS,
        "Content-Disposition": f'attachment; filename="safereport-oversight-{day}.csv"',
    }
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)


def _csv_caller(request: Request, fw: Firewall) -> Caller:
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        caller = authenticate(fw.store, token.strip() if scheme.lower() == "bearer" else None)
        if caller.role not in session.ROLES:
            raise NotPermitted("expected an API key with the oversight or admin role")
        return caller
    found = _session_caller(request, fw)
    if found is None:
        raise NotAuthenticated("expected an oversight session (sign in at /oversight) or a Bearer API key")
    return found


def _error_json(exc: SafereportError) -> str:
    return json.dumps({"error": {"code": exc.code, "message": exc.message, "field": exc.field}})


class _RenderedPages:
    """The oversight page of the latest statistics snapshot, rendered once per caller org and role."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._for: NationalStatistics | None = None
        self._pages: dict[tuple[str, str], str] = {}

    def page(self, stats: NationalStatistics, caller: Caller) -> str:
        key = (caller.org, caller.role.value)
        with self._lock:
            if self._for is stats and key in self._pages:
                return self._pages[key]
        body = _env.get_template("oversight.html").render(
            caller=caller, caller_name=labels.org_name(caller.org), **_oversight_view(stats)
        )
        with self._lock:
            if self._for is not stats:
                self._for, self._pages = stats, {}
            self._pages[key] = body
        return body


_rendered = _RenderedPages()


def _oversight_view(stats: NationalStatistics) -> dict[str, Any]:
    """What the page shows: published values only, the latest DAYS_SHOWN days of day tables."""
    all_days = sorted({keys[0] for keys, _ in stats.table("requests_by_day_purpose_decision").rows})
    days = all_days[-DAYS_SHOWN:]
    shown = set(days)

    def pivot(name: str, keep: Callable[[tuple[str, ...]], bool]) -> list[dict[str, Any]]:
        """Rows of (all keys but the decision) with a published count per decision."""
        out: dict[tuple[str, ...], dict[str, Any]] = {}
        for keys, n in stats.table(name).rows:
            if not keep(keys):
                continue
            row = out.setdefault(keys[:-1], {"keys": keys[:-1], "counts": {}})
            row["counts"][keys[-1]] = publish_count(n)
        return list(out.values())

    controllers = {c.controller: c for c in stats.controllers}
    return {
        "stats": stats,
        "days": days,
        "days_hidden": len(all_days) - len(days),
        "totals": [(name, publish_count(n)) for name, n in stats.totals],
        "by_day_purpose": pivot("requests_by_day_purpose_decision", lambda k: k[0] in shown),
        "by_day_function": pivot("requests_by_day_function_decision", lambda k: k[0] in shown),
        "by_function_purpose": pivot("requests_by_function_purpose_decision", lambda k: True),
        "ie": pivot("immigration_enforcement_attempts", lambda k: True),
        "outbound": pivot("outbound_checks", lambda k: True),
        "controllers": controllers,
        "differing": [c for c in stats.controllers if not c.consistent],
        "charts": _charts.charts(stats, days),
    }


# ---------------------------------------------------------------------------------- subjects


@router.get("/subject", response_class=HTMLResponse)
async def subject_form(request: Request) -> Response:
    async def page() -> Response:
        return _html("subject.html", error=None, history=None, reference="")

    return await _guarded(page, title="Your requests")


@router.post("/subject", response_class=HTMLResponse)
async def subject(request: Request) -> Response:
    async def page() -> Response:
        fw = _firewall(request)
        _check_rate(request)
        form = await _form(request)
        reference, code = form.get("reference", ""), form.get("code", "")

        def look() -> SubjectHistory | None:
            try:
                return subject_history(fw, reference, code)
            except NotAuthenticated:
                return None

        history = await run_in_threadpool(look)
        if history is None:
            return _html("subject.html", 401, error=SUBJECT_REFUSED, history=None, reference="")
        return _html("subject.html", error=None, history=history, reference=history.reference)

    return await _guarded(page, title="Your requests")


# ---------------------------------------------------------------------------------- assets


_CSS = resources.files("safereport.web").joinpath("static", "safereport.css")


@router.get("/web/safereport.css")
async def stylesheet() -> Response:
    return Response(
        _CSS.read_bytes(),
        media_type="text/css; charset=utf-8",
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )
