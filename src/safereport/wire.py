"""The edge: JSON documents in the contract's formats, validated and turned into model values.

Every error names the field (`persons.0.role`) and says what was expected and what was got.
Values are shown only for vocabulary fields (roles, purposes, organisation ids), never for
personal data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import IO, Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    ValidationError,
    field_validator,
)

from safereport.errors import BadInput, IngestError
from safereport.model import (
    FIELD_CATEGORIES,
    Capacity,
    Category,
    Consent,
    Direction,
    DisclosureRequest,
    Person,
    Purpose,
    Record,
    SubjectById,
    SubjectByName,
)
from safereport.orgs import registry

Id = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")]
Text = Annotated[str, StringConstraints(max_length=100_000)]
ShortText = Annotated[str, StringConstraints(max_length=10_000)]

# Fields whose values are a closed vocabulary or an id: safe to echo back in an error.
_ECHOABLE = {"role", "purpose", "direction", "categories", "requester", "controller", "recipient", "kind"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


class PersonIn(_Strict):
    person_id: Id
    role: Capacity
    data: dict[str, Annotated[str, StringConstraints(max_length=10_000)]] = Field(default_factory=dict)

    @field_validator("data")
    @classmethod
    def _known_fields(cls, data: dict[str, str]) -> dict[str, str]:
        for key in data:
            if key not in FIELD_CATEGORIES:
                raise ValueError(f"unknown data field {key!r}; expected one of {', '.join(FIELD_CATEGORIES)}")
        dob = data.get("date_of_birth")
        if dob is not None:
            try:
                date.fromisoformat(dob)
            except ValueError:
                raise ValueError("date_of_birth: expected a date as YYYY-MM-DD") from None
        return data


class RecordIn(_Strict):
    controller: Id
    record_id: Id
    kind: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    created: datetime
    persons: list[PersonIn] = Field(max_length=10_000)
    narrative: Text = ""
    derived_from: list[Id] = Field(default_factory=list, max_length=1_000)

    @field_validator("created")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return _require_aware(value)

    @field_validator("persons")
    @classmethod
    def _unique_persons(cls, persons: list[PersonIn]) -> list[PersonIn]:
        seen: set[str] = set()
        for person in persons:
            if person.person_id in seen:
                raise ValueError("a person_id appears twice in one record; list each person once")
            seen.add(person.person_id)
        return persons

    def to_model(self) -> Record:
        registry().require(self.controller, field="controller")
        return Record(
            controller=self.controller,
            record_id=self.record_id,
            kind=self.kind,
            created=self.created,
            persons=tuple(Person(p.person_id, p.role, dict(p.data)) for p in self.persons),
            narrative=self.narrative,
            derived_from=tuple(dict.fromkeys(self.derived_from)),
        )


class ConsentIn(_Strict):
    consent_id: Id
    controller: Id
    person_id: Id
    recipient: Id
    purpose: Purpose
    categories: list[Category] = Field(min_length=1)
    expires: datetime

    @field_validator("expires")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return _require_aware(value)

    def to_model(self) -> Consent:
        registry().require(self.controller, field="controller")
        registry().require(self.recipient, field="recipient")
        return Consent(
            consent_id=self.consent_id,
            controller=self.controller,
            person_id=self.person_id,
            recipient=self.recipient,
            purpose=self.purpose,
            categories=frozenset(self.categories),
            expires=self.expires,
        )


class SubjectIdIn(_Strict):
    person_id: Id


class SubjectNameIn(_Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    date_of_birth: str

    @field_validator("date_of_birth")
    @classmethod
    def _date(cls, value: str) -> str:
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            raise ValueError("expected a date as YYYY-MM-DD") from None


def _subject_form(value: Any) -> str | None:
    if isinstance(value, dict):
        return "by_id" if "person_id" in value else "by_name"
    return None


Subject = Annotated[
    Annotated[SubjectIdIn, Tag("by_id")] | Annotated[SubjectNameIn, Tag("by_name")],
    Discriminator(_subject_form, custom_error_type="subject_form", custom_error_message="bad subject"),
]


class RequestIn(_Strict):
    request_id: Id
    requester: Id
    controller: Id
    direction: Direction
    purpose: Purpose
    legal_basis: ShortText
    justification: ShortText
    subject: Subject
    record_id: Id | None = None
    categories: list[Category] = Field(min_length=1)
    consent_id: Id | None = None

    def to_model(self) -> DisclosureRequest:
        registry().require(self.requester, field="requester")
        registry().require(self.controller, field="controller")
        if self.direction is Direction.OUTBOUND and self.record_id is None:
            raise BadInput("an outbound check names the case it is made for; got null", field="record_id")
        subject: SubjectById | SubjectByName
        if isinstance(self.subject, SubjectIdIn):
            subject = SubjectById(self.subject.person_id)
        else:
            subject = SubjectByName(self.subject.name, self.subject.date_of_birth)
        return DisclosureRequest(
            request_id=self.request_id,
            requester=self.requester,
            controller=self.controller,
            direction=self.direction,
            purpose=self.purpose,
            legal_basis=self.legal_basis,
            justification=self.justification,
            subject=subject,
            record_id=self.record_id,
            categories=tuple(dict.fromkeys(self.categories)),
            consent_id=self.consent_id,
        )


def _require_aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("expected an RFC 3339 timestamp with a time zone, e.g. 2026-03-01T10:00:00Z")
    return value


_WS = re.compile(r"\s+")


def normalise_name(name: str) -> str:
    """Case-folded, white space collapsed: the contract's matching rule for names."""
    return _WS.sub(" ", name).strip().casefold()


def _describe(exc: ValidationError) -> tuple[str, str]:
    """(field path, message) for the first problem pydantic found."""
    err = exc.errors(include_url=False)[0]
    loc = [str(part) for part in err["loc"] if part not in ("by_id", "by_name")]
    if err["type"] in ("subject_form", "union_tag_invalid") or (
        loc == ["subject", "name"] and err["type"] == "missing"
    ):
        return "subject", 'expected {"person_id": ...} or {"name": ..., "date_of_birth": ...}'
    path = ".".join(loc) or "(document)"
    kind = err["type"]
    if kind == "missing":
        return path, "required field is missing"
    if kind == "extra_forbidden":
        return path, "unknown field; see the contract for the fields this document takes"
    message = str(err["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    elif message.startswith("Input should be "):
        message = "expected " + message[len("Input should be ") :]
    leaf = loc[-1] if loc else ""
    if (leaf in _ECHOABLE or (len(loc) >= 2 and loc[-2] in _ECHOABLE)) and isinstance(
        err.get("input"), str | int | float | bool | None
    ):
        shown = str(err.get("input"))[:80]
        message = f"{message}, got {shown!r}"
    else:
        message = f"{message}, got a value of type {type(err.get('input')).__name__}"
    return path, message


def _parse(model: type[Any], document: Any) -> Any:
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        path, message = _describe(exc)
        raise BadInput(message, field=path) from None


def parse_json(text: str | bytes, *, what: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(
            f"expected one JSON object, got invalid JSON ({exc.__class__.__name__})", field=what
        ) from None


def parse_record(document: Any) -> Record:
    parsed: RecordIn = _parse(RecordIn, document)
    return parsed.to_model()


def parse_consent(document: Any) -> Consent:
    parsed: ConsentIn = _parse(ConsentIn, document)
    return parsed.to_model()


def parse_request(document: Any) -> DisclosureRequest:
    if not isinstance(document, dict):
        raise BadInput(f"expected a JSON object, got {type(document).__name__}", field="(request)")
    parsed: RequestIn = _parse(RequestIn, document)
    return parsed.to_model()


def iter_records_jsonl(stream: IO[bytes]) -> Iterator[tuple[int, Record]]:
    """(line number, record) from a JSON Lines stream, one at a time; an error names its line."""
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            document = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "bad UTF-8"
            raise IngestError(
                f"expected one JSON object per line, got invalid JSON ({reason})", line=number
            ) from None
        if not isinstance(document, dict):
            raise IngestError(f"expected a JSON object, got {type(document).__name__}", line=number)
        try:
            record = parse_record(document)
        except BadInput as exc:
            raise IngestError(exc.message, line=number, field=exc.field) from None
        yield number, record


def open_records(path: Path) -> IO[bytes]:
    try:
        return path.open("rb")
    except OSError as exc:
        raise BadInput(f"expected a readable JSON Lines file, got {exc.strerror}", field=str(path)) from None


def response_to_json(response: Any) -> dict[str, Any]:
    """The requester-facing response of the contract (§4), plus `explanation` when asked."""
    out: dict[str, Any] = {
        "request_id": response.request_id,
        "decision": response.decision.value,
        "disclosed": [],
        "receipt": {
            "log": response.receipt.log,
            "index": response.receipt.index,
            "leaf_hash": response.receipt.leaf_hash,
        },
    }
    for item in response.disclosed:
        entry: dict[str, Any] = {
            "record_id": item.record_id,
            "person_id": item.person_id,
            "data": dict(item.data),
        }
        if item.narrative is not None:
            entry["narrative"] = item.narrative
        out["disclosed"].append(entry)
    if response.explanation is not None:
        ex = response.explanation
        out["explanation"] = {
            "policies": list(ex.policies),
            "released": [c.value for c in ex.released],
            "withheld": [c.value for c in ex.withheld],
            "policy_version": ex.policy_version,
            "items_considered": ex.items_considered,
            "narrative_sentences_removed": ex.narrative_sentences_removed,
            "consent_applied": ex.consent_applied,
            "narrative_removals": [
                {
                    "record_id": r.record_id,
                    "category": r.category,
                    "start": r.start,
                    "end": r.end,
                    "action": r.action,
                }
                for r in ex.narrative_removals
            ],
        }
    return out
