from __future__ import annotations

from pathlib import Path

import pytest

from safereport import BadInput, UnknownOrganisation, parse_consent, parse_record, parse_request
from safereport.model import Function, OrgKind
from safereport.orgs import org_id_from_name, registry

FORCES = Path(__file__).resolve().parents[2] / "shared" / "contract" / "forces.txt"


def test_forty_three_forces_and_btp() -> None:
    forces = registry().of_kind(OrgKind.POLICE_FORCE)
    assert len(forces) == 44
    assert "british-transport-police" in registry()
    if FORCES.exists():
        names = [line.strip() for line in FORCES.read_text().splitlines() if line.strip()]
        assert len(names) == 43
        for name in names:
            assert registry()[org_id_from_name(name)].name == name


@pytest.mark.parametrize(
    ("name", "slug"),
    [("Devon & Cornwall Police", "devon-cornwall-police"), ("Dyfed-Powys Police", "dyfed-powys-police"),
     ("Hampshire and Isle of Wight Constabulary", "hampshire-and-isle-of-wight-constabulary")],
)  # fmt: skip
def test_id_rule(name: str, slug: str) -> None:
    assert org_id_from_name(name) == slug


def test_contract_bodies_and_functions() -> None:
    orgs = registry()
    for body in ["crown-prosecution-service", "hm-courts-tribunals-service", "home-office-uk-visas-immigration",
                 "hm-passport-office", "department-for-work-pensions", "hm-revenue-customs",
                 "london-borough-of-lambeth", "nhs-gp-practice-example"]:  # fmt: skip
        assert body in orgs
    ie = {o.id for o in orgs.with_function(Function.IMMIGRATION_ENFORCEMENT)}
    assert {"home-office-immigration-enforcement", "home-office-border-force"} <= ie
    assert Function.IMMIGRATION_CASEWORK in orgs["home-office-uk-visas-immigration"].functions


def test_unknown_org_is_an_error_naming_the_field() -> None:
    with pytest.raises(UnknownOrganisation) as caught:
        registry().require("acme-data-brokers", field="requester")
    assert caught.value.field == "requester" and "acme-data-brokers" in caught.value.message


REQUEST = {
    "request_id": "R", "requester": "kent-police", "controller": "essex-police", "direction": "inbound",
    "purpose": "criminal_investigation", "legal_basis": "x", "justification": "y",
    "subject": {"person_id": "P"}, "record_id": None, "categories": ["identity"], "consent_id": None,
}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"purpose": "deportation"}, "purpose"),
        ({"direction": "sideways"}, "direction"),
        ({"categories": ["shoe_size"]}, "categories.0"),
        ({"categories": []}, "categories"),
        ({"subject": {"name": "A"}}, "subject.date_of_birth"),
        ({"subject": {}}, "subject"),
        ({"subject": "P"}, "subject"),
        ({"subject": {"name": "A", "date_of_birth": "12/04/1991"}}, "subject.date_of_birth"),
        ({"extra": 1}, "extra"),
        ({"requester": "nobody"}, "requester"),
        ({"direction": "outbound", "record_id": None}, "record_id"),
    ],
)
def test_request_errors_name_the_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_request(REQUEST | change)
    assert caught.value.field == field


def test_missing_field_is_named() -> None:
    request = dict(REQUEST)
    del request["justification"]
    with pytest.raises(BadInput) as caught:
        parse_request(request)
    assert caught.value.field == "justification" and "missing" in caught.value.message


def test_errors_do_not_echo_personal_data() -> None:
    record = {"controller": "kent-police", "record_id": "K", "kind": "x", "created": "2026-01-01T00:00:00Z",
              "persons": [{"person_id": "p", "role": "victim", "data": {"name": 12345678}}]}  # fmt: skip
    with pytest.raises(BadInput) as caught:
        parse_record(record)
    assert "12345678" not in str(caught.value)
    assert caught.value.field == "persons.0.data.name"


def test_consent_requires_aware_expiry_and_known_recipient() -> None:
    consent = {"consent_id": "C", "controller": "kent-police", "person_id": "p", "recipient": "crown-prosecution-service",
               "purpose": "prosecution", "categories": ["identity"], "expires": "2027-01-01T00:00:00"}  # fmt: skip
    with pytest.raises(BadInput) as caught:
        parse_consent(consent)
    assert caught.value.field == "expires"
    with pytest.raises(UnknownOrganisation):
        parse_consent(consent | {"expires": "2027-01-01T00:00:00Z", "recipient": "x"})
