"""Administration: API keys and controllers' local policies.

There is no route that writes the national baseline: it ships with the package, is checked
against its manifest hash, and no key of any role can change or disable it. A local policy
that could weaken it is refused (422), as is one reusing a baseline policy's id.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from safereport import apikeys
from safereport.api.auth import require
from safereport.api.errors import NotFound
from safereport.api.models import (
    ERRORS,
    BaselineOut,
    KeyCreatedOut,
    KeyIn,
    KeyList,
    KeyOut,
    KeyRevokedOut,
    LocalPolicyOut,
    PolicyChangedOut,
    PolicyIn,
    PolicySetOut,
)
from safereport.api.state import state_of
from safereport.apikeys import ApiKey, Caller, Role
from safereport.errors import BadInput, NotPermitted
from safereport.firewall import Firewall
from safereport.orgs import registry
from safereport.policy import LocalPolicy, load_baseline

router = APIRouter(prefix="/v1", tags=["administration"])
admin_only = require(Role.ADMIN)
ADMIN = Depends(admin_only)
any_key = require(*Role)
ANY_KEY = Depends(any_key)
policy_readers = require(Role.ADMIN, Role.DPO, Role.CONTROLLER)
POLICY_READERS = Depends(policy_readers)

PolicyId = Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:-]+$")


def _key_out(key: ApiKey) -> KeyOut:
    return KeyOut(
        key_id=key.key_id,
        org=key.org,
        role=key.role,
        label=key.label,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
    )


@router.post(
    "/keys",
    summary="Create an API key for an organisation in one role (the key is shown this once)",
    response_model=KeyCreatedOut,
    status_code=201,
    responses=ERRORS,
)
async def create_key(request: Request, body: KeyIn, caller: Caller = ADMIN) -> KeyCreatedOut:
    store = state_of(request).firewall.store
    made = await run_in_threadpool(
        lambda: apikeys.create_key(store, body.org, body.role.value, label=body.label)
    )
    return KeyCreatedOut(**_key_out(made.key).model_dump(), token=made.token)


@router.get("/keys", summary="The API keys (never their secrets)", response_model=KeyList, responses=ERRORS)
async def list_keys(
    request: Request,
    org: str | None = Query(None, max_length=200, description="Only this organisation's keys."),
    caller: Caller = ADMIN,
) -> KeyList:
    keys = await run_in_threadpool(apikeys.list_keys, state_of(request).firewall.store, org)
    return KeyList(keys=[_key_out(k) for k in keys])


@router.delete(
    "/keys/{key_id}",
    summary="Revoke an API key (permanent)",
    response_model=KeyRevokedOut,
    responses=ERRORS,
)
async def revoke_key(
    request: Request,
    key_id: str = Path(min_length=1, max_length=32),
    caller: Caller = ADMIN,
) -> KeyRevokedOut:
    state = state_of(request)
    try:
        changed = await run_in_threadpool(apikeys.revoke_key, state.firewall.store, key_id)
    except BadInput:
        raise NotFound("expected the id of an existing key (see GET /v1/keys)", field="key_id") from None
    state.auth.forget(key_id)
    return KeyRevokedOut(key_id=key_id, revoked=True, changed=changed)


# ---------------------------------------------------------------- policies


@router.get(
    "/policy/baseline",
    summary="The national baseline's name, version and hash (read-only for every role)",
    response_model=BaselineOut,
    responses=ERRORS,
)
async def baseline(caller: Caller = ANY_KEY) -> BaselineOut:
    loaded = load_baseline()
    return BaselineOut(name=loaded.name, version=loaded.version, sha256=loaded.sha256)


def _policy_set(fw: Firewall, controller: str) -> PolicySetOut:
    engine = fw.engine_for(controller)
    return PolicySetOut(
        controller=controller,
        policy_version=engine.version,
        baseline=engine.baseline.sha256,
        local=[LocalPolicyOut(policy_id=p.policy_id, sha256=p.sha256) for p in engine.local],
    )


def _controller(controller: str, caller: Caller) -> str:
    registry().require(controller, field="controller")
    if caller.role is not Role.ADMIN and controller != caller.org:
        raise NotPermitted(
            f"expected this key's own organisation ({caller.org}) as controller, got another",
            field="controller",
        )
    return controller


@router.get(
    "/policies/{controller}",
    summary="The policy set a controller runs: baseline hash, local policies, version hash",
    response_model=PolicySetOut,
    responses=ERRORS,
)
async def policy_set(
    request: Request,
    controller: str = Path(max_length=200),
    caller: Caller = POLICY_READERS,
) -> PolicySetOut:
    _controller(controller, caller)
    return await run_in_threadpool(_policy_set, state_of(request).firewall, controller)


@router.put(
    "/policies/{controller}/{policy_id}",
    summary="Add or replace a local policy; refused (422) if it could weaken the national baseline",
    response_model=PolicyChangedOut,
    responses=ERRORS,
)
async def put_policy(
    request: Request,
    body: PolicyIn,
    controller: str = Path(max_length=200),
    policy_id: str = PolicyId,
    caller: Caller = ADMIN,
) -> PolicyChangedOut:
    _controller(controller, caller)
    policy = LocalPolicy(controller, policy_id, body.text)
    await run_in_threadpool(state_of(request).firewall.add_local_policy, policy)
    return PolicyChangedOut(controller=controller, policy_id=policy_id, sha256=policy.sha256, added=True)


@router.delete(
    "/policies/{controller}/{policy_id}",
    summary="Remove a local policy (the baseline cannot be removed)",
    response_model=PolicyChangedOut,
    responses=ERRORS,
)
async def delete_policy(
    request: Request,
    controller: str = Path(max_length=200),
    policy_id: str = PolicyId,
    caller: Caller = ADMIN,
) -> PolicyChangedOut:
    _controller(controller, caller)
    removed = await run_in_threadpool(state_of(request).firewall.remove_local_policy, controller, policy_id)
    return PolicyChangedOut(controller=controller, policy_id=policy_id, removed=removed)
