"""Property tests of the firewall over random records, derivation chains, consents and requests.

The expected protection is computed here, naively and independently of safereport's
provenance code and of the policy engine.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safereport import Firewall, parse_consent, parse_record, parse_request, response_to_json
from safereport.model import FIELD_CATEGORIES, Capacity
from safereport.orgs import registry

PROTECTED = {"victim", "witness", "reporter", "patient", "pupil", "service_user"}
ROLES = [c.value for c in Capacity]
CONTROLLERS = ["kent-police", "nhs-gp-practice-example", "london-borough-of-lambeth"]
REQUESTERS = [
    "home-office-immigration-enforcement",
    "home-office-border-force",
    "home-office-uk-visas-immigration",
    "crown-prosecution-service",
    "west-midlands-police",
    "london-borough-of-lambeth",
    "nhs-gp-practice-example",
]
PURPOSES = ["immigration_enforcement", "criminal_investigation", "prosecution", "safeguarding",
            "victim_immigration_application", "healthcare", "other"]  # fmt: skip
CATEGORIES = ["identity", "contact", "nationality", "immigration_status", "health", "narrative"]
POOL = [
    ("P0", "Amina Yusuf", "1990-01-01"),
    ("P1", "Tomasz Nowak", "1985-05-05"),
    ("P2", "Li Wei", "2000-02-02"),
    ("P3", "Grace Okafor", "1978-07-07"),
]
VALUES = {
    "name": None,
    "date_of_birth": None,
    "address": "1 Test Street",
    "phone": "07700 900000",
    "email": "x@example.org",
    "nationality": "Narnian",
    "immigration_status": "leave expired",
    "health": "asthma",
}
NARRATIVES = ["Assault reported at the bus stop.", "Caller heard shouting. Her visa had expired.", ""]
_counter = itertools.count()


@st.composite
def worlds(draw: st.DrawFn) -> dict[str, Any]:
    tag = f"X{next(_counter)}"
    controller = draw(st.sampled_from(CONTROLLERS))
    n = draw(st.integers(1, 6))
    records = []
    for i in range(n):
        people = draw(st.lists(st.sampled_from(POOL), min_size=0, max_size=3, unique=True))
        persons = []
        for pid, name, dob in people:
            keys = draw(st.lists(st.sampled_from(list(VALUES)), max_size=8, unique=True))
            data = {k: (name if k == "name" else dob if k == "date_of_birth" else VALUES[k]) for k in keys}
            persons.append({"person_id": f"{tag}-{pid}", "role": draw(st.sampled_from(ROLES)), "data": data})
        sources = draw(st.lists(st.integers(0, i - 1), max_size=2, unique=True)) if i else []
        records.append(
            {
                "controller": controller,
                "record_id": f"{tag}-R{i}",
                "kind": "report",
                "created": "2026-01-01T00:00:00Z",
                "persons": persons,
                "narrative": draw(st.sampled_from(NARRATIVES)),
                "derived_from": [f"{tag}-R{s}" for s in sources],
            }
        )
    consents = []
    for j, (pid, _, _) in enumerate(POOL):
        if draw(st.booleans()):
            consents.append(
                {
                    "consent_id": f"{tag}-C{j}",
                    "controller": controller,
                    "person_id": f"{tag}-{pid}",
                    "recipient": draw(st.sampled_from(REQUESTERS)),
                    "purpose": draw(st.sampled_from(PURPOSES)),
                    "categories": draw(st.lists(st.sampled_from(CATEGORIES), min_size=1, unique=True)),
                    "expires": (
                        datetime.now(UTC) + timedelta(days=draw(st.sampled_from([-5, 30])))
                    ).isoformat(),
                }
            )
    requests = []
    for k in range(draw(st.integers(1, 5))):
        subject = draw(st.sampled_from([*(f"{tag}-{p[0]}" for p in POOL), f"{tag}-nobody"]))
        requests.append(
            {
                "request_id": f"{tag}-Q{k}",
                "requester": draw(st.sampled_from(REQUESTERS)),
                "controller": controller,
                "direction": draw(st.sampled_from(["inbound", "outbound"])),
                "purpose": draw(st.sampled_from(PURPOSES)),
                "legal_basis": "x",
                "justification": "y",
                "subject": {"person_id": subject},
                "record_id": draw(st.sampled_from([None, *(r["record_id"] for r in records)])),
                "categories": draw(st.lists(st.sampled_from(CATEGORIES), min_size=1, unique=True)),
                "consent_id": draw(st.sampled_from([None, *(c["consent_id"] for c in consents)])),
            }
        )
        if requests[-1]["direction"] == "outbound" and requests[-1]["record_id"] is None:
            requests[-1]["record_id"] = records[0]["record_id"]
    return {"records": records, "consents": consents, "requests": requests}


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    name_a, name_b = a["data"].get("name"), b["data"].get("name")
    dob_a, dob_b = a["data"].get("date_of_birth"), b["data"].get("date_of_birth")
    if a["person_id"] == b["person_id"]:
        return True
    return name_a is not None and dob_a is not None and name_a == name_b and dob_a == dob_b


def _person_protected(by_id: dict[str, Any], record_id: str, person: dict[str, Any]) -> bool:
    record = by_id[record_id]
    if person["role"] in PROTECTED:
        return True
    for source_id in record["derived_from"]:
        for other in by_id[source_id]["persons"]:
            if _same(person, other) and _person_protected(by_id, source_id, other):
                return True
    return False


def _narrative_protected(by_id: dict[str, Any], record_id: str) -> bool:
    record = by_id[record_id]
    if not record["persons"]:
        return True
    if any(_person_protected(by_id, record_id, p) for p in record["persons"]):
        return True
    return any(_narrative_protected(by_id, s) for s in record["derived_from"])


def _consent_valid(world: dict[str, Any], request: dict[str, Any], person_id: str, category: str) -> bool:
    for consent in world["consents"]:
        if (
            consent["consent_id"] == request["consent_id"]
            and consent["person_id"] == person_id
            and consent["recipient"] == request["requester"]
            and consent["purpose"] == request["purpose"]
            and category in consent["categories"]
            and datetime.fromisoformat(consent["expires"]) > datetime.now(UTC)
        ):
            return True
    return False


def _immigration(request: dict[str, Any]) -> bool:
    functions = {f.value for f in registry()[request["requester"]].functions}
    return request["purpose"] == "immigration_enforcement" or bool(
        functions & {"immigration_enforcement", "immigration_casework"}
    )


_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


def _load(fw: Firewall, world: dict[str, Any]) -> None:
    fw.ingest(parse_record(r) for r in world["records"])
    for consent in world["consents"]:
        fw.grant_consent(parse_consent(consent))


def test_no_protected_datum_reaches_immigration_without_consent(firewall: Firewall) -> None:
    @_SETTINGS
    @given(worlds())
    def check(world: dict[str, Any]) -> None:
        _load(firewall, world)
        by_id = {r["record_id"]: r for r in world["records"]}
        for request in world["requests"]:
            response = response_to_json(firewall.decide(parse_request(request)))
            assert response["decision"] == ("permit" if response["disclosed"] else "deny")
            for item in response["disclosed"]:
                record = by_id[item["record_id"]]
                person = next(p for p in record["persons"] if p["person_id"] == item["person_id"])
                assert person["person_id"] == request["subject"]["person_id"]
                assert request["record_id"] in (None, item["record_id"])
                protected = _person_protected(by_id, item["record_id"], person)
                for key in item["data"]:
                    category = FIELD_CATEGORIES[key].value
                    assert category in request["categories"]
                    consented = _consent_valid(world, request, person["person_id"], category)
                    if protected and not consented:
                        assert not _immigration(request), (request, item)
                        assert category not in ("nationality", "immigration_status"), (request, item)
                if "narrative" in item:
                    consented = _consent_valid(world, request, person["person_id"], "narrative")
                    if _narrative_protected(by_id, item["record_id"]) and not consented:
                        assert not _immigration(request), (request, item)
                        assert "visa" not in item["narrative"].lower()

    check()


def test_protected_subject_looks_exactly_like_an_unknown_one(firewall: Firewall) -> None:
    @_SETTINGS
    @given(worlds(), st.sampled_from(["home-office-immigration-enforcement", "home-office-border-force"]))
    def check(world: dict[str, Any], requester: str) -> None:
        _load(firewall, world)
        by_id = {r["record_id"]: r for r in world["records"]}
        for request in world["requests"]:
            subject = request["subject"]["person_id"]
            appearances = [
                (r["record_id"], p)
                for r in world["records"]
                for p in r["persons"]
                if p["person_id"] == subject
            ]
            if not appearances or not all(_person_protected(by_id, rid, p) for rid, p in appearances):
                continue
            if any(_narrative_protected(by_id, rid) is False for rid, _ in appearances):
                continue
            ask = dict(request, requester=requester, purpose="immigration_enforcement", consent_id=None)
            unknown = dict(
                ask, subject={"person_id": subject + "-unknown"}, request_id=ask["request_id"] + "u"
            )
            a = response_to_json(firewall.decide(parse_request(ask)))
            b = response_to_json(firewall.decide(parse_request(unknown)))
            for response in (a, b):
                response.pop("request_id")
                response.pop("receipt")
            assert a == b == {"decision": "deny", "disclosed": []}

    check()
