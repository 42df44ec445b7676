"""Local policies: a controller may add lawful flows and narrow what it discloses, never weaken §5.

Checked three ways: `check_local_policy`, `Firewall.add_local_policy`, and `safereport policy add`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safereport import (
    Capacity,
    Category,
    Decision,
    Direction,
    DisclosureRequest,
    Firewall,
    LocalPolicy,
    LocalPolicyRejected,
    PolicyError,
    Purpose,
    SubjectById,
)
from safereport.orgs import registry
from safereport.policy.engine import DEFAULT_DENY, PolicyEngine, Verdict, load_baseline
from safereport.policy.local import check_local_policy
from safereport.store import auditlog

MET = "metropolitan-police-service"
KENT = "kent-police"

PROTECTED = {"victim", "witness", "reporter", "patient", "pupil", "service_user"}
IMMIGRATION_FUNCTIONS = {"immigration_enforcement", "immigration_casework"}
STATUS_CATEGORIES = {"immigration_status", "nationality"}

COUNTEREXAMPLE = re.compile(
    r"for example requester=(?P<requester>\S+) capacity=(?P<capacity>\S+) category=(?P<category>\S+) "
    r"purpose=(?P<purpose>\S+) direction=(?P<direction>\S+) consent=(?P<consent>true|false);"
)


def breaches_firewall(requester: str, capacity: str, category: str, purpose: str, consent: bool) -> bool:
    """§5, restated: would releasing this datum breach the firewall?"""
    if consent or capacity not in PROTECTED:
        return False
    functions = {f.value for f in registry()[requester].functions}
    return (
        bool(functions & IMMIGRATION_FUNCTIONS)
        or purpose == "immigration_enforcement"
        or category in STATUS_CATEGORIES
    )


def local(policy_id: str, body: str, controller: str = MET) -> LocalPolicy:
    return LocalPolicy(controller, policy_id, f'@id("{policy_id}")\n{body}\n')


# ---------------------------------------------------------------- accepted

COUNCIL_SAFEGUARDING_CONTACT = local(
    "council-safeguarding-contact",
    'permit (principal, action == Action::"disclose", resource)\n'
    'when { principal.kind == OrgKind::"local_authority" &&\n'
    '       principal.functions.contains(Function::"safeguarding") &&\n'
    '       context.purpose == Purpose::"safeguarding" && context.direction == Direction::"inbound" &&\n'
    '       resource.category == Category::"contact" };',
)
# Written by function rather than by id so that its check shares the cached baseline table.
BENEFITS_SUSPECT_IDENTITY = local(
    "benefits-suspect-identity",
    'permit (principal, action == Action::"disclose", resource)\n'
    'when { principal.functions.contains(Function::"benefits") &&\n'
    '       context.purpose == Purpose::"benefits_administration" &&\n'
    '       resource.capacity == Capacity::"suspect" && resource.category == Category::"identity" };',
)
# Names the same body as the rejected "ie-anything" below, so both checks share one baseline table.
ENFORCEMENT_SUSPECT_NARRATIVE = local(
    "enforcement-suspect-narrative",
    'permit (principal == Org::"home-office-immigration-enforcement", action, resource)\n'
    'when { resource.capacity == Capacity::"suspect" &&\n'
    '       context.purpose == Purpose::"immigration_enforcement" &&\n'
    '       [Category::"contact", Category::"narrative"].contains(resource.category) };',
)
FORBID_EVERYTHING = local("closed-for-audit", "forbid (principal, action, resource);")
FORBID_DWP = local(
    "no-dwp",
    'forbid (principal == Org::"department-for-work-pensions", action, resource) when { !context.consent };',
)


@pytest.mark.parametrize(
    "policy",
    [COUNCIL_SAFEGUARDING_CONTACT, ENFORCEMENT_SUSPECT_NARRATIVE, FORBID_EVERYTHING, FORBID_DWP],
    ids=lambda p: p.policy_id,
)
def test_lawful_local_policies_are_accepted(policy: LocalPolicy) -> None:
    assert check_local_policy(policy) is None


def test_an_accepted_named_permit_opens_only_what_it_names() -> None:
    engine = PolicyEngine(MET, [ENFORCEMENT_SUSPECT_NARRATIVE])
    enforcement, border = (
        registry()["home-office-immigration-enforcement"],
        registry()["home-office-border-force"],
    )
    # narrative is not among what the baseline's inbound status check releases
    args = (Category.NARRATIVE, Purpose.IMMIGRATION_ENFORCEMENT, Direction.INBOUND, False)
    assert PolicyEngine(MET).authorise(enforcement, Capacity.SUSPECT, *args) == Verdict(
        False, (DEFAULT_DENY,)
    )
    assert engine.authorise(enforcement, Capacity.SUSPECT, *args) == Verdict(
        True, ("enforcement-suspect-narrative",)
    )
    assert engine.authorise(border, Capacity.SUSPECT, *args) == Verdict(False, (DEFAULT_DENY,))
    assert not engine.authorise(enforcement, Capacity.VICTIM, *args).allowed
    assert not engine.authorise(enforcement, Capacity.WITNESS, *args).allowed


CAPACITIES = [c.value for c in Capacity]
CATEGORIES = [c.value for c in Category]
PURPOSES = [p.value for p in Purpose]
FUNCTIONS = ["immigration_enforcement", "immigration_casework", "policing", "safeguarding", "benefits"]


def _set(kind: str, values: list[str]) -> str:
    return "[" + ", ".join(f'{kind}::"{v}"' for v in values) + "]"


@st.composite
def forbids(draw: st.DrawFn) -> tuple[str, dict[str, list[str]]]:
    """A random forbid over the schema's vocabulary, and what it restricts."""
    chosen = {
        "capacity": draw(st.lists(st.sampled_from(CAPACITIES), min_size=1, unique=True)),
        "category": draw(st.lists(st.sampled_from(CATEGORIES), min_size=1, unique=True)),
        "purpose": draw(st.lists(st.sampled_from(PURPOSES), min_size=1, unique=True)),
        "function": draw(st.lists(st.sampled_from(FUNCTIONS), min_size=1, unique=True)),
    }
    conditions = [
        f"{_set('Capacity', chosen['capacity'])}.contains(resource.capacity)",
        f"{_set('Category', chosen['category'])}.contains(resource.category)",
        f"{_set('Purpose', chosen['purpose'])}.contains(context.purpose)",
        f"principal.functions.containsAny({_set('Function', chosen['function'])})",
    ]
    kept = draw(st.lists(st.sampled_from(range(len(conditions))), unique=True))
    negate = draw(st.booleans())
    clause = " && ".join(conditions[i] for i in sorted(kept)) or "true"
    text = f"forbid (principal, action, resource) {'unless' if negate else 'when'} {{ {clause} }};"
    return text, {"kept": [str(i) for i in sorted(kept)], "negate": [str(negate)], **chosen}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(forbids())
def test_any_forbid_is_accepted_and_takes_effect(generated: tuple[str, dict[str, list[str]]]) -> None:
    text, chosen = generated
    policy = local("random-forbid", text)
    check_local_policy(policy)
    if chosen["negate"] == ["True"]:
        return
    # a request inside the forbid that the baseline would allow is now denied, naming the forbid
    kept = set(chosen["kept"])
    org = next(
        o
        for o in registry().values()
        if "3" not in kept or {f.value for f in o.functions} & set(chosen["function"])
    )
    capacity = Capacity(chosen["capacity"][0]) if "0" in kept else Capacity.SUSPECT
    category = Category(chosen["category"][0]) if "1" in kept else Category.IDENTITY
    purpose = Purpose(chosen["purpose"][0]) if "2" in kept else Purpose.OTHER
    engine = PolicyEngine(MET, [policy])
    verdict = engine.authorise(org, capacity, category, purpose, Direction.INBOUND, True)
    assert verdict == Verdict(False, ("random-forbid",))
    assert PolicyEngine(MET).authorise(org, capacity, category, purpose, Direction.INBOUND, True).allowed


# ---------------------------------------------------------------- rejected

REJECTED = [
    (local("open-door", "permit (principal, action, resource);"), {}),
    (
        local(
            "ie-anything",
            'permit (principal == Org::"home-office-immigration-enforcement", action, resource);',
        ),
        {"requester": "home-office-immigration-enforcement"},
    ),
    (
        local(
            "enforcement-purpose",
            "permit (principal, action, resource)\n"
            'when { context.purpose == Purpose::"immigration_enforcement" };',
        ),
        {"purpose": "immigration_enforcement"},
    ),
    (
        local(
            "police-victim-status",
            "permit (principal, action, resource)\n"
            'when { principal.functions.contains(Function::"policing") &&\n'
            '       resource.capacity == Capacity::"victim" &&\n'
            '       resource.category == Category::"immigration_status" };',
        ),
        {"capacity": "victim", "category": "immigration_status"},
    ),
    (
        local(
            "no-consent-needed",
            "permit (principal, action, resource)\n"
            "when { context.consent == false &&\n"
            '       context.purpose == Purpose::"victim_immigration_application" };',
        ),
        {"consent": "false", "purpose": "victim_immigration_application"},
    ),
]


@pytest.mark.parametrize(("policy", "expected"), REJECTED, ids=[p.policy_id for p, _ in REJECTED])
def test_weakening_permits_are_rejected_with_a_counterexample(
    policy: LocalPolicy, expected: dict[str, str]
) -> None:
    with pytest.raises(LocalPolicyRejected) as caught:
        check_local_policy(policy)
    error = caught.value
    assert error.field == policy.policy_id
    assert f"'{policy.policy_id}'" in error.message
    match = COUNTEREXAMPLE.search(error.message)
    assert match, error.message
    found = match.groupdict()
    for key, value in expected.items():
        assert found[key] == value, (key, found)
    # the counterexample is real: §5 forbids it, and the baseline denies it
    consent = found["consent"] == "true"
    assert breaches_firewall(
        found["requester"], found["capacity"], found["category"], found["purpose"], consent
    )
    verdict = PolicyEngine(MET).authorise(
        registry()[found["requester"]],
        Capacity(found["capacity"]),
        Category(found["category"]),
        Purpose(found["purpose"]),
        Direction(found["direction"]),
        consent,
    )
    assert not verdict.allowed and all(p.startswith("firewall-") for p in verdict.policies)


def test_the_rejection_names_the_offending_policy_not_its_neighbours() -> None:
    bundle = LocalPolicy(
        MET,
        "bundle-file",
        '@id("harmless-forbid")\nforbid (principal, action, resource)\n'
        'when { context.purpose == Purpose::"other" };\n'
        '@id("sneaky-permit")\npermit (principal, action, resource)\n'
        'when { resource.category == Category::"nationality" };\n',
    )
    with pytest.raises(LocalPolicyRejected) as caught:
        check_local_policy(bundle)
    assert caught.value.field == "sneaky-permit"
    assert "'sneaky-permit'" in caught.value.message
    assert "harmless-forbid" not in caught.value.message
    assert "category=nationality" in caught.value.message


@pytest.mark.parametrize("baseline_id", ["lawful-safeguarding", "firewall-immigration-bodies"])
def test_a_local_policy_reusing_a_baseline_id_is_refused(baseline_id: str) -> None:
    policy = LocalPolicy(MET, baseline_id, f'@id("{baseline_id}")\nforbid (principal, action, resource);\n')
    with pytest.raises(LocalPolicyRejected, match=baseline_id):
        check_local_policy(policy)


@pytest.mark.parametrize(
    "body",
    [
        'permit (principal, action, resource) when { resource.colour == "red" };',
        'permit (principal, action, resource) when { resource.capacity == Capacity::"vicitm" };',
        'forbid (principal, action, resource) when { context.purpose == "safeguarding" };',
        'permit (principal, action == Action::"delete", resource);',
    ],
)
def test_a_policy_with_a_schema_error_is_refused(body: str) -> None:
    policy = local("schema-error", body)
    with pytest.raises(LocalPolicyRejected, match="schema-error") as caught:
        check_local_policy(policy)
    assert "invalid" in caught.value.message


def test_a_policy_without_an_id_is_refused() -> None:
    with pytest.raises(PolicyError, match="@id"):
        check_local_policy(LocalPolicy(MET, "anonymous", "forbid (principal, action, resource);"))


def test_a_permit_singling_out_the_controller_itself_is_checked() -> None:
    policy = local(
        "to-ourselves",
        "permit (principal, action, resource) when { principal == resource.controller };",
    )
    # The premise, shown without the checker: the permit alone covers a request §5 forbids.
    met = registry()[MET]
    args = (Capacity.VICTIM, Category.IDENTITY, Purpose.IMMIGRATION_ENFORCEMENT, Direction.INBOUND, False)
    alone = PolicyEngine(MET, baseline=dataclasses.replace(load_baseline(), policies=policy.text))
    assert alone.authorise(met, *args) == Verdict(True, ("to-ourselves",))
    assert breaches_firewall(MET, "victim", "identity", "immigration_enforcement", False)
    assert PolicyEngine(MET, [policy]).authorise(met, *args).allowed is False  # the forbid still wins
    with pytest.raises(LocalPolicyRejected, match="to-ourselves"):
        check_local_policy(policy)


# ---------------------------------------------------------------- through the Firewall


def dwp_request(person_id: str, request_id: str = "REQ-DWP") -> DisclosureRequest:
    return DisclosureRequest(
        request_id=request_id,
        requester="department-for-work-pensions",
        controller=MET,
        direction=Direction.INBOUND,
        purpose=Purpose.BENEFITS_ADMINISTRATION,
        legal_basis="Social Security Administration Act 1992",
        justification="benefit entitlement check",
        subject=SubjectById(person_id),
        record_id=None,
        categories=(Category.IDENTITY, Category.CONTACT),
        consent_id=None,
    )


def enforcement_request(person_id: str) -> DisclosureRequest:
    return DisclosureRequest(
        request_id="REQ-IE",
        requester="home-office-immigration-enforcement",
        controller=MET,
        direction=Direction.INBOUND,
        purpose=Purpose.IMMIGRATION_ENFORCEMENT,
        legal_basis="Immigration Act 1971",
        justification="status check",
        subject=SubjectById(person_id),
        record_id=None,
        categories=(Category.IDENTITY, Category.CONTACT, Category.IMMIGRATION_STATUS, Category.NATIONALITY),
        consent_id=None,
    )


def outcomes(fw: Firewall) -> list[tuple[Decision, object]]:
    requests = [
        dwp_request("MPS-P-1"),
        dwp_request("MPS-P-2"),
        enforcement_request("MPS-P-1"),
        enforcement_request("MPS-P-2"),
    ]
    return [(r.decision, r.disclosed) for r in (fw.decide(q) for q in requests)]


def last_audit_entry(fw: Firewall) -> tuple[int, dict[str, object]]:
    with fw.store.read() as conn:
        row = auditlog.entry_at(conn, auditlog.size(conn) - 1)
    assert row is not None
    return row.index, json.loads(row.entry)


def test_accepted_policy_is_used_by_decide_and_named_in_the_audit(core_firewall: Firewall) -> None:
    fw = core_firewall
    old_version = fw.engine_for(MET).version
    before = fw.decide(dwp_request("MPS-P-2"))
    assert before.decision is Decision.DENY and before.disclosed == ()
    assert last_audit_entry(fw)[1]["policy_version"] == old_version

    fw.add_local_policy(BENEFITS_SUSPECT_IDENTITY)
    assert fw.local_policies(MET) == [BENEFITS_SUSPECT_IDENTITY]
    engine = fw.engine_for(MET)
    assert engine.version != old_version
    assert engine.version == PolicyEngine(MET, [BENEFITS_SUSPECT_IDENTITY]).version

    after = fw.decide(dwp_request("MPS-P-2", "REQ-DWP-2"))
    assert after.decision is Decision.PERMIT
    assert [(i.record_id, i.person_id, dict(i.data)) for i in after.disclosed] == [
        ("MPS-CR-0001", "MPS-P-2", {"name": "Daniel Hughes", "date_of_birth": "1988-09-30"})
    ]
    index, entry = last_audit_entry(fw)
    assert index == after.receipt.index
    assert entry["request_id"] == "REQ-DWP-2"
    assert entry["policy_version"] == engine.version
    assert "benefits-suspect-identity" in entry["policies"]  # type: ignore[operator]
    assert entry["decision"] == "permit"

    # the victim stays protected, also through the intelligence entry copied from her report
    victim = fw.decide(dwp_request("MPS-P-1", "REQ-DWP-3"))
    assert victim.decision is Decision.DENY and victim.disclosed == ()
    # other controllers are untouched
    assert fw.engine_for(KENT).version == old_version
    assert fw.verify_audit().ok


def test_rejected_policy_changes_neither_store_nor_decisions(core_firewall: Firewall) -> None:
    fw = core_firewall
    fw.add_local_policy(FORBID_DWP)  # something stored already, so "unchanged" is not trivially true
    stored = fw.local_policies(MET)
    version = fw.engine_for(MET).version
    decided = outcomes(fw)
    for policy, _ in REJECTED[:1]:
        with pytest.raises(LocalPolicyRejected, match=policy.policy_id):
            fw.add_local_policy(policy)
        assert fw.local_policies(MET) == stored
        assert fw.engine_for(MET).version == version
        assert outcomes(fw) == decided
    # the victim's data goes nowhere; the suspect's identity goes to enforcement (lawful), DWP is forbidden
    assert [decision for decision, _ in decided] == [
        Decision.DENY,
        Decision.DENY,
        Decision.DENY,
        Decision.PERMIT,
    ]
    # a fresh Firewall on the same store sees the same
    reopened = Firewall.open(fw.settings.database_url)
    try:
        assert reopened.local_policies(MET) == stored
        assert reopened.engine_for(MET).version == version
    finally:
        reopened.close()


def test_a_baseline_id_or_a_schema_error_is_refused_by_the_firewall(firewall: Firewall) -> None:
    for policy in (
        LocalPolicy(
            MET, "lawful-prosecution", '@id("lawful-prosecution")\nforbid (principal, action, resource);'
        ),
        local("bad-schema", 'forbid (principal, action, resource) when { principal.colour == "red" };'),
    ):
        with pytest.raises(LocalPolicyRejected, match=policy.policy_id):
            firewall.add_local_policy(policy)
    assert firewall.local_policies(MET) == []


def test_a_local_id_used_twice_is_refused_and_nothing_changes(firewall: Firewall) -> None:
    firewall.add_local_policy(FORBID_DWP)
    again = LocalPolicy(MET, "another-file", FORBID_DWP.text.replace("!context.consent", "context.consent"))
    with pytest.raises(PolicyError, match="no-dwp"):
        firewall.add_local_policy(again)
    assert firewall.local_policies(MET) == [FORBID_DWP]
    # replacing a policy under its own name is allowed
    replaced = LocalPolicy(MET, FORBID_DWP.policy_id, again.text)
    firewall.add_local_policy(replaced)
    assert firewall.local_policies(MET) == [replaced]


# ---------------------------------------------------------------- through the command line


def _safereport() -> str:
    beside = Path(sys.executable).with_name("safereport")
    found = str(beside) if beside.exists() else shutil.which("safereport")
    assert found, "the safereport command is not installed"
    return found


def run_cli(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SAFEREPORT_DB=db_url)  # SAFEREPORT_HOME: the autouse tmp home
    return subprocess.run([_safereport(), *args], capture_output=True, text=True, env=env, timeout=120)


def test_cli_accepts_a_lawful_policy(tmp_path: Path, db_url: str) -> None:
    # A forbid: accepted without the exhaustive search, which keeps this subprocess quick.
    path = tmp_path / "no-dwp.cedar"
    path.write_text(FORBID_DWP.text, "utf-8")
    proc = run_cli(db_url, "policy", "add", MET, str(path))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["added"] is True and out["policy_id"] == "no-dwp" and out["controller"] == MET
    with Firewall.open(db_url) as fw:
        assert fw.local_policies(MET) == [FORBID_DWP]


COLOURFUL = local("colourful", "permit (principal, action, resource) when { resource.colour == 1 };")


@pytest.mark.parametrize(
    ("filename", "policy", "named"),
    [
        ("open.cedar", REJECTED[0][0], "open-door"),
        ("schema.cedar", COLOURFUL, "colourful"),
    ],
)
def test_cli_rejects_with_exit_2_and_one_line(
    tmp_path: Path, db_url: str, filename: str, policy: LocalPolicy, named: str
) -> None:
    path = tmp_path / filename
    path.write_text(policy.text, "utf-8")
    proc = run_cli(db_url, "policy", "add", MET, str(path), "--id", named)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert named in lines[0] and "local_policy_rejected" in lines[0]
    with Firewall.open(db_url) as fw:
        assert fw.local_policies(MET) == []


@pytest.mark.parametrize(
    "text",
    ["forbid (principal, action, resource);", '@id("half")\npermit (principal, action, resource'],
    ids=["no-id", "syntax-error"],
)
def test_cli_malformed_policy_file_exits_2(tmp_path: Path, db_url: str, text: str) -> None:
    path = tmp_path / "malformed.cedar"
    path.write_text(text, "utf-8")
    proc = run_cli(db_url, "policy", "add", MET, str(path))
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_cli_duplicate_local_id_exits_2(tmp_path: Path, db_url: str) -> None:
    with Firewall.open(db_url) as fw:
        fw.add_local_policy(FORBID_DWP)
    path = tmp_path / "second.cedar"
    path.write_text(FORBID_DWP.text.replace("!context.consent", "context.consent"), "utf-8")
    proc = run_cli(db_url, "policy", "add", MET, str(path))
    assert proc.returncode == 2, proc.stderr
    assert "no-dwp" in proc.stderr


def test_a_local_policy_another_process_adds_or_removes_is_used_at_its_next_decision(
    core_firewall: Firewall, db_url: str
) -> None:
    """Two Firewalls on one store stand for two `serve` workers: a policy one adds or removes
    changes what the other decides next, without a restart."""
    with Firewall.open(db_url) as other:
        assert other.decide(dwp_request("MPS-P-2", "REQ-G-1")).decision is Decision.DENY
        core_firewall.add_local_policy(BENEFITS_SUSPECT_IDENTITY)
        assert other.decide(dwp_request("MPS-P-2", "REQ-G-2")).decision is Decision.PERMIT
        core_firewall.remove_local_policy(MET, BENEFITS_SUSPECT_IDENTITY.policy_id)
        assert other.decide(dwp_request("MPS-P-2", "REQ-G-3")).decision is Decision.DENY
