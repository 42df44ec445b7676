"""The subject view: a person, or their advocate, sees every request about their data.

A controller issues a reference and an access code to one of its data subjects. The store
keeps the reference, the controller, the person only as the audit log's keyed person hash
(`person_key`), and the code only as a hash; the code is shown once. With both, the subject
sees every audit entry that names that person: when, which body, the stated purpose, the
direction and the outcome. Nothing about anyone else: an entry is shown only if it names this
person, and only its organisation, purpose, direction, decision and released categories.

A wrong code, an unknown reference and a revoked reference fail alike (`NotAuthenticated`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import select, update

from safereport.audit import person_key
from safereport.audit.keys import load_or_create_subject_key
from safereport.errors import AuditError, BadInput, NotAuthenticated, StoreError
from safereport.orgs import Registry, registry
from safereport.store import tables

if TYPE_CHECKING:
    from safereport.firewall import Firewall

__all__ = [
    "HistoryEntry",
    "IssuedAccess",
    "SubjectHistory",
    "issue_access",
    "normalise_code",
    "normalise_reference",
    "revoke_access",
    "subject_history",
]

# Crockford's base 32: no I, L, O or U, so a code read aloud or copied by hand survives.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
_REFERENCE = re.compile(r"^SR([0-9A-HJKMNP-TV-Z]{8})$")
_REFERENCE_CHARS = 8  # 40 bits: a label, not a secret
_CODE_CHARS = 16  # 80 bits: the secret
_PERSON_ID_MAX = 200
_REFUSED = "expected a valid reference and access code"


@dataclass(frozen=True, slots=True)
class IssuedAccess:
    reference: str
    code: str  # shown once; only its hash is kept
    controller: str
    person_held: bool  # whether the controller holds any record of this person now


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    index: int  # the entry's index in the transparency log
    time: datetime
    requester: str
    requester_name: str
    purpose: str
    direction: str
    outcome: str  # "disclosed" or "refused"
    categories_disclosed: tuple[str, ...]

    def to_document(self) -> dict[str, Any]:
        return {
            "log_index": self.index,
            "time": self.time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "requester": self.requester,
            "requester_name": self.requester_name,
            "purpose": self.purpose,
            "direction": self.direction,
            "outcome": self.outcome,
            "categories_disclosed": list(self.categories_disclosed),
        }


@dataclass(frozen=True, slots=True)
class SubjectHistory:
    reference: str
    controller: str
    controller_name: str
    entries: tuple[HistoryEntry, ...]

    def to_document(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "controller": self.controller,
            "controller_name": self.controller_name,
            "entries": [e.to_document() for e in self.entries],
        }


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _group(chars: str) -> str:
    return "-".join(chars[i : i + 4] for i in range(0, len(chars), 4))


def _compact(value: str) -> str:
    return "".join(value.split()).replace("-", "").upper().translate(_CONFUSABLE)


def normalise_reference(value: str) -> str | None:
    """`SR-XXXX-XXXX` from what a person typed (any case, spaces, O for 0); None if malformed."""
    match = _REFERENCE.match(_compact(value)) if len(value) <= 64 else None
    return f"SR-{_group(match.group(1))}" if match else None


def normalise_code(value: str) -> str | None:
    """The code's 16 characters from what a person typed; None if malformed."""
    compact = _compact(value) if len(value) <= 64 else ""
    if len(compact) != _CODE_CHARS or any(c not in _ALPHABET for c in compact):
        return None
    return compact


def _code_digest(reference: str, code: str) -> str:
    message = f"safereport-subject-code-v1\x00{reference}\x00{code}".encode("ascii")
    return hashlib.sha256(message).hexdigest()


def _random(chars: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(chars))


def issue_access(fw: Firewall, controller: str, person_id: str) -> IssuedAccess:
    """A new reference and access code for one person of `controller`; the code is shown once."""
    registry().require(controller, field="controller")
    if not isinstance(person_id, str) or not person_id.strip() or len(person_id) > _PERSON_ID_MAX:
        raise BadInput(f"expected a person id of 1 to {_PERSON_ID_MAX} characters", field="person_id")
    key = person_key(load_or_create_subject_key(fw.settings.keys_path), controller, person_id)
    sa, persons = tables.subject_access, tables.persons
    code = _random(_CODE_CHARS)
    with fw.store.write() as conn:
        held = (
            conn.execute(
                select(persons.c.id)
                .where(persons.c.controller == controller, persons.c.person_id == person_id)
                .limit(1)
            ).first()
            is not None
        )
        for _ in range(16):
            reference = f"SR-{_group(_random(_REFERENCE_CHARS))}"
            if conn.execute(select(sa.c.reference).where(sa.c.reference == reference)).first() is None:
                break
        else:
            raise StoreError("could not draw an unused subject-access reference; try again")
        conn.execute(
            sa.insert().values(
                reference=reference,
                controller=controller,
                person_key=key,
                code_sha256=_code_digest(reference, code),
                created_at=fw.clock(),
                revoked_at=None,
            )
        )
    return IssuedAccess(reference, _group(code), controller, held)


def revoke_access(fw: Firewall, reference: str) -> bool:
    """Revoke a reference for good; False if it was already revoked. An unknown one is bad input."""
    normal = normalise_reference(reference)
    unknown = BadInput("expected a reference issued by `safereport subject-access issue`", field="reference")
    if normal is None:
        raise unknown
    sa = tables.subject_access
    with fw.store.write() as conn:
        row = conn.execute(select(sa.c.revoked_at).where(sa.c.reference == normal)).first()
        if row is None:
            raise unknown
        if row.revoked_at is not None:
            return False
        conn.execute(update(sa).where(sa.c.reference == normal).values(revoked_at=fw.clock()))
    return True


def subject_history(fw: Firewall, reference: str, code: str) -> SubjectHistory:
    """Every audit entry that names the person behind `reference`, if `code` is its code.

    A malformed, unknown or revoked reference and a wrong code all raise the same
    `NotAuthenticated`, after the same work (one lookup and one hash).
    """
    normal_reference = normalise_reference(reference) if isinstance(reference, str) else None
    normal_code = normalise_code(code) if isinstance(code, str) else None
    sa = tables.subject_access
    with fw.store.read() as conn:
        row = conn.execute(
            select(sa.c.controller, sa.c.person_key, sa.c.code_sha256, sa.c.revoked_at).where(
                sa.c.reference == (normal_reference or "")
            )
        ).first()
        presented = _code_digest(normal_reference or "", normal_code or "")
        stored = row.code_sha256 if row is not None else "0" * 64
        matches = hmac.compare_digest(presented, stored)
        if row is None or row.revoked_at is not None or normal_code is None or not matches:
            raise NotAuthenticated(_REFUSED)
        controller, key = str(row.controller), str(row.person_key)
        log = tables.audit_log
        candidates = conn.execute(
            select(log.c.idx, log.c.entry)
            .where(log.c.entry.contains(key, autoescape=True))
            .order_by(log.c.idx)
        ).all()
    entries: list[HistoryEntry] = []
    reg = registry()
    for index, text in candidates:
        entry = _history_entry(int(index), text, controller, key, reg)
        if entry is not None:
            entries.append(entry)
    org = reg.get(controller)
    return SubjectHistory(normal_reference or "", controller, org.name if org else controller, tuple(entries))


def _history_entry(index: int, text: str, controller: str, key: str, reg: Registry) -> HistoryEntry | None:
    """The entry as the subject sees it, if it names this person of this controller.

    An entry that mentions the person's hash but cannot be read stops the whole history: an
    incomplete history would tell the subject less than the log holds.
    """
    try:
        doc = orjson.loads(text)
        if doc.get("controller") != controller or key not in doc.get("subject_persons", ()):
            return None
        time = datetime.fromisoformat(str(doc["time"]).replace("Z", "+00:00"))
        if time.tzinfo is None:
            raise ValueError("naive time")
        requester = str(doc["requester"])
        released = doc.get("released") or {}
        disclosed = str(doc["decision"]) == "permit" and bool(released)
        org = reg.get(requester)
        return HistoryEntry(
            index=index,
            time=time.astimezone(UTC),
            requester=requester,
            requester_name=org.name if org else requester,
            purpose=str(doc["purpose"]),
            direction=str(doc["direction"]),
            outcome="disclosed" if disclosed else "refused",
            categories_disclosed=tuple(sorted(str(c) for c, n in released.items() if n)) if disclosed else (),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        raise AuditError(
            f"audit entry {index} names this person but cannot be read; run `safereport audit verify`"
        ) from None
