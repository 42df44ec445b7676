"""The synthetic world: controllers, people, records (with derived intelligence chains) and
consents, and the generator's own record of which (record, person) pairs are protected."""

from __future__ import annotations

import random
import string
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import TYPE_CHECKING, TypeVar

from safereport.demo import _synthetic as syn
from safereport.model import Capacity, Category, Consent, Function, OrgKind, Person, Purpose, Record
from safereport.orgs import registry

if TYPE_CHECKING:
    from _typeshed import SupportsLenAndGetItem

_T = TypeVar("_T")
_LETTERS = string.ascii_uppercase
_GROUPS = syn.NAME_GROUPS
_GROUP_CUM = list(accumulate(g[1] for g in _GROUPS))
_ADULT_DOBS = tuple(
    f"{y:04d}-{m:02d}-{d:02d}" for y in range(1940, 2007) for m in range(1, 13) for d in range(1, 29)
)
_CHILD_DOBS = tuple(
    f"{y:04d}-{m:02d}-{d:02d}" for y in range(2008, 2020) for m in range(1, 13) for d in range(1, 29)
)
_HOUSES = tuple(f"{n} {street}" for street in syn.STREETS for n in range(1, 181))
_INWARD = tuple(
    f"{d}{a}{b}" for d in range(1, 10) for a in "ABDEFGHJLNPQRSTUWXYZ" for b in "ABDEFGHJLNPQRSTUWXYZ"
)
_DOMAINS = ("example.com", "example.org", "example.net")

IE_SCOPE = "home-office-immigration-enforcement"
UKVI = "home-office-uk-visas-immigration"

_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
_SPAN_SECONDS = int((datetime(2026, 12, 31, tzinfo=UTC) - _EPOCH).total_seconds())
_MAX_DEPTH = 4
_BIG_FORCES = {
    "metropolitan-police-service": 5.0,
    "greater-manchester-police": 3.0,
    "west-midlands-police": 3.0,
    "west-yorkshire-police": 2.0,
    "thames-valley-police": 1.5,
}
_SKIP_WORDS = {"and", "of", "the", "for"}

# Which keys of a person's profile a record made in a given capacity holds, with probability.
_KEEP: dict[Capacity, tuple[tuple[str, float], ...]] = {
    Capacity.VICTIM: (
        ("date_of_birth", 0.95),
        ("address", 0.9),
        ("phone", 0.7),
        ("email", 0.3),
        ("nationality", 0.55),
        ("immigration_status", 0.6),
    ),
    Capacity.WITNESS: (
        ("date_of_birth", 0.7),
        ("address", 0.6),
        ("phone", 0.8),
        ("nationality", 0.3),
        ("immigration_status", 0.3),
    ),
    Capacity.REPORTER: (("date_of_birth", 0.4), ("address", 0.5), ("phone", 0.9), ("email", 0.2)),
    Capacity.SUSPECT: (
        ("date_of_birth", 0.95),
        ("address", 0.7),
        ("nationality", 0.45),
        ("immigration_status", 0.4),
    ),
    Capacity.PATIENT: (
        ("date_of_birth", 1.0),
        ("address", 1.0),
        ("phone", 0.8),
        ("email", 0.3),
        ("health", 1.0),
        ("nationality", 0.3),
        ("immigration_status", 0.3),
    ),
    Capacity.SERVICE_USER: (
        ("date_of_birth", 0.95),
        ("address", 0.9),
        ("phone", 0.6),
        ("nationality", 0.5),
        ("immigration_status", 0.6),
    ),
    Capacity.PUPIL: (("date_of_birth", 1.0), ("address", 0.9), ("nationality", 0.3)),
}
_COPY_KEYS = (
    ("date_of_birth", 0.9),
    ("address", 0.6),
    ("phone", 0.3),
    ("nationality", 0.5),
    ("immigration_status", 0.5),
)


# A subject the request builders can aim at: controller index, person id, record id, and the
# data that record holds about them.
Entry = tuple[int, str, str, Mapping[str, str]]


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


class World:
    """The records and consents of one seed, with the pools of subjects requests aim at."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = _Random(seed)
        self.r = self.rng.random
        reg = registry()
        taken: set[str] = set()
        # Big forces first, so that they get the short prefixes (MPS, GMP, WMP ...).
        ordered = sorted(reg, key=lambda org_id: org_id not in _BIG_FORCES)
        prefixes = {org_id: _prefix(org_id, taken) for org_id in ordered}
        self.ctrls: list[_Ctrl] = []
        sectors = (
            (OrgKind.POLICE_FORCE, "police"),
            (OrgKind.GP_PRACTICE, "gp"),
            (OrgKind.LOCAL_AUTHORITY, "council"),
        )
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
        self.force_victims: list[Entry] = []
        self.force_protected: list[Entry] = []
        self.force_suspects: list[Entry] = []
        self.derived_protected: list[Entry] = []
        self.gp_patients: list[Entry] = []
        self.council_users: list[Entry] = []

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
        """One to four sentences; with probability `p_reveal` one of them reveals status."""
        r, n = self.r, len(pool)
        sentences = [pool[int(r() * n)] for _ in range(1 + int(r() * 3))]
        if r() < p_reveal:
            sentences.insert(int(r() * (len(sentences) + 1)), revealing[int(r() * len(revealing))])
        return " ".join(dict.fromkeys(sentences))

    # ---- records ------------------------------------------------------------------------------

    def _record(
        self,
        ci: int,
        kind: str,
        code: str,
        created: datetime,
        persons: list[Person],
        narrative: str,
        derived_from: tuple[str, ...] = (),
    ) -> Record:
        c = self.ctrls[ci]
        c.records += 1
        rec = Record(
            c.org_id,
            f"{c.prefix}-{code}-{c.records:06d}",
            kind,
            created,
            tuple(persons),
            narrative,
            derived_from,
        )
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
        rec = self._record(
            ci, "crime_report", "CR", created, [self._person(p, d, role) for p, d, role in cast], narrative
        )
        self.depth.append(0)
        c.crime_reports.append(len(self.records) - 1)
        rid = rec.record_id
        for (pid, prof, role), person in zip(cast, rec.persons, strict=True):
            entry = (ci, pid, rid, person.data)
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
        source_ids = tuple(self.records[s].record_id for s in sources)
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
                # Protected if any source collected them in a protected capacity.
                is_prot = any((rid, p.person_id) in self.truth for rid in source_ids)
                role = p.role
                if is_prot:
                    x = r()
                    role = Capacity.SUSPECT if x < 0.75 else Capacity.OFFENDER if x < 0.85 else p.role
                data = {"name": p.data["name"]}
                for key, prob in _COPY_KEYS:
                    if key in p.data and r() < prob:
                        data[key] = p.data[key]
                copied.append((Person(p.person_id, role, data), is_prot))
        newcomer: Person | None = None
        if r() < 0.3:  # someone the intelligence adds: a suspect first recorded here
            pid, profile = self._profile(c)
            newcomer = self._person(pid, profile, Capacity.SUSPECT)
            copied.append((newcomer, False))
            c.suspects.append((pid, profile))
        narrative = self._narrative(syn.INTEL_SENTENCES, syn.REVEALING, 0.15)
        rec = self._record(
            ci, "intelligence_entry", "INT", created, [p for p, _ in copied], narrative, source_ids
        )
        self.depth.append(depth)
        if depth < _MAX_DEPTH:
            c.open_intel.append(len(self.records) - 1)
        if newcomer is not None:
            self.force_suspects.append((ci, newcomer.person_id, rec.record_id, newcomer.data))
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
        rec = self._record(
            ci, kind, code, created, [self._person(p, d, role) for p, d, role in cast], narrative
        )
        self.depth.append(0)
        for person in rec.persons:
            self.truth.add((rec.record_id, person.person_id))
            pool.append((ci, person.person_id, rec.record_id, person.data))

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

    def consents_phase(self) -> tuple[list[Consent], list[str], dict[str, list[tuple[Consent, Entry]]]]:
        rng = self.rng
        victims = self.force_victims
        kinds: dict[str, list[tuple[Consent, Entry]]] = {"valid": [], "revoked": [], "expired": []}
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
            consent = Consent(
                # Seeded, so a second demo on the same store never collides with another seed's.
                f"DEMO-{self.seed}-C-{n + 1:06d}",
                self.ctrls[ci].org_id,
                pid,
                UKVI,
                Purpose.VICTIM_IMMIGRATION_APPLICATION,
                frozenset(cats),
                expires,
            )
            consents.append(consent)
            kinds[kind].append((consent, entry))
        revocations = [c.consent_id for c, _ in kinds["revoked"]]
        return consents, revocations, kinds
