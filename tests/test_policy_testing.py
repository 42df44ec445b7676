"""Table-driven policy tests (`safereport policy test`): the shipped baseline table, run through
the library and through the command line, failures that must fail, and bad tables that must be
refused with the file, the case and the field named."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safereport.errors import BadInput
from safereport.model import Capacity, Category, Direction, Purpose
from safereport.orgs import registry
from safereport.policy.engine import LocalPolicy, PolicyEngine, load_baseline, policy_ids
from safereport.policy.testing import Expect, PolicyCase, load_table, run_case, run_policy_tests

HERE = Path(__file__).resolve().parent
BASELINE_TABLES = HERE / "policy" / "baseline"
DRAFT_TABLES = HERE / "policy" / "local-draft"
SAFEREPORT = [sys.executable, "-m", "safereport.cli"]
MET = "metropolitan-police-service"

# Written out from the contract, not taken from the code under test.
PROTECTED = {"victim", "witness", "reporter", "patient", "pupil", "service_user"}
IMMIGRATION_BODIES = {
    "home-office-immigration-enforcement",
    "home-office-border-force",
    "home-office-uk-visas-immigration",
    "hm-passport-office",
}
FIREWALL = ("firewall-immigration-bodies", "firewall-immigration-purpose", "firewall-status-and-nationality")


def cli(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ, SAFEREPORT_HOME=str(tmp_path / "home"), SAFEREPORT_DB=f"sqlite:///{tmp_path / 'c.db'}"
    )
    return subprocess.run(SAFEREPORT + args, capture_output=True, text=True, env=env, timeout=120)


def table(tmp_path: Path, text: str, name: str = "t.toml") -> Path:
    folder = tmp_path / "tables"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text, "utf-8")
    return folder


CASE = """
[[case]]
name = "IE asks for a victim's contact"
requester = "home-office-immigration-enforcement"
controller = "metropolitan-police-service"
capacity = "victim"
category = "contact"
purpose = "immigration_enforcement"
expect = "deny"
"""


# ---------------------------------------------------------------- the shipped table


def test_shipped_baseline_table_passes_and_covers_every_baseline_policy() -> None:
    report = run_policy_tests(BASELINE_TABLES)
    assert report.passed, [r.message for r in report.failures]
    rows = sum(path.read_text("utf-8").count("[[case]]") for path in BASELINE_TABLES.glob("*.toml"))
    assert rows >= 60
    assert len(report.results) >= rows
    assert report.never_fired == ()
    decided = {pid for r in report.results for pid in r.fired}
    assert set(policy_ids(load_baseline().policies)) <= decided


def test_shipped_table_covers_the_firewall_for_every_protected_capacity_and_body() -> None:
    results = run_policy_tests(BASELINE_TABLES).results
    for policy in FIREWALL:
        denied = {r.case.capacity.value for r in results if policy in r.fired and not r.allowed}
        assert denied == PROTECTED, policy
    bodies = {r.case.requester for r in results if "firewall-immigration-bodies" in r.fired}
    assert bodies == IMMIGRATION_BODIES
    outbound = [r for r in results if r.case.direction is Direction.OUTBOUND]
    assert {r.allowed for r in outbound} == {True, False}
    assert {"firewall-immigration-bodies", "lawful-status-check-outbound"} <= {
        p for r in outbound for p in r.fired
    }
    consented = [r for r in results if r.case.consent and r.case.capacity.value in PROTECTED]
    assert consented and all(r.allowed for r in consented)
    # Lawful flows: every permit of the baseline allowed something.
    permits = {p for r in results if r.allowed for p in r.fired}
    assert {p for p in policy_ids(load_baseline().policies) if p.startswith("lawful-")} <= permits


def test_no_shipped_case_lets_protected_data_reach_immigration_without_consent() -> None:
    for result in run_policy_tests(BASELINE_TABLES).results:
        case = result.case
        immigration = case.requester in IMMIGRATION_BODIES or case.purpose is Purpose.IMMIGRATION_ENFORCEMENT
        if case.capacity.value in PROTECTED and immigration and not case.consent:
            assert not result.allowed and case.expect is Expect.DENY, case.name


def test_shipped_baseline_table_through_the_cli(tmp_path: Path) -> None:
    proc = cli(["policy", "test", str(BASELINE_TABLES)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    total = len(run_policy_tests(BASELINE_TABLES).results)
    assert sum(line.startswith("PASS  ") for line in lines) == total
    assert not any(line.startswith("FAIL") for line in lines)
    assert f"{total} cases in 6 files: {total} passed, 0 failed" in lines
    as_json = cli(["policy", "test", str(BASELINE_TABLES), "--json"], tmp_path)
    assert as_json.returncode == 0
    document = json.loads(as_json.stdout)
    assert document["passed"] is True and document["total"] == total and document["failed"] == 0


def test_the_draft_example_passes_and_its_drafts_are_what_make_it_pass(tmp_path: Path) -> None:
    report = run_policy_tests(DRAFT_TABLES)
    assert report.passed, [r.message for r in report.failures]
    assert report.drafts == ("dwp-offender-identity.cedar", "no-narratives-to-councils.cedar")
    decided = {p for r in report.results for p in r.fired}
    assert {"local-dwp-offender-identity", "local-no-narratives-to-councils"} <= decided
    # With the draft changed to forbid health data instead, the cases relying on it fail.
    copy = tmp_path / "draft"
    shutil.copytree(DRAFT_TABLES, copy)
    draft = copy / "no-narratives-to-councils.cedar"
    draft.write_text(draft.read_text("utf-8").replace('Category::"narrative"', 'Category::"health"'), "utf-8")
    without = run_policy_tests(copy)
    assert not without.passed
    assert {r.case.name.split(" [")[0] for r in without.failures} == {
        "A council no longer receives narratives"
    }
    proc = cli(["policy", "test", str(copy)], tmp_path)
    assert proc.returncode == 1
    assert "FAIL  draft.toml: A council no longer receives narratives" in proc.stdout


# ---------------------------------------------------------------- failures


def test_a_wrong_expectation_fails_naming_the_case(tmp_path: Path) -> None:
    folder = table(tmp_path, CASE.replace('expect = "deny"', 'expect = "allow"'))
    report = run_policy_tests(folder)
    assert not report.passed
    (failure,) = report.failures
    assert failure.message.startswith("t.toml: IE asks for a victim's contact: expected allow; got deny")
    assert "firewall-immigration-bodies" in failure.message
    proc = cli(["policy", "test", str(folder)], tmp_path)
    assert proc.returncode == 1
    assert "FAIL  t.toml: IE asks for a victim's contact: expected allow" in proc.stdout
    assert "1 cases in 1 file: 0 passed, 1 failed" in proc.stdout
    as_json = cli(["policy", "test", str(folder), "--json"], tmp_path)
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout)["cases"][0]["passed"] is False


def test_wrong_firing_policies_fail_even_with_the_right_verdict(tmp_path: Path) -> None:
    exact = CASE + 'fired = ["firewall-immigration-bodies"]\n'
    (failure,) = run_policy_tests(table(tmp_path, exact)).failures
    assert "expected exactly [firewall-immigration-bodies] to decide" in failure.message
    assert "firewall-immigration-purpose" in failure.message
    includes = CASE + 'fired_includes = ["firewall-status-and-nationality"]\n'
    (failure,) = run_policy_tests(table(tmp_path, includes)).failures
    assert "expected [firewall-status-and-nationality] among the policies that decide" in failure.message
    right = CASE + 'fired_includes = ["firewall-immigration-purpose"]\n'
    assert run_policy_tests(table(tmp_path, right)).passed


def test_one_failing_case_among_many_fails_the_run(tmp_path: Path) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(BASELINE_TABLES, folder)
    path = folder / "consent.toml"
    text = path.read_text("utf-8")
    path.write_text(
        text.replace('consent = false\nexpect = "deny"', 'consent = false\nexpect = "allow"'), "utf-8"
    )
    report = run_policy_tests(folder)
    assert [r.case.name for r in report.failures] == ["The same application without consent"]


def test_lists_expand_to_one_named_case_per_combination(tmp_path: Path) -> None:
    text = CASE.replace('capacity = "victim"', 'capacity = ["victim", "suspect"]').replace(
        'category = "contact"', 'category = ["identity", "health"]'
    )
    report = run_policy_tests(table(tmp_path, text))
    names = [r.case.name for r in report.results]
    assert names == [
        "IE asks for a victim's contact [capacity=victim, category=identity]",
        "IE asks for a victim's contact [capacity=victim, category=health]",
        "IE asks for a victim's contact [capacity=suspect, category=identity]",
        "IE asks for a victim's contact [capacity=suspect, category=health]",
    ]
    # The suspect's identity is a lawful status check: that one combination fails.
    assert [r.case.name for r in report.failures] == [names[2]]


def test_defaults_apply_and_a_case_overrides_them(tmp_path: Path) -> None:
    text = """
[defaults]
controller = "nhs-gp-practice-example"
purpose = "healthcare"
consent = false

[[case]]
name = "a"
requester = "nhs-gp-practice-ancoats"
capacity = "patient"
category = "health"
expect = "allow"
fired = ["lawful-healthcare"]

[[case]]
name = "b"
controller = "metropolitan-police-service"
requester = "nhs-gp-practice-ancoats"
capacity = "patient"
category = "health"
expect = "deny"
"""
    report = run_policy_tests(table(tmp_path, text))
    assert report.passed
    assert [r.case.controller for r in report.results] == ["nhs-gp-practice-example", MET]


def test_local_policies_apply_to_their_own_controller_only(tmp_path: Path) -> None:
    forbid = LocalPolicy(
        MET,
        "no-contact",
        '@id("met-no-contact")\nforbid (principal, action, resource) when { resource.category == Category::"contact" };',
    )
    text = """
[[case]]
name = "met"
requester = "london-borough-of-lambeth"
controller = "metropolitan-police-service"
capacity = "victim"
category = "contact"
purpose = "safeguarding"
expect = "deny"

[[case]]
name = "kent"
requester = "london-borough-of-lambeth"
controller = "kent-police"
capacity = "victim"
category = "contact"
purpose = "safeguarding"
expect = "allow"
"""
    folder = table(tmp_path, text)
    with_local = run_policy_tests(folder, local=[forbid])
    assert with_local.passed
    assert with_local.results[0].fired == ("met-no-contact",)
    assert [r.case.name for r in run_policy_tests(folder).failures] == ["met"]


# ---------------------------------------------------------------- bad tables


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (
            ('capacity = "victim"', 'capacity = "vicitm"'),
            "t.toml: case 1 (IE asks for a victim's contact): capacity",
            "'vicitm'",
        ),
        (
            ('category = "contact"', 'category = ["contact", "postcode"]'),
            "case 1 (IE asks for a victim's contact): category.1",
            "'postcode'",
        ),
        (
            ('expect = "deny"', 'expect = "maybe"'),
            "case 1 (IE asks for a victim's contact): expect",
            "'maybe'",
        ),
        (
            ('expect = "deny"', ""),
            "case 1 (IE asks for a victim's contact): expect",
            "required field is missing",
        ),
        (
            ('expect = "deny"', 'expect = "deny"\nconsent = "yes"'),
            "case 1 (IE asks for a victim's contact): consent",
            "'yes'",
        ),
        (
            ('expect = "deny"', 'expect = "deny"\ncapacty = "victim"'),
            "case 1 (IE asks for a victim's contact): capacty",
            "unknown field",
        ),
        (
            ('capacity = "victim"', "capacity = []"),
            "case 1 (IE asks for a victim's contact): capacity",
            "empty list",
        ),
        (
            ('requester = "home-office-immigration-enforcement"', 'requester = "home-office"'),
            "case 1 (IE asks for a victim's contact): requester",
            "'home-office'",
        ),
        (
            ('expect = "deny"', 'expect = "deny"\nfired = ["firewall-immigration-body"]'),
            "case 1 (IE asks for a victim's contact): fired",
            "'firewall-immigration-body'",
        ),
        (("[[case]]", "[[cases]]"), "t.toml: cases", "unknown field"),
        (('expect = "deny"', 'expect = "deny'), "t.toml", "expected valid TOML"),
    ],
)
def test_a_bad_table_is_refused_naming_file_case_and_field(
    tmp_path: Path, change: tuple[str, str], field: str, words: str
) -> None:
    folder = table(tmp_path, CASE.replace(*change))
    with pytest.raises(BadInput) as caught:
        run_policy_tests(folder)
    assert caught.value.field is not None and field in caught.value.field
    assert words in caught.value.message
    proc = cli(["policy", "test", str(folder)], tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and field in proc.stderr


def test_duplicate_case_names_and_empty_tables_are_refused(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="unique") as caught:
        run_policy_tests(table(tmp_path, CASE + CASE))
    assert caught.value.field == "t.toml: case 2 (IE asks for a victim's contact): name"
    with pytest.raises(BadInput, match=r"at least one \[\[case\]\]"):
        run_policy_tests(table(tmp_path, 'description = "nothing"\n'))


def test_a_directory_without_tables_or_that_is_not_one_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(BadInput, match=r"at least one \.toml"):
        run_policy_tests(tmp_path / "empty")
    with pytest.raises(BadInput, match="does not exist"):
        run_policy_tests(tmp_path / "missing")
    proc = cli(["policy", "test", str(tmp_path / "missing")], tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""


@pytest.mark.parametrize(
    ("draft", "words"),
    [
        (
            '@id("d")\nforbid (principal, action, resource) when { resource.capacity == Capacity::"vicitm" };',
            "vicitm",
        ),
        ("forbid (principal, action, resource) when { context.consent };", "@id"),
        ('@id("firewall-immigration-bodies")\nforbid (principal, action, resource);', "used twice"),
        ('@id("d")\npermit (principal, action, resource) when {', "parse"),
    ],
)
def test_a_bad_draft_is_refused_naming_its_file(tmp_path: Path, draft: str, words: str) -> None:
    folder = table(tmp_path, CASE)
    (folder / "draft.cedar").write_text(draft, "utf-8")
    with pytest.raises(BadInput) as caught:
        run_policy_tests(folder)
    assert caught.value.field == "draft.cedar"
    assert words in caught.value.message


def test_drafts_sharing_an_id_are_refused(tmp_path: Path) -> None:
    folder = table(tmp_path, CASE)
    for name in ("a", "b"):
        (folder / f"{name}.cedar").write_text('@id("same")\nforbid (principal, action, resource);', "utf-8")
    with pytest.raises(BadInput, match="used twice"):
        run_policy_tests(folder)


# ---------------------------------------------------------------- properties

REQUESTERS = sorted(registry())


@st.composite
def questions(draw: st.DrawFn) -> PolicyCase:
    return PolicyCase(
        file="generated.toml",
        name=draw(
            st.text(
                st.characters(
                    min_codepoint=32,
                    max_codepoint=0x2FF,
                    exclude_categories=("Cc",),
                    exclude_characters='"\\',
                ),
                min_size=1,
                max_size=40,
            )
        ),
        requester=draw(st.sampled_from(REQUESTERS)),
        controller=draw(st.sampled_from([MET, "nhs-gp-practice-example", "london-borough-of-lambeth"])),
        capacity=draw(st.sampled_from(list(Capacity))),
        category=draw(st.sampled_from(list(Category))),
        purpose=draw(st.sampled_from(list(Purpose))),
        direction=draw(st.sampled_from(list(Direction))),
        consent=draw(st.booleans()),
        expect=draw(st.sampled_from(list(Expect))),
    )


def _toml(case: PolicyCase) -> str:
    return (
        f'[[case]]\nname = "{case.name}"\nrequester = "{case.requester}"\ncontroller = "{case.controller}"\n'
        f'capacity = "{case.capacity}"\ncategory = "{case.category}"\npurpose = "{case.purpose}"\n'
        f'direction = "{case.direction}"\nconsent = {str(case.consent).lower()}\nexpect = "{case.expect}"\n'
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(questions())
def test_a_case_passes_exactly_when_it_expects_the_engines_verdict(case: PolicyCase) -> None:
    engine = PolicyEngine(case.controller)
    verdict = engine.authorise(
        registry()[case.requester], case.capacity, case.category, case.purpose, case.direction, case.consent
    )
    result = run_case(engine, case)
    assert result.passed == (verdict.allowed == (case.expect is Expect.ALLOW))
    assert result.fired == tuple(sorted(verdict.policies))
    assert result.message.startswith(f"generated.toml: {case.name}: ")
    if not result.passed:
        assert f"expected {case.expect}" in result.message


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(questions())
def test_a_written_case_reads_back_as_written(
    tmp_path_factory: pytest.TempPathFactory, case: PolicyCase
) -> None:
    path = tmp_path_factory.mktemp("t") / "generated.toml"
    path.write_text(_toml(case), "utf-8")
    (read,) = load_table(path)
    assert read == case
