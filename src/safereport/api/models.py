"""The HTTP service's documents, as pydantic models: they make the OpenAPI document.

Request bodies in the contract's formats (records, consents, requests) are parsed by
`safereport.wire`, exactly as the command line parses them; their schemas are added to the
OpenAPI document by `openapi_with_wire_schemas`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from safereport.apikeys import Role
from safereport.wire import ConsentIn, RecordIn, RequestIn


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class _In(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ErrorDetail(_Out):
    code: str = Field(description="Stable code, e.g. bad_input, not_permitted, rate_limited.")
    message: str = Field(description="What was expected and what was got; never stored data.")
    field: str | None = Field(description="The field (JSON path) at fault, when there is one.")


class ErrorBody(_Out):
    error: ErrorDetail


class ReceiptOut(_Out):
    log: str
    index: int
    leaf_hash: str


class DisclosedOut(_Out):
    record_id: str
    person_id: str
    data: dict[str, str]
    narrative: str | None = None


class ExplanationOut(_Out):
    policies: list[str]
    released: list[str]
    withheld: list[str]
    policy_version: str
    items_considered: int
    narrative_sentences_removed: int
    consent_applied: bool


class DecisionOut(_Out):
    """The requester-facing response of the contract (§4)."""

    request_id: str
    decision: Literal["permit", "deny"]
    disclosed: list[DisclosedOut]
    receipt: ReceiptOut
    explanation: ExplanationOut | None = Field(
        default=None, description="Only for a controller's own outbound check, with ?explain=true."
    )


class BatchOut(_Out):
    responses: list[DecisionOut]


class IngestOut(_Out):
    records: int
    persons: int
    replaced: int
    derived_resolved: int


class ConsentGrantOut(_Out):
    consent_id: str
    granted: bool
    new: bool


class ConsentRevokeOut(_Out):
    consent_id: str
    revoked: bool = Field(description="True when this controller holds a consent of this id, now revoked.")
    changed: bool


class ConsentOut(_Out):
    consent_id: str
    controller: str
    recipient: str
    purpose: str
    categories: list[str]
    expires: str
    revoked: bool


class ConsentList(_Out):
    consents: list[ConsentOut]


class LoggedEntry(_Out):
    index: int
    leaf_hash: str
    entry: dict[str, Any] = Field(description="The audit entry: no plaintext personal data.")


class ExplanationsOut(_Out):
    request_id: str
    entries: list[LoggedEntry]


Label = Annotated[str, StringConstraints(max_length=200)]


class KeyIn(_In):
    org: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    role: Role
    label: Label = ""


class KeyOut(_Out):
    key_id: str
    org: str
    role: Role
    label: str
    created_at: datetime
    revoked_at: datetime | None


class KeyCreatedOut(KeyOut):
    token: str = Field(description="The key itself, shown this once; only its hash is kept.")


class KeyList(_Out):
    keys: list[KeyOut]


class KeyRevokedOut(_Out):
    key_id: str
    revoked: bool
    changed: bool


class PolicyIn(_In):
    text: Annotated[str, StringConstraints(min_length=1, max_length=100_000)] = Field(
        description="Cedar policies, each with an @id; refused if any could weaken the baseline."
    )


class LocalPolicyOut(_Out):
    policy_id: str
    sha256: str


class PolicySetOut(_Out):
    controller: str
    policy_version: str
    baseline: str
    local: list[LocalPolicyOut]


class PolicyChangedOut(_Out):
    controller: str
    policy_id: str
    sha256: str | None = None
    added: bool = False
    removed: bool = False


class BaselineOut(_Out):
    name: str
    version: str
    sha256: str


class CosignatureIn(_In):
    size: Annotated[int, Field(ge=0)]
    witness: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\s+]+$")]
    line: Annotated[str, StringConstraints(min_length=1, max_length=1_000)]


class CosignatureOut(_Out):
    size: int
    witness: str
    stored: bool


class SubjectHistoryIn(_In):
    reference: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    code: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class Status(_Out):
    status: str


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (400, "Bad input: the field at fault is named"),
        (401, "No valid API key"),
        (403, "This key's organisation or role may not do this"),
        (404, "Not found (or not this caller's to see)"),
        (413, "Request body too large"),
        (422, "A parameter, or a local policy, was refused"),
        (429, "Rate limited; see Retry-After"),
        (503, "The store or the policy is unavailable; nothing was disclosed"),
    )
}

_WIRE: dict[str, type[BaseModel]] = {"DisclosureRequest": RequestIn, "Record": RecordIn, "Consent": ConsentIn}


def json_body(schema: dict[str, Any], *, jsonl: bool = False) -> dict[str, Any]:
    """`openapi_extra` for a route that reads its body itself."""
    content: dict[str, Any] = {"application/json": {"schema": schema}}
    if jsonl:
        content["application/x-ndjson"] = {"schema": {"type": "string", "description": "JSON Lines"}}
    return {"requestBody": {"required": True, "content": content}}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def openapi_with_wire_schemas(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, model in _WIRE.items():
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for sub, definition in schema.pop("$defs", {}).items():
            schemas.setdefault(sub, definition)
        schema["title"] = name
        schemas[name] = schema
    # Validation errors answer in the one error shape too, not FastAPI's default.
    for item in document.get("paths", {}).values():
        for operation in item.values():
            responses = operation.get("responses", {}) if isinstance(operation, dict) else {}
            if "422" in responses:
                responses["422"] = {
                    "description": "A parameter was refused",
                    "content": {"application/json": {"schema": ref("ErrorBody")}},
                }
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    app.openapi_schema = document
    return document
