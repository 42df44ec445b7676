"""Who is calling: an organisation in one role, established by its API key and nothing else.

Every route names the roles it admits with `require(...)`. A key is checked against the store
and then trusted by this worker for SAFEREPORT_KEY_CACHE_SECONDS, so a revoked key stops
working within that time; unknown, malformed and revoked keys are refused alike (401).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from safereport import apikeys
from safereport.api.errors import RetryAfter
from safereport.apikeys import Caller, Role
from safereport.errors import NotPermitted
from safereport.store import Store

if TYPE_CHECKING:
    from safereport.api.state import ApiState

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key made with `safereport keys create ORG --role ROLE`: `Bearer sr_...`.",
)
BEARER = Security(bearer)


@dataclass(frozen=True, slots=True)
class _Trusted:
    caller: Caller
    until: float


class Authenticator:
    def __init__(self, store: Store, ttl: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.ttl = ttl
        self.clock = clock
        self._trusted: dict[str, _Trusted] = {}
        self._lock = threading.Lock()

    def cached(self, token: str) -> Caller | None:
        if self.ttl <= 0:
            return None
        entry = self._trusted.get(_fingerprint(token))
        if entry is None or entry.until <= self.clock():
            return None
        return entry.caller

    def check(self, token: str | None) -> Caller:
        """Ask the store (blocking). Raises NotAuthenticated for any key that is not valid now."""
        caller = apikeys.authenticate(self.store, token)
        if self.ttl > 0 and token:
            with self._lock:
                if len(self._trusted) > 10_000:
                    self._trusted.clear()
                self._trusted[_fingerprint(token)] = _Trusted(caller, self.clock() + self.ttl)
        return caller

    def forget(self, key_id: str) -> None:
        """Stop trusting a key at once in this worker (after revoking it here)."""
        with self._lock:
            for fingerprint in [f for f, t in self._trusted.items() if t.caller.key_id == key_id]:
                del self._trusted[fingerprint]

    async def authenticate(self, token: str | None) -> Caller:
        if token:
            caller = self.cached(token)
            if caller is not None:
                return caller
        return await run_in_threadpool(self.check, token)


def _fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, read as HTTPBearer reads it."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return token


async def admit(state: ApiState, token: str | None, roles: frozenset[Role]) -> Caller:
    """The caller of a key, after its rate limit, if its role is one of `roles`."""
    who = await state.auth.authenticate(token)
    wait = state.key_limiter.take(who.key_id)
    if wait:
        raise RetryAfter(
            f"expected at most {state.settings.rate_limit:g} requests a second for this key, got more",
            retry_after=wait,
        )
    if who.role not in roles:
        names = ", ".join(r.value for r in Role if r in roles)
        raise NotPermitted(
            f"expected a key with the role {names}, got a {who.role.value} key", field="Authorization"
        )
    return who


def require(*roles: Role) -> Callable[..., Awaitable[Caller]]:
    """A dependency admitting callers whose key has one of `roles` (after the key's rate limit)."""
    admitted = frozenset(roles)

    async def caller(request: Request, credentials: HTTPAuthorizationCredentials | None = BEARER) -> Caller:
        from safereport.api.state import state_of

        return await admit(state_of(request), credentials.credentials if credentials else None, admitted)

    return caller


def require_own(caller: Caller, org: str, *, field: str) -> None:
    """The organisation named in a document must be the caller's own."""
    if org != caller.org:
        raise NotPermitted(
            f"expected {field} to be the organisation of this key ({caller.org}), got another", field=field
        )
