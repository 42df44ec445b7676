"""Schemathesis over the live server's OpenAPI document, with an admin key and a requester key
(Immigration Enforcement's): no 5xx, every response as documented, and no response to any
fuzzed request holds any personal value of the seeded records (all collected in protected
capacities, so nothing of them may ever reach that requester)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tests.conftest import load_scenario
from tests.http_server import Deployment, auth, deploy

IE = "home-office-immigration-enforcement"
MPS = "metropolitan-police-service"
PROTECTED = {"victim", "witness", "reporter", "patient", "pupil", "service_user"}


def protected_records() -> list[dict[str, Any]]:
    """The core scenario's records with only their protected persons."""
    out = []
    for record in load_scenario()["records"]:
        persons = [p for p in record["persons"] if p["role"] in PROTECTED]
        if persons:
            out.append(dict(record, persons=persons, derived_from=[]))
    return out


def personal_values(records: list[dict[str, Any]]) -> set[str]:
    values = set()
    for record in records:
        for person in record["persons"]:
            values.add(person["person_id"])
            values.update(v for v in person["data"].values() if v not in ("British",))
    return values


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    deployment = deploy(tmp_path_factory.mktemp("fuzz"))
    try:
        deployment.seed(protected_records(), [])
        deployment.key(IE, "requester")
        deployment.key(MPS, "admin")
        yield deployment
    finally:
        deployment.stop()


@pytest.fixture(scope="module")
def api_schema(live: Deployment) -> Any:
    config = SchemathesisConfig.from_dict(
        {
            "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
            "generation": {"max-examples": 12},
        }
    )
    return schemathesis.openapi.from_url(live.base_url + "/openapi.json", config=config)


SECRETS = personal_values(protected_records())


def _check(case: Any, live: Deployment, token: str) -> None:
    response = case.call(base_url=live.base_url, headers=auth(token), timeout=30)
    case.validate_response(
        response, checks=[not_a_server_error, response_schema_conformance, content_type_conformance]
    )
    body = response.text.lower()
    leaked = [value for value in SECRETS if value.lower() in body]
    assert not leaked, f"{case.method} {case.path} disclosed seeded personal data"


def _fuzz(api_schema: Any, live: Deployment, token: str, examples: int) -> list[str]:
    """Every operation, `examples` generated cases each; returns the failures, by operation."""
    failures: list[str] = []
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=examples,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case: Any) -> None:
            _check(case, live, token)

        try:
            run()
        except Exception as exc:  # collect every operation's failure, then fail once
            failures.append(f"{operation.label}: {exc.__class__.__name__}: {str(exc)[:1500]}")
    assert operations >= 20, operations
    return failures


def test_fuzzed_as_immigration_enforcement(api_schema: Any, live: Deployment) -> None:
    failures = _fuzz(api_schema, live, live.key(IE, "requester"), 12)
    assert not failures, "\n\n".join(failures)


def test_fuzzed_as_admin(api_schema: Any, live: Deployment) -> None:
    failures = _fuzz(api_schema, live, live.key(MPS, "admin"), 8)
    assert not failures, "\n\n".join(failures)


def _subjects(records: list[dict[str, Any]]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for record in records:
        for person in record["persons"]:
            out.append({"person_id": person["person_id"]})
            if "name" in person["data"] and "date_of_birth" in person["data"]:
                out.append({"name": person["data"]["name"], "date_of_birth": person["data"]["date_of_birth"]})
    return out


def test_no_request_from_immigration_enforcement_gets_any_of_it(live: Deployment) -> None:
    """Well-formed requests aimed squarely at the seeded persons, over HTTP: every one denied."""
    import httpx
    from hypothesis import strategies as st

    records = protected_records()
    controllers = sorted({r["controller"] for r in records})
    names = st.sampled_from(_subjects(records)).flatmap(
        lambda s: (
            st.just(s)
            if "person_id" in s
            else st.sampled_from([s["name"].upper(), "  " + s["name"].lower() + " ", s["name"]]).map(
                lambda n: {"name": n, "date_of_birth": s["date_of_birth"]}
            )
        )
    )
    requests = st.fixed_dictionaries(
        {
            "requester": st.just(IE),
            "controller": st.sampled_from(controllers),
            "direction": st.just("inbound"),
            "purpose": st.sampled_from(
                ["immigration_enforcement", "criminal_investigation", "safeguarding", "other", "healthcare"]
            ),
            "legal_basis": st.text(max_size=20),
            "justification": st.text(max_size=20),
            "subject": names,
            "record_id": st.none() | st.sampled_from([r["record_id"] for r in records]),
            "categories": st.lists(
                st.sampled_from(
                    ["identity", "contact", "nationality", "immigration_status", "health", "narrative"]
                ),
                min_size=1,
                unique=True,
            ),
            "consent_id": st.none() | st.just("C-1"),
        }
    )
    counter = iter(range(10**6))
    with httpx.Client(base_url=live.base_url, headers=auth(live.key(IE, "requester")), timeout=30) as client:

        @given(request=requests)
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(request: dict[str, Any]) -> None:
            response = client.post("/v1/decisions", json={**request, "request_id": f"PROP-{next(counter)}"})
            assert response.status_code == 200, response.text
            assert response.json()["decision"] == "deny" and response.json()["disclosed"] == []
            leaked = [v for v in SECRETS if v.lower() in response.text.lower()]
            assert not leaked

        run()
