"""The Z3 proof of the firewall: the shipped policy sets, the subset, the cache, the gate, the CLI."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from safereport import BadInput, Firewall, LocalPolicy, LocalPolicyRejected, parse_record, parse_request
from safereport.config import load_settings
from safereport.errors import PolicyUnproven
from safereport.model import Capacity, Category, Direction, Purpose
from safereport.orgs import registry
from safereport.policy.engine import PolicyEngine, load_baseline
from safereport.policy.verify import (
    Counterexample,
    PolicyInvalid,
    ProofCache,
    ProofReport,
    UnsupportedPolicy,
    load_policy_dir,
    proof_key,
    replay,
    verify_policy_dir,
    verify_policy_set,
)
from safereport.policy.verify.fleet import proof_lines, territorial_forces, verify_all
from safereport.policy.verify.gate import prove_cached, require_proven
from safereport.store import Store
from safereport.store import consents as consent_store

MET = "metropolitan-police-service"
KENT = "kent-police"
BASELINE_DIR = Path(__file__).resolve().parents[1] / "src" / "safereport" / "policy" / "baseline"
PROPERTIES = {
    ("firewall-immigration", "engine"),
    ("firewall-immigration", "cedar"),
    ("firewall-status-nationality", "engine"),
    ("firewall-status-nationality", "cedar"),
    ("no-evaluation-errors", "both"),
}
# The status forbid, switched off: a victim's nationality goes to the police for an investigation.
NO_STATUS_FORBID = load_baseline().policies.replace(
    'when {\n  [Category::"immigration_status", Category::"nationality"].contains(resource.category)\n}',
    "when { false }",
)
assert load_baseline().policies != NO_STATUS_FORBID


def local(policy_id: str, body: str, controller: str = MET) -> LocalPolicy:
    return LocalPolicy(controller, policy_id, f'@id("{policy_id}")\n{body}\n')


def broken_baseline():  # type: ignore[no-untyped-def]
    return dataclasses.replace(load_baseline(), policies=NO_STATUS_FORBID)


# ---------------------------------------------------------------- the shipped sets


def test_the_shipped_baseline_is_proven_for_every_controller() -> None:
    baseline = load_baseline()
    report = verify_policy_set(baseline)
    assert report.proven, report.summary()
    assert {(r.property, r.semantics) for r in report.results} == PROPERTIES
    assert report.controller is None
    assert report.baseline_sha256 == baseline.sha256
    assert report.local == ()
    assert report.policy_version == PolicyEngine(MET).version
    assert report.key == proof_key(baseline, (), None)
    assert report.elapsed_seconds > 0
    assert "PROVEN" in report.summary() and baseline.sha256 in report.summary()


def test_a_set_with_local_policies_names_their_hashes_and_the_engine_version() -> None:
    policies = [
        local("dwp-suspect-identity", 'permit (principal == Org::"department-for-work-pensions", action, resource)\n'
              'when { resource.capacity == Capacity::"suspect" && resource.category == Category::"identity" };'),
        local("no-other", 'forbid (principal, action, resource) when { context.purpose == Purpose::"other" };'),
    ]  # fmt: skip
    report = verify_policy_set(load_baseline(), policies, controller=MET)
    assert report.proven, report.summary()
    assert report.controller == MET
    assert report.local == tuple(sorted((p.policy_id, p.sha256) for p in policies))
    assert report.policy_version == PolicyEngine(MET, policies).version
    adds_only = [r for r in report.results if r.property == "local-adds-only"]
    assert [r.policy for r in adds_only] == ["dwp-suspect-identity"]  # forbids need no such proof


def test_a_report_round_trips_through_json() -> None:
    report = verify_policy_set(broken_baseline())
    assert not report.proven
    again = ProofReport.from_dict(json.loads(report.to_json()))
    assert again == report
    cx = report.failures[0].counterexample
    assert cx is not None and Counterexample.from_dict(cx.as_dict()) == cx


def test_a_failure_gives_a_counterexample_that_cedar_allows() -> None:
    baseline = broken_baseline()
    report = verify_policy_set(baseline)
    failed = {(r.property, r.semantics) for r in report.failures}
    assert failed == {("firewall-status-nationality", "engine"), ("firewall-status-nationality", "cedar")}
    cx = report.failures[0].counterexample
    assert cx is not None
    assert cx.category in (Category.NATIONALITY, Category.IMMIGRATION_STATUS)
    assert cx.capacity.protected and not cx.consent
    # asked of the real engine, on a registry organisation: allowed
    assert cx.requester.id in registry() and cx.controller.id in registry()
    engine = PolicyEngine(cx.controller.id, baseline=baseline)
    request = PolicyEngine.cedar_request(
        cx.requester.id, cx.capacity, cx.category, cx.purpose, cx.direction, False
    )
    assert engine.authorise_many([request])[0].allowed
    # and the shipped baseline denies the very same request
    assert not PolicyEngine(cx.controller.id).authorise_many([request])[0].allowed


# ---------------------------------------------------------------- the subset and bad input


@pytest.mark.parametrize(
    ("body", "construct"),
    [
        (
            'permit (principal, action, resource) when { context.purpose == Purpose::"other" && 1 < 2 };',
            "less",
        ),
        (
            'permit (principal, action, resource) when { context has purpose && ip("10.0.0.1").isIpv4() };',
            "ip",
        ),
        ("permit (principal, action, resource) when { principal.kind is OrgKind && {a: true}.a };", "record"),
    ],
)
def test_constructs_outside_the_subset_are_refused_by_name(body: str, construct: str) -> None:
    with pytest.raises(UnsupportedPolicy) as caught:
        verify_policy_set(load_baseline(), [local("odd", body)], controller=MET, validate=False)
    assert "'odd'" in caught.value.message and construct in caught.value.message
    assert caught.value.field == "odd" and caught.value.exit_status == 2


def test_a_policy_naming_an_organisation_outside_the_registry_is_refused() -> None:
    typo = local("typo", 'forbid (principal == Org::"kent-polce", action, resource);')
    with pytest.raises(UnsupportedPolicy, match="kent-polce"):
        verify_policy_set(load_baseline(), [typo], controller=MET)


def test_a_set_that_does_not_validate_is_invalid_not_proven() -> None:
    typo = dataclasses.replace(
        load_baseline(),
        policies=load_baseline().policies.replace('Capacity::"offender"', 'Capacity::"ofender"', 1),
    )
    with pytest.raises(PolicyInvalid, match="firewall-immigration-bodies") as caught:
        verify_policy_set(typo)
    assert caught.value.exit_status == 2


def test_duplicate_ids_and_mixed_controllers_are_invalid() -> None:
    twice = LocalPolicy(MET, "x", '@id("lawful-healthcare")\nforbid (principal, action, resource);')
    with pytest.raises(PolicyInvalid, match="lawful-healthcare"):
        verify_policy_set(load_baseline(), [twice])
    with pytest.raises(PolicyInvalid, match="controller"):
        verify_policy_set(
            load_baseline(), [local("a", "forbid (principal, action, resource);", KENT)], controller=MET
        )


def test_a_schema_unlike_the_engines_entities_is_refused() -> None:
    schema = load_baseline().schema.replace(
        "functions: Set<Function>,", "functions: Set<Function>,\n  region: String,"
    )
    with pytest.raises(PolicyInvalid, match="entities"):
        verify_policy_set(dataclasses.replace(load_baseline(), schema=schema))


def test_an_erroring_policy_fails_no_evaluation_errors_and_cedar_confirms_it() -> None:
    erring = local(
        "colourful", 'forbid (principal, action, resource) when { principal.colour == Capacity::"victim" };'
    )
    report = verify_policy_set(load_baseline(), [erring], controller=MET, validate=False)
    [failure] = report.failures
    assert failure.property == "no-evaluation-errors" and failure.policy == "colourful"
    assert failure.counterexample is not None
    seen = replay(failure.counterexample, [t for t in _templates(load_baseline().policies + erring.text)],
                  load_baseline().schema)  # fmt: skip
    assert seen.errors and not seen.engine_allowed


def _templates(text: str):  # type: ignore[no-untyped-def]
    import cedarpy

    return list(cedarpy.policies_to_pst(text).static_policies.values())


# ---------------------------------------------------------------- draft directories


def test_a_copy_of_the_shipped_directory_is_proven(tmp_path: Path) -> None:
    shutil.copytree(BASELINE_DIR, tmp_path / "draft")
    report = verify_policy_dir(tmp_path / "draft")
    assert report.proven
    assert report.baseline_sha256 == load_baseline().sha256  # same name, version and text: same hash


def test_a_draft_directory_with_a_broken_baseline_fails(tmp_path: Path) -> None:
    draft = tmp_path / "draft"
    shutil.copytree(BASELINE_DIR, draft)
    (draft / "national-baseline.cedar").write_text(NO_STATUS_FORBID, "utf-8")
    report = verify_policy_dir(draft)
    assert not report.proven and report.baseline_sha256 != load_baseline().sha256


def test_a_directory_of_local_drafts_needs_a_controller(tmp_path: Path) -> None:
    (tmp_path / "open.cedar").write_text('@id("open")\npermit (principal, action, resource);', "utf-8")
    with pytest.raises(BadInput, match="controller"):
        load_policy_dir(tmp_path)
    baseline, drafts = load_policy_dir(tmp_path, controller=MET)
    assert baseline == load_baseline() and [p.policy_id for p in drafts] == ["open"]
    report = verify_policy_dir(tmp_path, controller=MET)
    assert [(r.property, r.policy) for r in report.failures] == [("local-adds-only", "open")]


# ---------------------------------------------------------------- the cache


def test_the_cache_keeps_proven_reports_only_under_their_key(tmp_path: Path) -> None:
    cache = ProofCache(tmp_path / "proofs")
    report = verify_policy_set(load_baseline())
    assert cache.get(report.key) is None
    cache.put(report)
    hit = cache.get(report.key)
    assert hit is not None and hit.cached and hit == report
    with pytest.raises(ValueError, match="proven"):
        cache.put(verify_policy_set(broken_baseline()))
    # a file edited to claim another set's key, or to claim "proven" for a failed one, is not a hit
    path = tmp_path / "proofs" / f"{report.key}.json"
    other = proof_key(broken_baseline(), (), None)
    shutil.copy(path, tmp_path / "proofs" / f"{other}.json")
    assert cache.get(other) is None
    failed = verify_policy_set(broken_baseline()).as_dict()
    failed["key"] = other
    (tmp_path / "proofs" / f"{other}.json").write_text(json.dumps(failed), "utf-8")
    assert cache.get(other) is None
    path.write_text("{not json", "utf-8")
    assert cache.get(report.key) is None


def test_the_key_changes_with_every_hash_it_names() -> None:
    baseline = load_baseline()
    policy = local("p", "forbid (principal, action, resource);")
    keys = {
        proof_key(baseline, (), None),
        proof_key(baseline, (), MET),
        proof_key(baseline, [policy], MET),
        proof_key(baseline, [dataclasses.replace(policy, text=policy.text + " ")], MET),
        proof_key(broken_baseline(), (), None),
        proof_key(dataclasses.replace(baseline, schema=baseline.schema + "\n"), (), None),
        proof_key(dataclasses.replace(baseline, version="1.0.1"), (), None),
    }
    assert len(keys) == 7
    # the key is of the text, not of the hash a baseline claims
    assert proof_key(dataclasses.replace(broken_baseline(), sha256=baseline.sha256), (), None) in keys


def test_prove_cached_proves_once_then_reads_the_cache(tmp_path: Path) -> None:
    cache = ProofCache(tmp_path / "proofs")
    first = prove_cached(load_baseline(), (), KENT, cache, fresh=True)
    assert first.proven and not first.cached
    assert (tmp_path / "proofs" / f"{first.key}.json").exists()
    again = prove_cached(load_baseline(), (), KENT, cache)
    assert again.cached and again.key == first.key
    # a cache directory elsewhere is filled from this process's proofs too
    other = ProofCache(tmp_path / "elsewhere")
    assert prove_cached(load_baseline(), (), KENT, other).cached
    assert other.get(first.key) is not None


# ---------------------------------------------------------------- the gate


RECORD = {
    "controller": MET, "record_id": "MPS-G-1", "kind": "crime_report", "created": "2026-03-01T10:00:00Z",
    "persons": [{"person_id": "P-1", "role": "victim", "data": {"name": "Ana Example", "nationality": "Utopian"}}],
    "narrative": "reported an assault", "derived_from": [],
}  # fmt: skip
REQUEST = {
    "request_id": "REQ-G", "requester": KENT, "controller": MET, "direction": "inbound",
    "purpose": "criminal_investigation", "legal_basis": "none", "justification": "status",
    "subject": {"person_id": "P-1"}, "record_id": None, "categories": ["identity", "nationality"],
}  # fmt: skip


def test_the_gate_refuses_a_baseline_that_fails_its_proof(db_url: str) -> None:
    settings = load_settings(db=db_url)
    with Firewall.open(db_url) as fw:  # the shipped baseline: the record goes in
        fw.ingest([parse_record(RECORD)])
        [item] = fw.decide(parse_request(REQUEST)).disclosed
        assert dict(item.data) == {"name": "Ana Example"}  # the victim's nationality stays
    fw = Firewall(Store.open(db_url), settings, baseline=broken_baseline())
    try:
        with pytest.raises(PolicyUnproven, match="firewall-status-nationality") as caught:
            fw.decide(parse_request(REQUEST))
        assert "capacity=" in caught.value.message and "consent=false" in caught.value.message
        with pytest.raises(PolicyUnproven):
            fw.ingest([parse_record(RECORD)])
        with pytest.raises(PolicyUnproven):
            fw.engine_for(KENT)
        # nothing was decided, so nothing was logged
        assert fw.verify_audit().entries == 1
    finally:
        fw.close()
    # the premise: without the gate, this baseline would have released the victim's data
    engine = PolicyEngine(MET, baseline=broken_baseline())
    request = PolicyEngine.cedar_request(KENT, Capacity.VICTIM, Category.NATIONALITY, Purpose.CRIMINAL_INVESTIGATION,
                                         Direction.INBOUND, False)  # fmt: skip
    assert engine.authorise_many([request])[0].allowed


def test_the_gate_refuses_a_local_policy_slipped_into_the_store(firewall: Firewall) -> None:
    sneaky = local("status-to-police", 'permit (principal, action, resource) when { principal.functions.contains('
                   'Function::"policing") && resource.category == Category::"nationality" };')  # fmt: skip
    with pytest.raises(LocalPolicyRejected, match="status-to-police"):
        firewall.add_local_policy(sneaky)
    with firewall.store.write() as conn:  # written around the firewall, as a tampered store would be
        consent_store.put_local_policy(conn, sneaky, firewall.clock())
    with pytest.raises(PolicyUnproven, match="status-to-police") as caught:
        firewall.engine_for(MET)
    assert caught.value.field == "status-to-police"
    with pytest.raises(PolicyUnproven):
        firewall.decide(parse_request(dict(REQUEST, purpose="criminal_investigation")))
    assert firewall.engine_for(KENT).local == ()  # other controllers are unaffected


def test_the_gate_writes_the_proof_to_the_home_cache(firewall: Firewall) -> None:
    firewall.engine_for(KENT)
    key = proof_key(firewall.baseline, (), None)
    assert firewall.proofs.get(key) is not None
    assert firewall.proofs.directory == firewall.settings.home / "proofs"


def test_require_proven_turns_an_unprovable_set_into_policy_unproven(tmp_path: Path) -> None:
    typo = dataclasses.replace(
        load_baseline(),
        policies=load_baseline().policies.replace('Purpose::"prosecution"', 'Purpose::"prosecutoin"'),
    )
    with pytest.raises(PolicyUnproven, match="cannot be proven"):
        require_proven(typo, (), None, ProofCache(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_add_local_policy_refuses_a_set_the_proof_rejects_and_accepts_a_lawful_one(
    firewall: Firewall,
) -> None:
    lawful = local("dwp-suspects", 'permit (principal, action, resource) when { principal.functions.contains('
                   'Function::"benefits") && resource.capacity == Capacity::"suspect" && '
                   'resource.category == Category::"identity" };')  # fmt: skip
    firewall.add_local_policy(lawful)
    key = proof_key(firewall.baseline, [lawful], MET)
    assert firewall.proofs.get(key) is not None
    assert firewall.engine_for(MET).local == (lawful,)


def test_verify_all_covers_the_43_forces_and_controllers_with_local_policies(firewall: Firewall) -> None:
    firewall.add_local_policy(
        local("closed", "forbid (principal, action, resource);", "london-borough-of-lambeth")
    )
    reports = verify_all(firewall)
    forces = territorial_forces()
    assert len(forces) == 43 and "british-transport-police" not in forces
    assert [r.controller for r in reports] == [*forces, "london-borough-of-lambeth"]
    assert all(r.proven for r in reports)
    assert reports[-1].local and reports[-1].local[0][0] == "closed"
    lines = proof_lines(reports)
    assert lines[0].startswith("   44 of 44 policy sets proven") and not any(
        "NOT PROVEN" in line for line in lines
    )
    failing = proof_lines([*reports[:2], verify_policy_set(broken_baseline(), controller=KENT)])
    assert "2 of 3" in failing[0] and "NOT PROVEN: kent-police: firewall-status-nationality" in failing[-1]


# ---------------------------------------------------------------- the command line


def _safereport() -> str:
    beside = Path(sys.executable).with_name("safereport")
    found = str(beside) if beside.exists() else shutil.which("safereport")
    assert found, "the safereport command is not installed"
    return found


def run_cli(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SAFEREPORT_DB=db_url)
    return subprocess.run([_safereport(), *args], capture_output=True, text=True, env=env, timeout=300)


def test_cli_verify_proves_the_shipped_sets(db_url: str) -> None:
    with Firewall.open(db_url) as fw:
        fw.add_local_policy(local("no-other", 'forbid (principal, action, resource) when { context.purpose == '
                                  'Purpose::"other" };', "nhs-gp-practice-example"))  # fmt: skip
    proc = run_cli(db_url, "policy", "verify", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["proven"] is True
    controllers = [r["controller"] for r in out["reports"]]
    assert controllers == [None, *territorial_forces(), "nhs-gp-practice-example"]
    assert out["reports"][0]["baseline_sha256"] == load_baseline().sha256
    assert out["reports"][-1]["local"][0]["policy_id"] == "no-other"
    text = run_cli(db_url, "policy", "verify", "--controller", KENT)
    assert text.returncode == 0, text.stderr
    assert "PROVEN" in text.stdout and "firewall-immigration" in text.stdout and KENT in text.stdout
    assert "2 of 2 policy sets proven" in text.stdout


def test_cli_verify_a_broken_draft_exits_1_with_a_counterexample(tmp_path: Path, db_url: str) -> None:
    draft = tmp_path / "draft"
    shutil.copytree(BASELINE_DIR, draft)
    (draft / "national-baseline.cedar").write_text(NO_STATUS_FORBID, "utf-8")
    proc = run_cli(db_url, "policy", "verify", "--policies", str(draft))
    assert proc.returncode == 1
    assert "NOT PROVEN" in proc.stdout and "counterexample: requester=" in proc.stdout
    assert "firewall-status-nationality" in proc.stdout
    assert proc.stderr.startswith("safereport: policy_unproven") and len(proc.stderr.splitlines()) == 1


@pytest.mark.parametrize("what", ["typo", "unknown-controller", "no-directory"])
def test_cli_verify_bad_input_exits_2(tmp_path: Path, db_url: str, what: str) -> None:
    draft = tmp_path / "draft"
    shutil.copytree(BASELINE_DIR, draft)
    text = (draft / "national-baseline.cedar").read_text("utf-8")
    (draft / "national-baseline.cedar").write_text(
        text.replace('Capacity::"suspect"', 'Capacity::"suspcet"'), "utf-8"
    )
    args = {
        "typo": ["--policies", str(draft)],
        "unknown-controller": ["--controller", "nowhere-police"],
        "no-directory": ["--policies", str(tmp_path / "missing")],
    }[what]
    proc = run_cli(db_url, "policy", "verify", *args)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == "" and len(proc.stderr.splitlines()) == 1
