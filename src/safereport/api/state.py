"""What one worker process holds: its Firewall, the group committer, key checks and limits."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from safereport.api.auth import Authenticator
from safereport.api.committer import GroupCommitter
from safereport.api.errors import ServiceUnavailable
from safereport.api.limits import RateLimiter
from safereport.config import Settings
from safereport.firewall import Firewall


@dataclass(frozen=True, slots=True)
class ApiState:
    settings: Settings
    firewall: Firewall
    committer: GroupCommitter
    auth: Authenticator
    key_limiter: RateLimiter
    subject_limiter: RateLimiter
    subject_key: bytes

    def close(self) -> None:
        self.committer.close()
        self.firewall.close()


def state_of(request: Request) -> ApiState:
    state = getattr(request.app.state, "api", None)
    if not isinstance(state, ApiState):
        raise ServiceUnavailable("the service has not started")
    return state
