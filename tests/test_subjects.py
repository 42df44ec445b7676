"""The subject view's library and CLI: references and codes, a person's own history and
nobody else's, revocation, and refusals that all read the same. Real SQLite stores."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safereport import Firewall, parse_consent, parse_record, parse_request
from safereport.audit import person_key
from safereport.audit.keys import load_or_create_subject_key
from safereport.config import load_settings
from safereport.errors import AuditError, BadInput, NotAuthenticated, UnknownOrganisation
from safereport.subjects import (
    issue_access,
    normalise_code,
    normalise_reference,
    revoke_access,
    subject_history,
)
from tests.conftest import load_scenario
from tests.logtools import path_of, sql

CORE = load_scenario()
MPS = "metropolitan-police-service"
WMP = "west-midlands-police"
IE = "home-office-immigration-enforcement"
CPS = "crown-prosecution-service"
SECRET_TEXT = "Operation Kestrel, tip from a neighbour"

# Every (controller, person) the core records hold, and two nobody holds.
HELD = sorted({(r["controller"], p["person_id"]) for r in CORE["records"] for p in r["persons"]})
UNHELD = [(MPS, "MPS-P-404"), (WMP, "WMP-P-404")]


def request(n: int, controller: str, person_id: str, **changes: Any) -> Any:
    document = {
        "request_id": f"REQ-{n}",
        "requester": IE,
        "controller": controller,
        "direction": "inbound",
        "purpose": "immigration_enforcement",
        "legal_basis": "DPA 2018 Sch 2 para 4",
        "justification": SECRET_TEXT,
        "subject": {"person_id": person_id},
        "record_id": None,
        "categories": ["identity", "contact"],
        "consent_id": None,
    }
    return parse_request(document | changes)


def loaded(fw: Firewall) -> Firewall:
    fw.ingest(parse_record(r) for r in CORE["records"])
    for consent in CORE["consents"]:
        fw.grant_consent(parse_consent(consent))
    return fw


@pytest.fixture
def fw(core_firewall: Firewall) -> Firewall:
    return core_firewall


# ---------------------------------------------------------------------------------- issuing


def test_issue_gives_a_typeable_reference_and_a_code_stored_only_hashed(fw: Firewall) -> None:
    issued = issue_access(fw, MPS, "MPS-P-1")
    assert re.fullmatch(r"SR-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", issued.reference)
    assert re.fullmatch(r"([0-9A-HJKMNP-TV-Z]{4}-){3}[0-9A-HJKMNP-TV-Z]{4}", issued.code)
    assert issued.person_held
    url = fw.settings.database_url
    ((controller, key, digest, revoked),) = sql(
        url,
        "SELECT controller, person_key, code_sha256, revoked_at FROM subject_access WHERE reference = ?",
        issued.reference,
    )
    subject_key = load_or_create_subject_key(fw.settings.keys_path)
    assert (controller, key, revoked) == (MPS, person_key(subject_key, MPS, "MPS-P-1"), None)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    # Neither the code (in any spelling) nor the person id is anywhere in the database files.
    compact = issued.code.replace("-", "")
    stored = b"".join(
        p.read_bytes() for p in path_of(url).parent.iterdir() if p.name.startswith(path_of(url).name)
    )
    for secret in (issued.code, compact, compact.lower()):
        assert secret.encode() not in stored
    assert b"MPS-P-1" not in b"".join(str(row).encode() for row in sql(url, "SELECT * FROM subject_access"))


def test_references_are_distinct(fw: Firewall) -> None:
    issued = [issue_access(fw, MPS, "MPS-P-1") for _ in range(20)]
    assert len({i.reference for i in issued}) == 20
    assert len({i.code for i in issued}) == 20


def test_issue_refuses_bad_input(fw: Firewall) -> None:
    with pytest.raises(UnknownOrganisation) as bad_org:
        issue_access(fw, "no-such-force", "X-1")
    assert bad_org.value.field == "controller"
    for person_id in ("", "   ", "x" * 201):
        with pytest.raises(BadInput) as bad:
            issue_access(fw, MPS, person_id)
        assert bad.value.field == "person_id"


def test_issue_for_a_person_not_held_says_so(fw: Firewall) -> None:
    issued = issue_access(fw, MPS, "MPS-P-404")
    assert not issued.person_held
    assert subject_history(fw, issued.reference, issued.code).entries == ()


def test_typed_variants_are_accepted() -> None:
    assert normalise_reference(" sr-7k2p q9xm ") == "SR-7K2P-Q9XM"
    assert normalise_reference("SRoK2P-Q9XM") == "SR-0K2P-Q9XM"  # O read as zero
    assert normalise_reference("SR-7K2P-Q9X") is None
    assert normalise_reference("SR-7K2P-Q9XU") is None  # U is not in the alphabet
    assert normalise_code("abcd efgh jkmn pqrs") == "ABCDEFGHJKMNPQRS"
    assert normalise_code("ABCD-EFGH-iJKL-MNPQ") == "ABCDEFGH1JK1MNPQ"
    assert normalise_code("ABCD-EFGH-JKMN-PQR") is None


# ---------------------------------------------------------------------------------- history


def test_history_holds_exactly_that_persons_entries(fw: Firewall) -> None:
    mine: list[int] = []
    others: list[int] = []
    for n, (controller, person) in enumerate(
        [(MPS, "MPS-P-1"), (MPS, "MPS-P-2"), (MPS, "MPS-P-1"), (WMP, "WMP-P-1"), (MPS, "MPS-P-404")]
    ):
        receipt = fw.decide(request(n, controller, person)).receipt
        (mine if person == "MPS-P-1" else others).append(receipt.index)
    # Looked up by name and date of birth: the same person, so it is theirs too.
    by_name = request(9, MPS, "", subject={"name": " maria  SILVA", "date_of_birth": "1991-04-12"})
    mine.append(fw.decide(by_name).receipt.index)
    # CPS for prosecution: something is disclosed, and the history says what.
    cps = request(10, MPS, "MPS-P-1", requester=CPS, purpose="prosecution", categories=["identity"])
    mine.append(fw.decide(cps).receipt.index)
    # An outbound check the force made about them.
    outbound = request(
        11, MPS, "MPS-P-1", direction="outbound", purpose="criminal_investigation", record_id="MPS-CR-0001"
    )
    mine.append(fw.decide(outbound).receipt.index)

    issued = issue_access(fw, MPS, "MPS-P-1")
    history = subject_history(fw, issued.reference, issued.code)
    assert [e.index for e in history.entries] == sorted(mine)
    assert history.controller == MPS and history.controller_name == "Metropolitan Police Service"
    by_index = {e.index: e for e in history.entries}
    refused = by_index[mine[0]]
    assert (refused.requester, refused.requester_name) == (IE, "Home Office Immigration Enforcement")
    assert (refused.purpose, refused.direction, refused.outcome) == (
        "immigration_enforcement",
        "inbound",
        "refused",
    )
    assert refused.categories_disclosed == ()
    assert refused.time.tzinfo is not None
    disclosed = by_index[mine[-2]]
    assert (disclosed.outcome, disclosed.categories_disclosed) == ("disclosed", ("identity",))
    assert by_index[mine[-1]].direction == "outbound"
    text = json.dumps(history.to_document())
    assert SECRET_TEXT not in text and "DPA 2018" not in text
    for record in CORE["records"]:
        for person in record["persons"]:
            assert person["person_id"] not in text


def test_another_persons_code_never_shows_them(fw: Firewall) -> None:
    about_p1 = fw.decide(request(1, MPS, "MPS-P-1")).receipt.index
    about_p2 = fw.decide(request(2, MPS, "MPS-P-2")).receipt.index
    p1 = issue_access(fw, MPS, "MPS-P-1")
    p2 = issue_access(fw, MPS, "MPS-P-2")
    assert [e.index for e in subject_history(fw, p1.reference, p1.code).entries] == [about_p1]
    assert [e.index for e in subject_history(fw, p2.reference, p2.code).entries] == [about_p2]
    with pytest.raises(NotAuthenticated):
        subject_history(fw, p1.reference, p2.code)


def test_same_person_id_at_another_controller_is_another_person(fw: Firewall) -> None:
    fw.decide(request(1, MPS, "MPS-P-1"))
    issued = issue_access(fw, WMP, "MPS-P-1")  # WMP holds no MPS-P-1: a different keyed hash
    assert subject_history(fw, issued.reference, issued.code).entries == ()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(HELD + UNHELD), min_size=1, max_size=25))
def test_each_history_is_exactly_its_persons_requests(asked: list[tuple[str, str]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'store.db'}"
        with Firewall.open(settings=load_settings(db=url, home=Path(folder) / "home")) as fw:
            loaded(fw)
            responses = list(fw.decide_many(request(n, c, p) for n, (c, p) in enumerate(asked)))
            index_of = {r.request_id: r.receipt.index for r in responses}
            for controller, person in HELD + UNHELD:
                issued = issue_access(fw, controller, person)
                expected = [
                    index_of[f"REQ-{n}"]
                    for n, asked_about in enumerate(asked)
                    if asked_about == (controller, person) and asked_about in HELD
                ]
                got = [e.index for e in subject_history(fw, issued.reference, issued.code).entries]
                assert got == sorted(expected)


# ---------------------------------------------------------------------------------- refusals


def refusal(fw: Firewall, reference: str, code: str) -> dict[str, str | None]:
    with pytest.raises(NotAuthenticated) as refused:
        subject_history(fw, reference, code)
    return refused.value.as_dict()


def test_every_refusal_reads_the_same(fw: Firewall) -> None:
    issued = issue_access(fw, MPS, "MPS-P-1")
    other = issue_access(fw, MPS, "MPS-P-2")
    wrong_code = refusal(fw, issued.reference, other.code)
    unknown = refusal(fw, "SR-0000-0000", issued.code)
    malformed = refusal(fw, "not a reference", "not a code")
    empty = refusal(fw, "", "")
    assert wrong_code == unknown == malformed == empty
    assert revoke_access(fw, issued.reference) is True
    assert refusal(fw, issued.reference, issued.code) == wrong_code
    assert wrong_code["code"] == "not_authenticated"


def test_revoked_reference_is_refused_for_good(fw: Firewall) -> None:
    issued = issue_access(fw, MPS, "MPS-P-1")
    subject_history(fw, issued.reference, issued.code)
    assert revoke_access(fw, issued.reference.lower()) is True
    assert revoke_access(fw, issued.reference) is False
    with pytest.raises(NotAuthenticated):
        subject_history(fw, issued.reference, issued.code)
    with pytest.raises(BadInput) as unknown:
        revoke_access(fw, "SR-0000-0000")
    assert unknown.value.field == "reference"


def test_an_unreadable_entry_naming_the_person_stops_the_history(fw: Firewall) -> None:
    issued = issue_access(fw, MPS, "MPS-P-1")
    key = person_key(load_or_create_subject_key(fw.settings.keys_path), MPS, "MPS-P-1")
    fw.log.append([json.dumps({"controller": MPS, "subject_persons": [key]}).encode()])
    with pytest.raises(AuditError):
        subject_history(fw, issued.reference, issued.code)


# ---------------------------------------------------------------------------------- the CLI


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    home = tmp_path / "cli-home"
    with Firewall.open(settings=load_settings(db=url, home=home)) as fw:
        loaded(fw)
        fw.decide(request(1, MPS, "MPS-P-1"))
    yield dict(os.environ, SAFEREPORT_DB=url, SAFEREPORT_HOME=str(home))


def cli(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "safereport.cli", "subject-access", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_cli_issue_history_revoke(env: dict[str, str]) -> None:
    issued = cli(["issue", MPS, "MPS-P-1"], env)
    assert issued.returncode == 0, issued.stderr
    access = json.loads(issued.stdout)
    assert set(access) == {"reference", "code", "controller"}
    assert "shown only this once" in issued.stderr

    history = cli(["history", access["reference"]], env, access["code"] + "\n")
    assert history.returncode == 0, history.stderr
    document = json.loads(history.stdout)
    assert [e["requester"] for e in document["entries"]] == [IE]
    assert document["entries"][0]["outcome"] == "refused"

    wrong = cli(["history", access["reference"]], env, "AAAA-AAAA-AAAA-AAAA\n")
    unknown = cli(["history", "SR-0000-0000"], env, access["code"] + "\n")
    assert wrong.returncode == unknown.returncode == 1
    assert wrong.stdout == unknown.stdout == ""
    assert wrong.stderr == unknown.stderr
    assert "not_authenticated" in wrong.stderr

    revoked = cli(["revoke", access["reference"]], env)
    assert revoked.returncode == 0 and json.loads(revoked.stdout) == {
        "reference": access["reference"],
        "revoked": True,
    }
    after = cli(["history", access["reference"]], env, access["code"] + "\n")
    assert after.returncode == 1 and after.stderr == wrong.stderr


def test_cli_bad_input_exits_2(env: dict[str, str]) -> None:
    bad = cli(["issue", "no-such-force", "X-1"], env)
    assert bad.returncode == 2 and bad.stdout == ""
    assert "controller" in bad.stderr
    unknown = cli(["revoke", "SR-0000-0000"], env)
    assert unknown.returncode == 2 and "reference" in unknown.stderr
    held_nothing = cli(["issue", MPS, "MPS-P-404"], env)
    assert held_nothing.returncode == 0 and "holds no record" in held_nothing.stderr
