"""The closed vocabularies and the frozen values that flow through the library.

Everything here is plain data: no I/O, no clock, no policy.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


class Capacity(enum.StrEnum):
    """The capacity in which a person's data was collected (the contract calls it `role`)."""

    VICTIM = "victim"
    WITNESS = "witness"
    SUSPECT = "suspect"
    OFFENDER = "offender"
    REPORTER = "reporter"
    PATIENT = "patient"
    PUPIL = "pupil"
    SERVICE_USER = "service_user"

    @property
    def protected(self) -> bool:
        return self not in UNPROTECTED_CAPACITIES


# Everything not listed here is protected. The contract (§5) names victim, witness, patient,
# pupil and service_user; safereport also protects `reporter` (a person who reports a crime is
# exactly whom the super-complaint is about), so the unprotected set is the closed allowlist.
UNPROTECTED_CAPACITIES = frozenset({Capacity.SUSPECT, Capacity.OFFENDER})
PROTECTED_CAPACITIES = frozenset(c for c in Capacity if c not in UNPROTECTED_CAPACITIES)


class Category(enum.StrEnum):
    IDENTITY = "identity"
    CONTACT = "contact"
    NATIONALITY = "nationality"
    IMMIGRATION_STATUS = "immigration_status"
    HEALTH = "health"
    NARRATIVE = "narrative"


# Which category each key of a person's `data` belongs to (contract §2).
FIELD_CATEGORIES: Mapping[str, Category] = {
    "name": Category.IDENTITY,
    "date_of_birth": Category.IDENTITY,
    "address": Category.CONTACT,
    "phone": Category.CONTACT,
    "email": Category.CONTACT,
    "nationality": Category.NATIONALITY,
    "immigration_status": Category.IMMIGRATION_STATUS,
    "health": Category.HEALTH,
}


class Purpose(enum.StrEnum):
    IMMIGRATION_ENFORCEMENT = "immigration_enforcement"
    CRIMINAL_INVESTIGATION = "criminal_investigation"
    PROSECUTION = "prosecution"
    SAFEGUARDING = "safeguarding"
    VICTIM_IMMIGRATION_APPLICATION = "victim_immigration_application"
    BENEFITS_ADMINISTRATION = "benefits_administration"
    TAX_ADMINISTRATION = "tax_administration"
    HEALTHCARE = "healthcare"
    OTHER = "other"


class Function(enum.StrEnum):
    IMMIGRATION_ENFORCEMENT = "immigration_enforcement"
    IMMIGRATION_CASEWORK = "immigration_casework"
    POLICING = "policing"
    PROSECUTION = "prosecution"
    COURTS = "courts"
    SAFEGUARDING = "safeguarding"
    HEALTHCARE = "healthcare"
    BENEFITS = "benefits"
    TAX = "tax"
    EDUCATION = "education"


class OrgKind(enum.StrEnum):
    POLICE_FORCE = "police_force"
    PROSECUTOR = "prosecutor"
    COURTS = "courts"
    HOME_OFFICE = "home_office"
    GOVERNMENT_DEPARTMENT = "government_department"
    LOCAL_AUTHORITY = "local_authority"
    GP_PRACTICE = "gp_practice"
    NHS_TRUST = "nhs_trust"
    SCHOOL = "school"


class Direction(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Decision(enum.StrEnum):
    PERMIT = "permit"
    DENY = "deny"


@dataclass(frozen=True, slots=True)
class Organisation:
    id: str
    name: str
    kind: OrgKind
    functions: frozenset[Function]


@dataclass(frozen=True, slots=True)
class Person:
    person_id: str
    role: Capacity
    data: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Record:
    controller: str
    record_id: str
    kind: str
    created: datetime
    persons: tuple[Person, ...]
    narrative: str
    derived_from: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Consent:
    consent_id: str
    controller: str
    person_id: str
    recipient: str
    purpose: Purpose
    categories: frozenset[Category]
    expires: datetime
    revoked_at: datetime | None = None

    def covers(
        self,
        *,
        controller: str,
        person_id: str,
        recipient: str,
        purpose: Purpose,
        category: Category,
        at: datetime,
    ) -> bool:
        return (
            self.revoked_at is None
            and at < self.expires
            and self.controller == controller
            and self.person_id == person_id
            and self.recipient == recipient
            and self.purpose == purpose
            and category in self.categories
        )


@dataclass(frozen=True, slots=True)
class SubjectById:
    person_id: str


@dataclass(frozen=True, slots=True)
class SubjectByName:
    name: str
    date_of_birth: str


Subject = SubjectById | SubjectByName


@dataclass(frozen=True, slots=True)
class DisclosureRequest:
    request_id: str
    requester: str
    controller: str
    direction: Direction
    purpose: Purpose
    legal_basis: str
    justification: str
    subject: Subject
    record_id: str | None
    categories: tuple[Category, ...]
    consent_id: str | None


@dataclass(frozen=True, slots=True)
class Receipt:
    log: str
    index: int
    leaf_hash: str


@dataclass(frozen=True, slots=True)
class DisclosedItem:
    record_id: str
    person_id: str
    data: Mapping[str, str]
    narrative: str | None = None


@dataclass(frozen=True, slots=True)
class NarrativeRemoval:
    """One thing the minimiser took out of a released narrative: where and why, never what."""

    record_id: str
    category: str
    start: int
    end: int
    action: str


@dataclass(frozen=True, slots=True)
class Explanation:
    """For the controller alone: never part of the requester-facing response."""

    policies: tuple[str, ...]
    withheld: tuple[Category, ...]
    released: tuple[Category, ...]
    policy_version: str
    items_considered: int
    narrative_sentences_removed: int
    consent_applied: bool
    narrative_removals: tuple[NarrativeRemoval, ...] = ()


@dataclass(frozen=True, slots=True)
class Response:
    request_id: str
    decision: Decision
    disclosed: tuple[DisclosedItem, ...]
    receipt: Receipt
    explanation: Explanation | None = field(default=None, compare=False)
