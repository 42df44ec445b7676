"""The audit entry: what the Data Protection Act 2018 s.62 asks a log of disclosures to hold.

s.62 asks for the justification, the date and time, the identity of who consulted or
disclosed the data and, as far as possible, of the recipients. An entry holds the request's
keyed digest, requester (recipient), controller, purpose, legal basis and justification,
direction, decision, the policies that decided, the categories released and withheld, the
records released from, the policy version hash, the consent id and the time.

No plaintext personal data: the subject appears only as keyed hashes (HMAC-SHA256 with the
deployment's secret), and the requester's free texts are scrubbed of the subject's
identifiers before they are logged. A random salt makes each entry's hash unguessable, so the
hashes can be published to oversight bodies.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from safereport.model import Category, Decision, DisclosureRequest, SubjectById
from safereport.wire import normalise_name

ENTRY_VERSION = 1


def _hmac(key: bytes, *parts: str) -> str:
    return hmac.new(key, "\x00".join(parts).encode("utf-8"), hashlib.sha256).hexdigest()


def person_key(key: bytes, controller: str, person_id: str) -> str:
    """The keyed hash that stands for one person of one controller in every entry."""
    return _hmac(key, "person", controller, person_id)


def query_key(key: bytes, request: DisclosureRequest) -> str:
    """The keyed hash of what the request asked for: the same for every request about that subject."""
    subject = request.subject
    if isinstance(subject, SubjectById):
        return _hmac(key, "query-id", request.controller, subject.person_id)
    return _hmac(key, "query-name", request.controller, normalise_name(subject.name), subject.date_of_birth)


def request_digest(key: bytes, request: DisclosureRequest) -> str:
    """A keyed digest of the whole request, so a controller can match a request it kept."""
    canonical = json.dumps(
        request_document(request), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return _hmac(key, "request", canonical)


def request_document(request: DisclosureRequest) -> dict[str, Any]:
    subject = request.subject
    return {
        "request_id": request.request_id,
        "requester": request.requester,
        "controller": request.controller,
        "direction": request.direction.value,
        "purpose": request.purpose.value,
        "legal_basis": request.legal_basis,
        "justification": request.justification,
        "subject": {"person_id": subject.person_id}
        if isinstance(subject, SubjectById)
        else {"name": subject.name, "date_of_birth": subject.date_of_birth},
        "record_id": request.record_id,
        "categories": [c.value for c in request.categories],
        "consent_id": request.consent_id,
    }


def scrub(text: str, identifiers: Iterable[str]) -> str:
    """`text` with every identifier of the subject (any case, any spacing) replaced by [subject]."""
    folded = " ".join(text.split()).casefold()
    present = {
        i for i in identifiers if len(i.strip()) >= 3 and " ".join(i.split()).casefold() in folded
    }  # the common case, nothing to scrub, costs no regular expression
    for identifier in sorted(present, key=len, reverse=True):
        pattern = r"\s+".join(re.escape(part) for part in identifier.split())
        text = re.sub(pattern, "[subject]", text, flags=re.IGNORECASE)
    return text


@dataclass(frozen=True, slots=True)
class AuditEntry:
    time: datetime
    request_id: str
    request_digest: str
    requester: str
    controller: str
    direction: str
    purpose: str
    legal_basis: str
    justification: str
    subject: str
    subject_persons: tuple[str, ...]
    record_scope: str | None
    categories_requested: tuple[str, ...]
    decision: Decision
    policies: tuple[str, ...]
    released: Mapping[str, int]
    withheld: tuple[str, ...]
    records_released: tuple[str, ...]
    policy_version: str
    consent_id: str | None
    consent_applied: bool
    salt: str = field(default_factory=lambda: secrets.token_hex(16))

    def to_document(self) -> dict[str, Any]:
        return {
            "v": ENTRY_VERSION,
            "salt": self.salt,
            "time": self.time.isoformat().replace("+00:00", "Z"),
            "request_id": self.request_id,
            "request_digest": self.request_digest,
            "requester": self.requester,
            "controller": self.controller,
            "direction": self.direction,
            "purpose": self.purpose,
            "legal_basis": self.legal_basis,
            "justification": self.justification,
            "subject": self.subject,
            "subject_persons": list(self.subject_persons),
            "record_scope": self.record_scope,
            "categories_requested": list(self.categories_requested),
            "decision": self.decision.value,
            "policies": list(self.policies),
            "released": dict(sorted(self.released.items())),
            "withheld": list(self.withheld),
            "records_released": list(self.records_released),
            "policy_version": self.policy_version,
            "consent_id": self.consent_id,
            "consent_applied": self.consent_applied,
        }

    def to_bytes(self) -> bytes:
        return canonical(self.to_document())


def canonical(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


REQUIRED_FIELDS = frozenset(
    {
        "v", "salt", "time", "request_id", "request_digest", "requester", "controller", "direction",
        "purpose", "legal_basis", "justification", "subject", "subject_persons", "record_scope",
        "categories_requested", "decision", "policies", "released", "withheld", "records_released",
        "policy_version", "consent_id", "consent_applied",
    }
)  # fmt: skip

CATEGORY_VALUES = frozenset(c.value for c in Category)
