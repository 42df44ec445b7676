"""The service's parts on their own: token buckets, tile paths, the key cache, the error shape of
the outermost guard, and the group committer failing closed on a broken store."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.types import Receive, Scope, Send

from safereport import Firewall, apikeys, parse_record, parse_request
from safereport.api.auth import Authenticator
from safereport.api.committer import GroupCommitter
from safereport.api.errors import InternalError, NotFound, PayloadTooLarge, ServiceUnavailable, status_for
from safereport.api.limits import Guard, RateLimiter, _Bucket
from safereport.api.routes.audit import parse_tile_path
from safereport.audit import merkle
from safereport.errors import (
    AuditError,
    BadInput,
    LocalPolicyRejected,
    NotAuthenticated,
    NotPermitted,
    PolicyError,
    RateLimited,
    StoreError,
    UnknownOrganisation,
)
from tests.conftest import load_scenario


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@given(
    rate=st.floats(0.5, 100),
    burst=st.integers(1, 50),
    steps=st.lists(st.floats(0, 2), max_size=200),
)
def test_a_bucket_never_allows_more_than_burst_plus_rate_times_time(
    rate: float, burst: int, steps: list[float]
) -> None:
    clock = Clock()
    limiter = RateLimiter(rate, burst, clock=clock)
    allowed = 0.0
    elapsed = 0.0
    for pause in steps:
        clock.now += pause
        elapsed += pause
        wait = limiter.take("k")
        if wait == 0:
            allowed += 1
        else:
            assert wait > 0
            # Waiting as long as it says is enough (asked of a copy, to leave this bucket alone).
            later = Clock()
            probe = RateLimiter(rate, burst, clock=later)
            probe._buckets["k"] = _Bucket(limiter._buckets["k"].tokens, later.now)
            later.now += wait * (1 + 1e-9) + 1e-9
            assert probe.take("k") == 0
        assert allowed <= burst + rate * elapsed + 1e-6


def test_buckets_are_per_key_and_a_zero_rate_is_no_limit() -> None:
    clock = Clock()
    limiter = RateLimiter(1, 2, clock=clock)
    assert [limiter.take("a") for _ in range(3)][:2] == [0.0, 0.0]
    assert limiter.take("a") > 0 and limiter.take("b") == 0.0
    clock.now += 1.0
    assert limiter.take("a") == 0.0
    assert all(RateLimiter(0, 1).take("x") == 0.0 for _ in range(1000))


def test_the_bucket_table_is_bounded() -> None:
    limiter = RateLimiter(1, 1, capacity=10)
    for n in range(100):
        limiter.take(f"k{n}")
    assert len(limiter._buckets) == 10


@settings(max_examples=300)
@given(level=st.integers(0, 63), index=st.integers(0, 10**15), width=st.integers(1, 256))
def test_every_c2sp_tile_path_parses_back(level: int, index: int, width: int) -> None:
    key = merkle.TileKey(level, index)
    path = merkle.tile_path(key, width)
    assert parse_tile_path(path.removeprefix("tile/")) == (key, width)


@pytest.mark.parametrize(
    "path",
    [
        "0/1",
        "0/0001",
        "0/x000/001",
        "64/000",
        "0/000.p/0",
        "0/000.p/256",
        "0/000.p/",
        "entries/000",
        "0/000/",
        "0/abc",
        "",
    ],
)
def test_malformed_tile_paths_are_bad_input(path: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_tile_path(path)
    assert caught.value.field == "path"


def test_statuses_by_error_class() -> None:
    assert status_for(NotAuthenticated("x")) == 401
    assert status_for(NotPermitted("x")) == 403
    assert status_for(NotFound("x")) == 404
    assert status_for(PayloadTooLarge("x")) == 413
    assert status_for(LocalPolicyRejected("x")) == 422
    assert status_for(RateLimited("x")) == 429
    assert status_for(BadInput("x")) == status_for(UnknownOrganisation("x")) == 400
    assert status_for(StoreError("x")) == status_for(AuditError("x")) == status_for(PolicyError("x")) == 503
    assert status_for(ServiceUnavailable("x")) == 503
    assert status_for(InternalError("x")) == 500


def test_the_key_cache_trusts_a_checked_key_for_its_ttl_only(firewall: Firewall) -> None:
    clock = Clock()
    cached = Authenticator(firewall.store, 2.0, clock=clock)
    made = apikeys.create_key(firewall.store, "kent-police", "dpo")
    assert cached.cached(made.token) is None
    assert cached.check(made.token).org == "kent-police"
    apikeys.revoke_key(firewall.store, made.key.key_id)
    assert cached.cached(made.token) is not None  # trusted until the TTL runs out
    clock.now += 2.0
    assert cached.cached(made.token) is None
    with pytest.raises(NotAuthenticated):
        cached.check(made.token)
    uncached = Authenticator(firewall.store, 0, clock=clock)
    other = apikeys.create_key(firewall.store, "kent-police", "dpo")
    uncached.check(other.token)
    assert uncached.cached(other.token) is None
    cached.check(other.token)
    cached.forget(other.key.key_id)
    assert cached.cached(other.token) is None


async def _leaky(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["path"] == "/echo":
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(len(body)).encode()})
        return
    raise RuntimeError("Maria Silva, 12 Acre Lane")  # an error that carries data


def test_the_guard_answers_an_unexpected_error_with_the_shape_and_no_data() -> None:
    async def run() -> tuple[httpx.Response, httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=Guard(_leaky, max_body_bytes=1_024))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:

            async def chunks() -> Any:
                for _ in range(4):
                    yield b"x" * 400

            return (
                await client.get("/boom"),
                await client.post("/echo", content=chunks()),
                await client.post("/echo", content=b"y" * 1_024),
            )

    boom, too_big, fits = asyncio.run(run())
    assert boom.status_code == 500
    assert boom.json() == {
        "error": {"code": "internal_error", "message": "internal error; nothing was disclosed", "field": None}
    }
    assert "Maria" not in boom.text and "Acre" not in boom.text
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "payload_too_large"
    assert fits.status_code == 200 and fits.text == "1024"


def test_the_committer_fails_every_waiting_request_closed(firewall: Firewall, tmp_path: Path) -> None:
    core = load_scenario()
    firewall.ingest(parse_record(r) for r in core["records"])
    case = next(c for c in core["cases"] if c["name"] == "cps-prosecution-gets-victim-without-status")
    committer = GroupCommitter(firewall, max_batch=64, lock_file=tmp_path / "turn.lock")

    async def decide_all(n: int) -> list[Any]:
        requests = [parse_request(dict(case["request"], request_id=f"U-{i}")) for i in range(n)]
        return await asyncio.gather(*(committer.decide([r]) for r in requests), return_exceptions=True)

    try:
        answered = asyncio.run(decide_all(5))
        assert all(r[0].decision.value == "permit" for r in answered)
        database = Path(firewall.settings.database_url.removeprefix("sqlite:///"))
        for path in (database, database.with_name(database.name + "-wal")):
            if path.exists():
                with path.open("r+b") as handle:
                    handle.write(b"\xff" * path.stat().st_size)
        failed = asyncio.run(decide_all(8))
        assert len(failed) == 8 and all(isinstance(r, StoreError) for r in failed), failed
    finally:
        committer.close()
    assert not committer.alive
    with pytest.raises(ServiceUnavailable):
        asyncio.run(_after_close(committer, case))


async def _after_close(committer: GroupCommitter, case: dict[str, Any]) -> None:
    await committer.decide([parse_request(case["request"])])


def test_the_committer_warms_up_before_its_first_decision(firewall: Firewall, tmp_path: Path) -> None:
    import threading

    release = threading.Event()
    order: list[str] = []

    def warm() -> None:
        release.wait(60)
        order.append("warm")

    committer = GroupCommitter(firewall, max_batch=8, warm=warm)
    try:
        assert not committer.warmed.is_set()
        release.set()
        assert committer.warmed.wait(60)
        failing = GroupCommitter(firewall, max_batch=8, warm=lambda: 1 / 0)
        assert failing.warmed.wait(60)  # a failed warm-up does not stop the worker
        failing.close()
    finally:
        committer.close()
    assert order == ["warm"]
