"""A deterministic synthetic national workload: records, consents and labelled requests.

Pure: no I/O and no clock; everything comes from `random.Random(seed)`. The generator keeps its
own knowledge of which (record_id, person_id) pairs hold data first collected in a protected
capacity (`Workload.truth`), computed here independently of the policy engine so that the demo
can check the firewall against it.
"""

from __future__ import annotations

import random
import string
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import TYPE_CHECKING, TypeVar

from safereport.demo import _synthetic as syn
from safereport.model import (
    Capacity,
    Category,
    Consent,
    DisclosureRequest,
    Direction,
    Function,
    OrgKind,
    Person,
    Purpose,
    Record,
    SubjectById,
    SubjectByName,
)
from safereport.orgs import registry

if TYPE_CHECKING:
    from _typeshed import SupportsLenAndGetItem

_T = TypeVar("_T")
_LETTERS = string.ascii_uppercase
_GROUPS = syn.NAME_GROUPS
_GROUP_CUM = list(accumulate(g[1] for g in _GROUPS))
_ADULT_DOBS = tuple(f"{y:04d}-{m:02d}-{d:02d}" for y in range(1940, 2007) for m in range(1, 13) for d in range(1, 29))
_CHILD_DOBS = tuple(f"{y:04d}-{m:02d}-{d:02d}" for y in range(2008, 2020) for m in range(1, 13) for d in range(1, 29))
_HOUSES = tuple(f"{n} {street}" for street in syn.STREETS for n in range(1, 181))
_INWARD = tuple(f"{d}{a}{b}" for d in range(1, 10) for a in "ABDEFGHJLNPQRSTUWXYZ" for b in "ABDEFGHJLNPQRSTUWXYZ")
_DOMAINS = ("example.com", "example.org", "example.net")

IE_SCOPE = "home-office-immigration-enforcement"
UKVI = "home-office-uk-visas-immigration"

# Every scenario label the generator emits, with a line a data protection officer can read.
SCENARIOS: dict[str, str] = {
    "lawful_force_to_force": "a force asks another force, criminal investigation",
    "cps_prosecution": "the CPS asks a force for a case file, prosecution",
    "safeguarding_council": "a council asks a force or GP, safeguarding",
    "gp_healthcare": "a GP practice asks another practice, healthcare",
    "dwp_benefits": "DWP asks a council, benefits administration",
    "ie_direct": "Immigration Enforcement or Border Force asks for a protected person",
    "ie_direct_suspect": "Immigration Enforcement asks a force about a suspect",
    "ie_relayed_via_force": "a force asks another force for immigration enforcement",
    "ie_disguised_purpose": "Immigration Enforcement states another purpose",
    "ie_derived_copy": "Immigration Enforcement asks for a victim copied into intelligence",
    "outbound_status_check_victim": "a force checks a victim's status with the Home Office",
    "outbound_status_check_suspect": "a force checks a suspect's status with the Home Office",
    "outbound_status_check_derived_victim": "status check on a victim listed as suspect in intelligence",
    "consent_misuse": "a consent given to UKVI named by someone else or for another purpose",
    "consent_valid": "UKVI uses a victim's valid consent within its scope",
    "consent_revoked": "UKVI names a consent the victim revoked",
    "consent_expired": "UKVI names an expired consent",
    "consent_beyond_scope": "UKVI asks for categories the consent does not cover",
    "unknown_subject": "Immigration Enforcement asks about a person nobody holds",
    "name_dob_lookup": "Immigration Enforcement looks a protected person up by name and birth date",
    "name_dob_lookup_lawful": "a force looks a person up by name and birth date",
}

_WEIGHTS: dict[str, int] = {
    "lawful_force_to_force": 14, "cps_prosecution": 6, "safeguarding_council": 7, "gp_healthcare": 7,
    "dwp_benefits": 2, "ie_direct": 10, "ie_direct_suspect": 4, "ie_relayed_via_force": 6,
    "ie_disguised_purpose": 6, "ie_derived_copy": 4, "outbound_status_check_victim": 7,
    "outbound_status_check_suspect": 5, "outbound_status_check_derived_victim": 3, "consent_misuse": 4,
    "consent_valid": 4, "consent_revoked": 2, "consent_expired": 2, "consent_beyond_scope": 2,
    "unknown_subject": 4, "name_dob_lookup": 5, "name_dob_lookup_lawful": 2,
}  # fmt: skip

_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
_SPAN_SECONDS = int((datetime(2026, 12, 31, tzinfo=UTC) - _EPOCH).total_seconds())
_MAX_DEPTH = 4
_BIG_FORCES = {"metropolitan-police-service": 5.0, "greater-manchester-police": 3.0,
               "west-midlands-police": 3.0, "west-yorkshire-police": 2.0, "thames-valley-police": 1.5}  # fmt: skip
_SKIP_WORDS = {"and", "of", "the", "for"}

# Which keys of a person's profile a record made in a given capacity holds, with probability.
_KEEP: dict[Capacity, tuple[tuple[str, float], ...]] = {
    Capacity.VICTIM: (("date_of_birth", 0.95), ("address", 0.9), ("phone", 0.7), ("email", 0.3),
                      ("nationality", 0.55), ("immigration_status", 0.6)),
    Capacity.WITNESS: (("date_of_birth", 0.7), ("address", 0.6), ("phone", 0.8), ("nationality", 0.3),
                       ("immigration_status", 0.3)),
    Capacity.REPORTER: (("date_of_birth", 0.4), ("address", 0.5), ("phone", 0.9), ("email", 0.2)),
    Capacity.SUSPECT: (("date_of_birth", 0.95), ("address", 0.7), ("nationality", 0.45),
                       ("immigration_status", 0.4)),
    Capacity.PATIENT: (("date_of_birth", 1.0), ("address", 1.0), ("phone", 0.8), ("email", 0.3),
                       ("health", 1.0), ("nationality", 0.3), ("immigration_status", 0.3)),
    Capacity.SERVICE_USER: (("date_of_birth", 0.95), ("address", 0.9), ("phone", 0.6), ("nationality", 0.5),
                            ("immigration_status", 0.6)),
    Capacity.PUPIL: (("date_of_birth", 1.0), ("address", 0.9), ("nationality", 0.3)),
}  # fmt: skip
_COPY_KEYS = (("date_of_birth", 0.9), ("address", 0.6), ("phone", 0.3), ("nationality", 0.5),
              ("immigration_status", 0.5))  # fmt: skip


@dataclass(frozen=True, slots=True)
class LabelledRequest:
    request: DisclosureRequest
    scenario: str


@dataclass(frozen=True, slots=True)
class Workload:
    seed: int
    records: tuple[Record, ...]
    consents: tuple[Consent, ...]
    revocations: tuple[str, ...]
    requests: tuple[LabelledRequest, ...]
    # (record_id, person_id) pairs whose data was first collected in a protected capacity,
    # directly or through any chain of `derived_from`.
    truth: frozenset[tuple[str, str]]


# A subject the request builders can aim at: controller index, person id, record id, profile.
_Entry = tuple[int, str, str, dict[str, str]]


@dataclass(slots=True)
class _Ctrl:
    org_id: str
    prefix: str
    sector: str  # "police", "gp" or "council"
    town: str
    postcode: str
    people: int = 0
    records: int = 0
    protected: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    suspects: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    crime_reports: list[int] = field(default_factory=list)
    open_intel: list[int] = field(default_factory=list)  # intelligence entries shallower than _MAX_DEPTH


class _Random(random.Random):
    """`random.Random` with float-based `choice` and `randint`: several times faster than the
    bit-exact originals, and just as deterministic for a given seed."""

    def choice(self, seq: SupportsLenAndGetItem[_T]) -> _T:
        return seq[int(self.random() * len(seq))]

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))


def _prefix(org_id: str, taken: set[str]) -> str:
    words = [w for w in org_id.split("-") if w not in _SKIP_WORDS] or [org_id]
    for extra in range(1, len(words[0]) + 1):
        candidate = (words[0][:extra] + "".join(w[0] for w in words[1:])).upper()
        if candidate not in taken:
            taken.add(candidate)
            return candidate
    n = 2
    while f"{words[0].upper()}{n}" in taken:
        n += 1
    taken.add(f"{words[0].upper()}{n}")
    return f"{words[0].upper()}{n}"


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = _Random(seed)
        self.r = self.rng.random
        reg = registry()
        taken: set[str] = set()
        # Big forces first, so that they get the short prefixes (MPS, GMP, WMP ...).
        ordered = sorted(reg, key=lambda org_id: org_id not in _BIG_FORCES)
        prefixes = {org_id: _prefix(org_id, taken) for org_id in ordered}
        self.ctrls: list[_Ctrl] = []
        sectors = ((OrgKind.POLICE_FORCE, "police"), (OrgKind.GP_PRACTICE, "gp"), (OrgKind.LOCAL_AUTHORITY, "council"))
        for kind, sector in sectors:
            for org in reg.of_kind(kind):
                self.ctrls.append(
                    _Ctrl(org.id, prefixes[org.id], sector, self.rng.choice(syn.TOWNS), self._area())
                )
        self.forces = [i for i, c in enumerate(self.ctrls) if c.sector == "police"]
        self.gps = [i for i, c in enumerate(self.ctrls) if c.sector == "gp"]
        self.councils = [i for i, c in enumerate(self.ctrls) if c.sector == "council"]
        self.ie_orgs = sorted(o.id for o in reg.with_function(Function.IMMIGRATION_ENFORCEMENT))
        self.ie_main = IE_SCOPE if IE_SCOPE in reg else self.ie_orgs[0]
        self.cps = sorted(o.id for o in reg.with_function(Function.PROSECUTION))[0]
        self.dwp = sorted(o.id for o in reg.with_function(Function.BENEFITS))[0]
        self.records: list[Record] = []
        self.depth: list[int] = []
        self.truth: set[tuple[str, str]] = set()
        # Pools the request builders draw from.
        self.force_victims: list[_Entry] = []
        self.force_protected: list[_Entry] = []
        self.force_suspects: list[_Entry] = []
        self.derived_protected: list[_Entry] = []
        self.gp_patients: list[_Entry] = []
        self.council_users: list[_Entry] = []

    def _area(self) -> str:
        return self.rng.choice(_LETTERS) + self.rng.choice(_LETTERS)

    # ---- people -------------------------------------------------------------------------------

    def _profile(self, c: _Ctrl, child: bool = False) -> tuple[str, dict[str, str]]:
        # The hot path of the generator: plain `r()` arithmetic over precomputed lists.
        r = self.r
        group = _GROUPS[bisect_right(_GROUP_CUM, r() * _GROUP_CUM[-1])]
        nationality = group[0]
        names = _GROUPS[int(r() * len(_GROUPS))] if nationality == "British" and r() < 0.35 else group
        firsts, lasts = names[2], names[3]
        first, last = firsts[int(r() * len(firsts))], lasts[int(r() * len(lasts))]
        dobs = _CHILD_DOBS if child else _ADULT_DOBS
        data = {
            "name": f"{first} {last}",
            "date_of_birth": dobs[int(r() * len(dobs))],
            "address": f"{_HOUSES[int(r() * len(_HOUSES))]}, {c.town} {c.postcode}{1 + int(r() * 29)} "
            f"{_INWARD[int(r() * len(_INWARD))]}",
            "phone": f"07700 900{int(r() * 1000):03d}",
            "email": f"{first}.{last}{1 + int(r() * 99)}@{_DOMAINS[int(r() * 3)]}".lower().replace(" ", ""),
            "nationality": nationality,
            "health": syn.HEALTH[int(r() * len(syn.HEALTH))],
        }
        if nationality != "British" and r() < 0.65:
            data["immigration_status"] = syn.IMMIGRATION_STATUSES[int(r() * len(syn.IMMIGRATION_STATUSES))]
        c.people += 1
        return f"{c.prefix}-P-{c.people:06d}", data

    def _person(self, pid: str, profile: dict[str, str], role: Capacity) -> Person:
        r = self.r
        data = {"name": profile["name"]}
        for key, p in _KEEP[role]:
            if key in profile and r() < p:
                data[key] = profile[key]
        return Person(pid, role, data)

    def _narrative(self, pool: tuple[str, ...], revealing: tuple[str, ...], p_reveal: float) -> str:
        rng = self.rng
        sentences = rng.sample(pool, rng.randint(1, 3))
        if self.r() < p_reveal:
            sentences.insert(rng.randint(0, len(sentences)), rng.choice(revealing))
        elif self.r() < 0.5:
            sentences.append(rng.choice(pool))
        return " ".join(dict.fromkeys(sentences))

    # ---- records ------------------------------------------------------------------------------

    def _record(self, ci: int, kind: str, code: str, created: datetime, persons: list[Person],
                narrative: str, derived_from: tuple[str, ...] = ()) -> Record:  # fmt: skip
        c = self.ctrls[ci]
        c.records += 1
        rec = Record(c.org_id, f"{c.prefix}-{code}-{c.records:06d}", kind, created, tuple(persons),
                     narrative, derived_from)  # fmt: skip
        self.records.append(rec)
        return rec

    def _crime_report(self, ci: int, created: datetime) -> None:
        c, r, rng = self.ctrls[ci], self.r, self.rng
        cast: list[tuple[str, dict[str, str], Capacity]] = []
        seen: set[str] = set()

        def add(who: tuple[str, dict[str, str]], role: Capacity) -> None:
            if who[0] not in seen:
                seen.add(who[0])
                cast.append((who[0], who[1], role))

        for _ in range(2 if r() < 0.15 else 1):
            if c.suspects and r() < 0.08:
                add(rng.choice(c.suspects), Capacity.VICTIM)  # dual role: a suspect elsewhere
            elif c.protected and r() < 0.03:
                add(rng.choice(c.protected), Capacity.VICTIM)  # repeat victim
            else:
                add(self._profile(c), Capacity.VICTIM)
        for _ in range(rng.choice((0, 0, 0, 1, 1, 2))):
            add(self._profile(c), Capacity.WITNESS)
        if r() < 0.25:
            add(self._profile(c), Capacity.REPORTER)
        for _ in range(rng.choice((0, 1, 1, 1, 1, 2))):
            if c.protected and r() < 0.12:
                add(rng.choice(c.protected), Capacity.SUSPECT)  # dual role: a victim elsewhere
            else:
                add(self._profile(c), Capacity.SUSPECT)
        any_foreign = any(prof["nationality"] != "British" for _, prof, _ in cast)
        narrative = self._narrative(syn.CRIME_SENTENCES, syn.REVEALING, 0.35 if any_foreign else 0.04)
        rec = self._record(ci, "crime_report", "CR", created, [self._person(p, d, role) for p, d, role in cast],
                           narrative)  # fmt: skip
        self.depth.append(0)
        c.crime_reports.append(len(self.records) - 1)
        rid = rec.record_id
        for pid, prof, role in cast:
            entry = (ci, pid, rid, prof)
            if role is Capacity.SUSPECT:
                c.suspects.append((pid, prof))
                self.force_suspects.append(entry)
            else:
                c.protected.append((pid, prof))
                self.truth.add((rid, pid))
                self.force_protected.append(entry)
                if role is Capacity.VICTIM:
                    self.force_victims.append(entry)

    def _intelligence(self, ci: int, created: datetime) -> None:
        c, r, rng = self.ctrls[ci], self.r, self.rng
        recent = c.crime_reports[-40:]
        sources: list[int] = []
        if c.open_intel and r() < 0.55:
            sources.append(rng.choice(c.open_intel[-12:]))
        else:
            sources.append(rng.choice(recent))
        if r() < 0.3:
            extra = rng.choice(recent)
            if extra not in sources:
                sources.append(extra)
        depth = 1 + max(self.depth[s] for s in sources)
        copied: list[tuple[Person, bool]] = []
        seen: set[str] = set()
        for s in sources:
            src = self.records[s]
            persons = src.persons
            prot = [p for p in persons if (src.record_id, p.person_id) in self.truth]
            for _ in range(rng.choice((1, 1, 2))):
                p = rng.choice(prot) if prot and r() < 0.75 else rng.choice(persons)
                if p.person_id in seen:
                    continue
                seen.add(p.person_id)
                is_prot = (src.record_id, p.person_id) in self.truth
                role = p.role
                if is_prot:
                    x = r()
                    role = Capacity.SUSPECT if x < 0.75 else Capacity.OFFENDER if x < 0.85 else p.role
                data = {"name": p.data["name"]}
                for key, prob in _COPY_KEYS:
                    if key in p.data and r() < prob:
                        data[key] = p.data[key]
                copied.append((Person(p.person_id, role, data), is_prot))
        newcomer: tuple[str, dict[str, str]] | None = None
        if r() < 0.3:
            newcomer = self._profile(c)
            copied.append((self._person(newcomer[0], newcomer[1], Capacity.SUSPECT), False))
            c.suspects.append(newcomer)
        narrative = self._narrative(syn.INTEL_SENTENCES, syn.REVEALING, 0.15)
        derived = tuple(self.records[s].record_id for s in sources)
        rec = self._record(ci, "intelligence_entry", "INT", created, [p for p, _ in copied], narrative, derived)
        self.depth.append(depth)
        if depth < _MAX_DEPTH:
            c.open_intel.append(len(self.records) - 1)
        if newcomer is not None:
            self.force_suspects.append((ci, newcomer[0], rec.record_id, newcomer[1]))
        for person, is_prot in copied:
            if is_prot:
                self.truth.add((rec.record_id, person.person_id))
                if not person.role.protected:
                    self.derived_protected.append((ci, person.person_id, rec.record_id, {}))

    def _single_subject(self, ci: int, created: datetime, kind: str, code: str) -> None:
        c, r, rng = self.ctrls[ci], self.r, self.rng
        cast: list[tuple[str, dict[str, str], Capacity]] = []
        if kind == "patient_record":
            pool, sentences, revealing = self.gp_patients, syn.GP_SENTENCES, syn.GP_REVEALING
            roles = [Capacity.PATIENT]
        else:
            pool, sentences, revealing = self.council_users, syn.COUNCIL_SENTENCES, syn.COUNCIL_REVEALING
            roles = [Capacity.PUPIL if r() < 0.15 else Capacity.SERVICE_USER]
            if r() < 0.2:
                roles.append(Capacity.SERVICE_USER)
        for role in roles:
            if c.protected and r() < 0.1 and not cast:
                pid, prof = rng.choice(c.protected)
            else:
                pid, prof = self._profile(c, child=role is Capacity.PUPIL)
                c.protected.append((pid, prof))
            cast.append((pid, prof, role))
        foreign = any(prof["nationality"] != "British" for _, prof, _ in cast)
        narrative = self._narrative(sentences, revealing, 0.3 if foreign else 0.03)
        rec = self._record(ci, kind, code, created, [self._person(p, d, role) for p, d, role in cast], narrative)
        self.depth.append(0)
        for pid, prof, _ in cast:
            self.truth.add((rec.record_id, pid))
            pool.append((ci, pid, rec.record_id, prof))

    def records_phase(self, n: int) -> None:
        weights: list[float] = []
        police_share, gp_share, council_share = 0.72, 0.14, 0.14
        police_w = sum(_BIG_FORCES.get(self.ctrls[i].org_id, 1.0) for i in self.forces)
        for c in self.ctrls:
            if c.sector == "police":
                weights.append(police_share * _BIG_FORCES.get(c.org_id, 1.0) / police_w)
            elif c.sector == "gp":
                weights.append(gp_share / max(1, len(self.gps)))
            else:
                weights.append(council_share / max(1, len(self.councils)))
        head = list(range(min(n, len(self.ctrls))))  # every controller holds something
        picks = head + self.rng.choices(range(len(self.ctrls)), weights=weights, k=n - len(head))
        step = _SPAN_SECONDS / max(n, 1)
        r = self.r
        for i, ci in enumerate(picks):
            created = _EPOCH + timedelta(seconds=int(i * step + r() * (step - 1)))
            sector = self.ctrls[ci].sector
            if sector == "police":
                if self.ctrls[ci].crime_reports and r() < 0.22:
                    self._intelligence(ci, created)
                else:
                    self._crime_report(ci, created)
            elif sector == "gp":
                self._single_subject(ci, created, "patient_record", "PR")
            else:
                self._single_subject(ci, created, "case_note", "CN")

    # ---- consents -----------------------------------------------------------------------------

    def consents_phase(self) -> tuple[list[Consent], list[str], dict[str, list[tuple[Consent, _Entry]]]]:
        rng = self.rng
        victims = self.force_victims
        kinds: dict[str, list[tuple[Consent, _Entry]]] = {"valid": [], "revoked": [], "expired": []}
        consents: list[Consent] = []
        if not victims:
            return consents, [], kinds
        count = max(12, len(victims) // 40)
        chosen = rng.sample(victims, min(count, len(victims)))
        order = ("valid", "revoked", "expired")
        for n, entry in enumerate(chosen):
            kind = order[n] if n < 3 else rng.choices(order, weights=(6, 2, 2))[0]
            ci, pid = entry[0], entry[1]
            cats = {Category.IDENTITY, Category.NARRATIVE}
            if self.r() < 0.3:
                cats |= {Category.NATIONALITY, Category.IMMIGRATION_STATUS}
            if kind == "expired":
                expires = datetime(2025, rng.randint(1, 6), rng.randint(1, 28), tzinfo=UTC)
            else:
                expires = datetime(rng.choice((2027, 2030)), rng.randint(1, 12), 1, tzinfo=UTC)
            consent = Consent(f"C-{n + 1:06d}", self.ctrls[ci].org_id, pid, UKVI,
                              Purpose.VICTIM_IMMIGRATION_APPLICATION, frozenset(cats), expires)  # fmt: skip
            consents.append(consent)
            kinds[kind].append((consent, entry))
        revocations = [c.consent_id for c, _ in kinds["revoked"]]
        return consents, revocations, kinds

    # ---- requests -----------------------------------------------------------------------------

    def requests_phase(self, n: int, kinds: dict[str, list[tuple[Consent, _Entry]]]) -> list[LabelledRequest]:
        rng, r = self.rng, self.r
        ctrls = self.ctrls
        counter = 0

        def req(label: str, requester: str, ci: int, purpose: Purpose, subject: SubjectById | SubjectByName,
                record_id: str | None, cats: tuple[Category, ...], basis: str, why: str,
                direction: Direction = Direction.INBOUND, consent_id: str | None = None) -> LabelledRequest:  # fmt: skip
            nonlocal counter
            counter += 1
            return LabelledRequest(
                DisclosureRequest(f"REQ-{counter:06d}", requester, ctrls[ci].org_id, direction, purpose,
                                  rng.choice(syn.LEGAL_BASES[basis]), rng.choice(syn.JUSTIFICATIONS[why]),
                                  subject, record_id, cats, consent_id),  # fmt: skip
                label,
            )

        def scoped(e: _Entry) -> str | None:
            return e[2] if r() < 0.5 else None

        def ie() -> str:
            return self.ie_main if r() < 0.8 or len(self.ie_orgs) < 2 else rng.choice(self.ie_orgs)

        def ie_cats() -> tuple[Category, ...]:
            return rng.choice(_IE_CATEGORIES)

        def other_force(ci: int) -> str:
            options = [i for i in rng.sample(self.forces, min(3, len(self.forces))) if i != ci]
            return ctrls[options[0] if options else ci].org_id

        def protected_any() -> _Entry | None:
            x = r()
            for pool in (self.force_protected if x < 0.65 else self.gp_patients if x < 0.82 else self.council_users,
                         self.force_protected, self.gp_patients, self.council_users):  # fmt: skip
                if pool:
                    return rng.choice(pool)
            return None

        def fuzz(name: str) -> str:
            parts = name.split()
            styles = (str.upper, str.lower, str.title, lambda s: s)
            out = (" " * rng.randint(1, 3)).join(rng.choice(styles)(p) for p in parts)
            return out + " " if r() < 0.15 else out

        def build(label: str) -> LabelledRequest | None:  # noqa: C901 - one branch per scenario
            if label == "lawful_force_to_force":
                pool = self.force_suspects if r() < 0.6 and self.force_suspects else self.force_protected
                if not pool:
                    return None
                e = rng.choice(pool)
                return req(label, other_force(e[0]), e[0], Purpose.CRIMINAL_INVESTIGATION, SubjectById(e[1]),
                           scoped(e), (Category.IDENTITY, Category.CONTACT, Category.NARRATIVE), "policing",
                           "policing")  # fmt: skip
            if label == "cps_prosecution":
                pool = self.force_suspects or self.force_protected
                if not pool:
                    return None
                e = rng.choice(pool)
                return req(label, self.cps, e[0], Purpose.PROSECUTION, SubjectById(e[1]), e[2],
                           (Category.IDENTITY, Category.CONTACT, Category.NARRATIVE), "prosecution", "prosecution")  # fmt: skip
            if label == "safeguarding_council":
                pool = self.force_victims if r() < 0.6 or not self.gp_patients else self.gp_patients
                if not pool or not self.councils:
                    return None
                e = rng.choice(pool)
                return req(label, ctrls[rng.choice(self.councils)].org_id, e[0], Purpose.SAFEGUARDING,
                           SubjectById(e[1]), scoped(e), (Category.IDENTITY, Category.CONTACT), "safeguarding",
                           "safeguarding")  # fmt: skip
            if label == "gp_healthcare":
                if not self.gp_patients:
                    return None
                e = rng.choice(self.gp_patients)
                others = [g for g in self.gps if g != e[0]] or [e[0]]
                return req(label, ctrls[rng.choice(others)].org_id, e[0], Purpose.HEALTHCARE, SubjectById(e[1]),
                           scoped(e), (Category.IDENTITY, Category.HEALTH), "healthcare", "healthcare")  # fmt: skip
            if label == "dwp_benefits":
                if not self.council_users:
                    return None
                e = rng.choice(self.council_users)
                return req(label, self.dwp, e[0], Purpose.BENEFITS_ADMINISTRATION, SubjectById(e[1]), scoped(e),
                           (Category.IDENTITY, Category.CONTACT), "benefits", "benefits")  # fmt: skip
            if label in ("ie_direct", "ie_disguised_purpose"):
                e = protected_any()
                if e is None:
                    return None
                if label == "ie_direct":
                    purpose, why = Purpose.IMMIGRATION_ENFORCEMENT, "immigration"
                else:
                    purpose, why = rng.choice(_DISGUISES), "disguised"
                return req(label, ie(), e[0], purpose, SubjectById(e[1]), scoped(e), ie_cats(), "immigration", why)
            if label == "ie_direct_suspect":
                if not self.force_suspects:
                    return None
                e = rng.choice(self.force_suspects)
                return req(label, ie(), e[0], Purpose.IMMIGRATION_ENFORCEMENT, SubjectById(e[1]), scoped(e),
                           ie_cats(), "immigration", "immigration")  # fmt: skip
            if label == "ie_relayed_via_force":
                if not self.force_protected:
                    return None
                e = rng.choice(self.force_protected)
                return req(label, other_force(e[0]), e[0], Purpose.IMMIGRATION_ENFORCEMENT, SubjectById(e[1]),
                           scoped(e), ie_cats(), "policing", "immigration")  # fmt: skip
            if label == "ie_derived_copy":
                if not self.derived_protected:
                    return None
                e = rng.choice(self.derived_protected)
                return req(label, ie(), e[0], Purpose.IMMIGRATION_ENFORCEMENT, SubjectById(e[1]), e[2],
                           ie_cats(), "immigration", "immigration")  # fmt: skip
            if label.startswith("outbound_status_check"):
                pool = {"outbound_status_check_victim": self.force_protected,
                        "outbound_status_check_suspect": self.force_suspects}.get(label, self.derived_protected)  # fmt: skip
                if not pool:
                    return None
                e = rng.choice(pool)
                return req(label, self.ie_main, e[0], Purpose.CRIMINAL_INVESTIGATION, SubjectById(e[1]), e[2],
                           _STATUS_CHECK, "policing", "policing", direction=Direction.OUTBOUND)  # fmt: skip
            if label.startswith("consent_"):
                every = kinds["valid"] + kinds["revoked"] + kinds["expired"]
                source = {"consent_revoked": kinds["revoked"], "consent_expired": kinds["expired"],
                          "consent_misuse": every}.get(label, kinds["valid"])  # fmt: skip
                if not source:
                    return None
                consent, e = rng.choice(source)
                scope = tuple(sorted(consent.categories))
                requester, purpose, basis, why = UKVI, Purpose.VICTIM_IMMIGRATION_APPLICATION, "consent", "consent"
                if label == "consent_misuse":
                    x = r()
                    if x < 0.4:
                        requester, purpose = ie(), Purpose.IMMIGRATION_ENFORCEMENT
                    elif x < 0.6:
                        requester = ie()
                    elif x < 0.8:
                        requester, purpose, basis = other_force(e[0]), Purpose.IMMIGRATION_ENFORCEMENT, "policing"
                    else:
                        purpose = Purpose.IMMIGRATION_ENFORCEMENT
                    scope = ie_cats()
                elif label == "consent_beyond_scope":
                    scope = tuple(sorted(set(_FULL) - consent.categories))
                return req(label, requester, e[0], purpose, SubjectById(e[1]), scoped(e), scope, basis, why,
                           consent_id=consent.consent_id)  # fmt: skip
            if label == "name_dob_lookup_lawful":
                pool = self.force_suspects or self.force_protected
                if not pool:
                    return None
                e = rng.choice(pool)
                subject = SubjectByName(fuzz(e[3]["name"]), e[3]["date_of_birth"])
                return req(label, other_force(e[0]), e[0], Purpose.CRIMINAL_INVESTIGATION, subject, None,
                           (Category.IDENTITY, Category.CONTACT), "policing", "policing")  # fmt: skip
            if label == "name_dob_lookup":
                e = protected_any()
                if e is None:
                    return None
                subject = SubjectByName(fuzz(e[3]["name"]), e[3]["date_of_birth"])
                return req(label, ie(), e[0], Purpose.IMMIGRATION_ENFORCEMENT, subject, scoped(e), ie_cats(),
                           "immigration", "immigration")  # fmt: skip
            return unknown()

        def unknown() -> LabelledRequest:
            ci = rng.randrange(len(ctrls))
            c = ctrls[ci]
            ghost = SubjectById(f"{c.prefix}-P-{c.people + 1 + rng.randrange(900_000):06d}")
            return req("unknown_subject", ie(), ci, Purpose.IMMIGRATION_ENFORCEMENT, ghost, None, ie_cats(),
                       "immigration", "immigration")  # fmt: skip

        labels = list(SCENARIOS)
        cum: list[int] = []
        total = 0
        for label in labels:
            total += _WEIGHTS[label]
            cum.append(total)
        head = labels[: min(n, len(labels))]
        plan = head + rng.choices(labels, cum_weights=cum, k=n - len(head))
        out: list[LabelledRequest] = []
        for label in plan:
            made = build(label)
            out.append(made if made is not None else unknown())
        return out


_FULL = tuple(Category)
_DISGUISES = (Purpose.SAFEGUARDING, Purpose.CRIMINAL_INVESTIGATION, Purpose.OTHER)
_STATUS_CHECK = (Category.IDENTITY, Category.NATIONALITY, Category.IMMIGRATION_STATUS)
_IE_CATEGORIES: tuple[tuple[Category, ...], ...] = (
    (Category.IDENTITY, Category.CONTACT),
    (Category.IDENTITY, Category.CONTACT, Category.NATIONALITY, Category.IMMIGRATION_STATUS),
    (Category.IDENTITY, Category.NATIONALITY, Category.IMMIGRATION_STATUS),
    (Category.IDENTITY, Category.CONTACT, Category.NARRATIVE),
    _FULL,
)


def generate_workload(seed: int, n_records: int = 100_000, n_requests: int = 20_000) -> Workload:
    """The synthetic national workload for `seed`: the same seed always gives the same workload.

    Records come in creation order (every `derived_from` points at an earlier record), so they
    can be ingested in one pass. At least one record per controller once `n_records` reaches the
    number of controllers; every scenario label once `n_requests` reaches `len(SCENARIOS)` and
    the records give each scenario something to aim at.
    """
    if n_records < 1:
        raise ValueError(f"n_records: expected at least 1, got {n_records}")
    if n_requests < 0:
        raise ValueError(f"n_requests: expected 0 or more, got {n_requests}")
    gen = _Generator(seed)
    gen.records_phase(n_records)
    consents, revocations, kinds = gen.consents_phase()
    requests = gen.requests_phase(n_requests, kinds)
    return Workload(
        seed=seed,
        records=tuple(gen.records),
        consents=tuple(consents),
        revocations=tuple(revocations),
        requests=tuple(requests),
        truth=frozenset(gen.truth),
    )

