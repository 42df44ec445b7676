"""The labelled requests: lawful flows, immigration-enforcement attempts in every disguise the
demo knows, consent use and misuse, unknown subjects and name lookups."""

from __future__ import annotations

from dataclasses import dataclass

from safereport.demo import _synthetic as syn
from safereport.demo.world import UKVI, Entry, World
from safereport.model import (
    Category,
    Consent,
    Direction,
    DisclosureRequest,
    Purpose,
    SubjectById,
    SubjectByName,
)

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
    "lawful_force_to_force": 14,
    "cps_prosecution": 6,
    "safeguarding_council": 7,
    "gp_healthcare": 7,
    "dwp_benefits": 2,
    "ie_direct": 10,
    "ie_direct_suspect": 4,
    "ie_relayed_via_force": 6,
    "ie_disguised_purpose": 6,
    "ie_derived_copy": 4,
    "outbound_status_check_victim": 7,
    "outbound_status_check_suspect": 5,
    "outbound_status_check_derived_victim": 3,
    "consent_misuse": 4,
    "consent_valid": 4,
    "consent_revoked": 2,
    "consent_expired": 2,
    "consent_beyond_scope": 2,
    "unknown_subject": 4,
    "name_dob_lookup": 5,
    "name_dob_lookup_lawful": 2,
}


@dataclass(frozen=True, slots=True)
class LabelledRequest:
    request: DisclosureRequest
    scenario: str


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


_I, _C, _N = Category.IDENTITY, Category.CONTACT, Category.NARRATIVE
_IE = Purpose.IMMIGRATION_ENFORCEMENT
_CI = Purpose.CRIMINAL_INVESTIGATION
# scenario -> (subjects drawn from, requester, purpose (None: a disguise), record_id scope,
#              categories (None: what immigration enforcement asks for), legal basis, justification)
_PLAN: dict[str, tuple[str, str, Purpose | None, str, tuple[Category, ...] | None, str, str]] = {
    "lawful_force_to_force": ("any_force", "other_force", _CI, "maybe", (_I, _C, _N), "policing", "policing"),
    "cps_prosecution": (
        "any_force",
        "cps",
        Purpose.PROSECUTION,
        "always",
        (_I, _C, _N),
        "prosecution",
        "prosecution",
    ),
    "safeguarding_council": (
        "victim_or_patient",
        "council",
        Purpose.SAFEGUARDING,
        "maybe",
        (_I, _C),
        "safeguarding",
        "safeguarding",
    ),
    "gp_healthcare": (
        "gp_patients",
        "other_gp",
        Purpose.HEALTHCARE,
        "maybe",
        (_I, Category.HEALTH),
        "healthcare",
        "healthcare",
    ),
    "dwp_benefits": (
        "council_users",
        "dwp",
        Purpose.BENEFITS_ADMINISTRATION,
        "maybe",
        (_I, _C),
        "benefits",
        "benefits",
    ),
    "ie_direct": ("protected_any", "ie", _IE, "maybe", None, "immigration", "immigration"),
    "ie_direct_suspect": ("force_suspects", "ie", _IE, "maybe", None, "immigration", "immigration"),
    "ie_relayed_via_force": ("force_protected", "other_force", _IE, "maybe", None, "policing", "immigration"),
    "ie_disguised_purpose": ("protected_any", "ie", None, "maybe", None, "immigration", "disguised"),
    "ie_derived_copy": ("derived_protected", "ie", _IE, "always", None, "immigration", "immigration"),
    "outbound_status_check_victim": (
        "force_protected",
        "ie_main",
        _CI,
        "always",
        _STATUS_CHECK,
        "policing",
        "policing",
    ),
    "outbound_status_check_suspect": (
        "force_suspects",
        "ie_main",
        _CI,
        "always",
        _STATUS_CHECK,
        "policing",
        "policing",
    ),
    "outbound_status_check_derived_victim": (
        "derived_protected",
        "ie_main",
        _CI,
        "always",
        _STATUS_CHECK,
        "policing",
        "policing",
    ),
    "name_dob_lookup": ("protected_any", "ie", _IE, "maybe", None, "immigration", "immigration"),
    "name_dob_lookup_lawful": ("any_force", "other_force", _CI, "never", (_I, _C), "policing", "policing"),
}
_BY_NAME = frozenset({"name_dob_lookup", "name_dob_lookup_lawful"})


def make_requests(
    world: World, n: int, kinds: dict[str, list[tuple[Consent, Entry]]]
) -> list[LabelledRequest]:
    """`n` labelled requests: every scenario once (where the world allows), then by weight."""

    rng, r, ctrls = world.rng, world.r, world.ctrls
    pools: dict[str, tuple[tuple[float, list[Entry]], ...]] = {
        "force_protected": ((1.0, world.force_protected),),
        "force_suspects": ((1.0, world.force_suspects),),
        "gp_patients": ((1.0, world.gp_patients),),
        "council_users": ((1.0, world.council_users),),
        "derived_protected": ((1.0, world.derived_protected),),
        "any_force": ((0.6, world.force_suspects), (1.0, world.force_protected)),
        "victim_or_patient": ((0.6, world.force_victims), (1.0, world.gp_patients)),
        "protected_any": (
            (0.65, world.force_protected),
            (0.82, world.gp_patients),
            (1.0, world.council_users),
        ),
    }
    every_consent = kinds["valid"] + kinds["revoked"] + kinds["expired"]
    consent_pools = {
        "consent_valid": kinds["valid"],
        "consent_beyond_scope": kinds["valid"],
        "consent_revoked": kinds["revoked"],
        "consent_expired": kinds["expired"],
        "consent_misuse": every_consent,
    }
    out: list[LabelledRequest] = []

    def pick(pool: str) -> Entry | None:
        options, x = pools[pool], r()
        for threshold, entries in options:
            if x < threshold and entries:
                return rng.choice(entries)
        return next((rng.choice(entries) for _, entries in options if entries), None)

    def ie() -> str:
        return world.ie_main if r() < 0.8 else rng.choice(world.ie_orgs)

    def other(among: list[int], ci: int) -> str:
        options = [i for i in among if i != ci] or among or [ci]
        return ctrls[rng.choice(options)].org_id

    def who(kind: str, ci: int) -> str:
        if kind == "ie":
            return ie()
        if kind == "other_force":
            return other(world.forces, ci)
        if kind == "other_gp":
            return other(world.gps, ci)
        if kind == "council":
            return other(world.councils, -1)
        return {"cps": world.cps, "dwp": world.dwp, "ie_main": world.ie_main}[kind]

    def fuzz(name: str) -> str:  # what a requester types: any case, any spacing
        styles = (str.upper, str.lower, str.title, str.strip)
        typed = (" " * rng.randint(1, 3)).join(rng.choice(styles)(p) for p in name.split())
        return typed + " " if r() < 0.15 else typed

    def add(
        label: str,
        requester: str,
        e: Entry,
        purpose: Purpose,
        subject: SubjectById | SubjectByName,
        record_id: str | None,
        cats: tuple[Category, ...],
        basis: str,
        why: str,
        direction: Direction = Direction.INBOUND,
        consent_id: str | None = None,
    ) -> None:
        request = DisclosureRequest(
            f"REQ-{len(out) + 1:06d}",
            requester,
            ctrls[e[0]].org_id,
            direction,
            purpose,
            rng.choice(syn.LEGAL_BASES[basis]),
            rng.choice(syn.JUSTIFICATIONS[why]),
            subject,
            record_id,
            cats,
            consent_id,
        )
        out.append(LabelledRequest(request, label))

    def unknown() -> None:
        ci = rng.randrange(len(ctrls))
        c = ctrls[ci]
        ghost = f"{c.prefix}-P-{c.people + 1 + rng.randrange(900_000):06d}"  # beyond every id issued
        add(
            "unknown_subject",
            ie(),
            (ci, ghost, "", {}),
            Purpose.IMMIGRATION_ENFORCEMENT,
            SubjectById(ghost),
            None,
            rng.choice(_IE_CATEGORIES),
            "immigration",
            "immigration",
        )

    def consent_case(label: str) -> bool:
        if not consent_pools[label]:
            return False
        consent, e = rng.choice(consent_pools[label])
        scope = tuple(sorted(consent.categories))
        requester, purpose, basis = UKVI, Purpose.VICTIM_IMMIGRATION_APPLICATION, "consent"
        if label == "consent_misuse":  # the wrong body, the wrong purpose, or both
            x = r()
            if x < 0.4:
                requester, purpose = ie(), Purpose.IMMIGRATION_ENFORCEMENT
            elif x < 0.6:
                requester = ie()
            elif x < 0.8:
                requester, purpose, basis = (
                    other(world.forces, e[0]),
                    Purpose.IMMIGRATION_ENFORCEMENT,
                    "policing",
                )
            else:
                purpose = Purpose.IMMIGRATION_ENFORCEMENT
            scope = rng.choice(_IE_CATEGORIES)
        elif label == "consent_beyond_scope":
            scope = tuple(c for c in _FULL if c not in consent.categories)
        add(
            label,
            requester,
            e,
            purpose,
            SubjectById(e[1]),
            e[2] if r() < 0.5 else None,
            scope,
            basis,
            "consent",
            consent_id=consent.consent_id,
        )
        return True

    def plain_case(label: str) -> bool:
        pool, requester, purpose, scope, cats, basis, why = _PLAN[label]
        e = pick(pool)
        if label in _BY_NAME:  # a name lookup needs someone whose record holds a birth date
            for _ in range(20):
                if e is None or "date_of_birth" in e[3]:
                    break
                e = pick(pool)
            else:
                return False
        if e is None:
            return False
        subject: SubjectById | SubjectByName = SubjectById(e[1])
        if label in _BY_NAME:
            subject = SubjectByName(fuzz(e[3]["name"]), e[3]["date_of_birth"])
        record_id = e[2] if scope == "always" or (scope == "maybe" and r() < 0.5) else None
        add(
            label,
            who(requester, e[0]),
            e,
            purpose or rng.choice(_DISGUISES),
            subject,
            record_id,
            cats or rng.choice(_IE_CATEGORIES),
            basis,
            why,
            Direction.OUTBOUND if label.startswith("outbound_") else Direction.INBOUND,
        )
        return True

    labels = list(SCENARIOS)
    head = labels[: min(n, len(labels))]  # every scenario at least once, then by weight
    plan = head + rng.choices(labels, weights=[_WEIGHTS[x] for x in labels], k=n - len(head))
    for label in plan:
        made = consent_case(label) if label in consent_pools else label in _PLAN and plain_case(label)
        if not made:
            unknown()
    return out
