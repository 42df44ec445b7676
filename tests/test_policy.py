"""The policy room: the shipped national baseline, its schema, and the engine that runs it.

The firewall property (contract §5) is restated here in plain Python, independently of the
Cedar text, and checked against the engine over the whole finite domain.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import shutil
from collections import defaultdict
from functools import cache
from itertools import product
from pathlib import Path
from types import SimpleNamespace

import cedarpy
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from safereport.errors import PolicyError
from safereport.model import Capacity, Category, Direction, Organisation, Purpose
from safereport.orgs import registry
from safereport.policy import engine as engine_mod
from safereport.policy.engine import (
    DEFAULT_DENY,
    EVALUATION_ERROR,
    LocalPolicy,
    PolicyEngine,
    Verdict,
    digest_baseline,
    load_baseline,
    policy_ids,
)

MET = "metropolitan-police-service"
IE = "home-office-immigration-enforcement"
UKVI = "home-office-uk-visas-immigration"
IMM = "immigration_enforcement"
BASELINE_DIR = Path(engine_mod.__file__).resolve().parent / "baseline"

# The contract's vocabulary, written out here rather than taken from the code under test.
PROTECTED = {"victim", "witness", "reporter", "patient", "pupil", "service_user"}
IMMIGRATION_FUNCTIONS = {"immigration_enforcement", "immigration_casework"}
STATUS_CATEGORIES = {"immigration_status", "nationality"}

FIREWALL_BODIES = "firewall-immigration-bodies"
FIREWALL_PURPOSE = "firewall-immigration-purpose"
FIREWALL_STATUS = "firewall-status-and-nationality"
BASELINE_IDS = {
    FIREWALL_BODIES,
    FIREWALL_PURPOSE,
    FIREWALL_STATUS,
    "lawful-police-investigation",
    "lawful-prosecution",
    "lawful-safeguarding",
    "lawful-healthcare",
    "lawful-status-check-inbound",
    "lawful-status-check-outbound",
    "lawful-subject-consent",
}


def must_deny(org: Organisation, capacity: str, category: str, purpose: str, consent: bool) -> set[str]:
    """The baseline forbids that §5 requires to fire (empty: §5 says nothing about the request)."""
    if consent or capacity not in PROTECTED:
        return set()
    reasons = set()
    if {f.value for f in org.functions} & IMMIGRATION_FUNCTIONS:
        reasons.add(FIREWALL_BODIES)
    if purpose == "immigration_enforcement":
        reasons.add(FIREWALL_PURPOSE)
    if category in STATUS_CATEGORIES:
        reasons.add(FIREWALL_STATUS)
    return reasons


@cache
def met_engine() -> PolicyEngine:
    return PolicyEngine(MET)


DWP_SUSPECTS = LocalPolicy(
    MET,
    "dwp-suspect-identity",
    '@id("dwp-suspect-identity")\n'
    'permit (principal == Org::"department-for-work-pensions", action == Action::"disclose", resource)\n'
    'when { context.purpose == Purpose::"benefits_administration" &&\n'
    '       resource.capacity == Capacity::"suspect" && resource.category == Category::"identity" };\n',
)
COUNCIL_CONTACT = LocalPolicy(
    MET,
    "council-other-contact",
    '@id("council-other-contact")\n'
    "permit (principal, action, resource)\n"
    'when { principal.kind == OrgKind::"local_authority" && context.purpose == Purpose::"other" &&\n'
    '       resource.category == Category::"contact" };\n',
)


@cache
def met_engine_with_local() -> PolicyEngine:
    return PolicyEngine(MET, [DWP_SUSPECTS])


# ---------------------------------------------------------------- the shipped baseline


def test_manifest_hash_is_the_digest_of_the_shipped_files() -> None:
    manifest = json.loads((BASELINE_DIR / "manifest.json").read_text("utf-8"))
    policies = (BASELINE_DIR / "national-baseline.cedar").read_text("utf-8")
    schema = (BASELINE_DIR / "safereport.cedarschema").read_text("utf-8")
    assert manifest["sha256"] == digest_baseline(policies, schema, manifest["name"], manifest["version"])
    baseline = load_baseline()
    assert baseline.sha256 == manifest["sha256"]
    assert (baseline.policies, baseline.schema) == (policies, schema)
    assert (baseline.name, baseline.version) == (manifest["name"], manifest["version"])


def test_digest_is_sha256_over_framed_name_version_policies_and_schema() -> None:
    expected = hashlib.sha256(b"safereport-baseline-v1\x00n\x00v\x00ab\x00c").hexdigest()
    assert digest_baseline("ab", "c", "n", "v") == expected
    assert digest_baseline("ab", "c", "n", "v2") != expected


@settings(max_examples=60)
@given(st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=30), st.data())
def test_digest_separates_policies_from_schema(joined: str, data: st.DataObject) -> None:
    # Moving text across the policies/schema boundary must change the digest.
    i = data.draw(st.integers(0, len(joined)))
    j = data.draw(st.integers(0, len(joined)))
    assume(i != j)
    assert digest_baseline(joined[:i], joined[i:], "n", "v") != digest_baseline(
        joined[:j], joined[j:], "n", "v"
    )
    assert digest_baseline(joined[:i], joined[i:], "n", "v") == digest_baseline(
        joined[:i], joined[i:], "n", "v"
    )


@pytest.fixture
def baseline_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A copy of the package's baseline folder that `load_baseline` reads instead of the real one."""
    root = tmp_path / "pkg"
    shutil.copytree(BASELINE_DIR, root / "baseline")
    real_files = importlib.resources.files

    def files(package: str):
        return root if package == "safereport.policy" else real_files(package)

    monkeypatch.setattr(engine_mod, "resources", SimpleNamespace(files=files))
    load_baseline.cache_clear()
    yield root / "baseline"
    monkeypatch.undo()
    load_baseline.cache_clear()


def _flip_one(text: str, anchor: str, offset: int = 0) -> str:
    i = text.index(anchor) + offset
    replacement = "X" if text[i] != "X" else "Y"
    changed = text[:i] + replacement + text[i + 1 :]
    assert len(changed) == len(text) and sum(a != b for a, b in zip(changed, text, strict=True)) == 1
    return changed


def test_an_untouched_copy_of_the_baseline_loads(baseline_copy: Path) -> None:
    loaded = load_baseline()
    assert loaded.sha256 == json.loads((baseline_copy / "manifest.json").read_text("utf-8"))["sha256"]
    assert loaded.policies == (baseline_copy / "national-baseline.cedar").read_text("utf-8")


def test_the_helper_really_reads_the_copy(baseline_copy: Path) -> None:
    # A harmless edit with the manifest brought up to date loads, and the engine sees the edit:
    # so the refusals below are the hash check at work, not some other failure.
    path = baseline_copy / "national-baseline.cedar"
    policies = path.read_text("utf-8").replace(
        "// safereport national baseline", "// safereport national baselinX", 1
    )
    path.write_text(policies, "utf-8")
    schema = (baseline_copy / "safereport.cedarschema").read_text("utf-8")
    manifest = json.loads((baseline_copy / "manifest.json").read_text("utf-8"))
    manifest["sha256"] = digest_baseline(policies, schema, manifest["name"], manifest["version"])
    (baseline_copy / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    loaded = load_baseline()
    assert "baselinX" in loaded.policies
    assert loaded.sha256 == manifest["sha256"]


@pytest.mark.parametrize(
    ("filename", "anchor", "offset"),
    [
        ("national-baseline.cedar", "// safereport national baseline", 5),  # a comment
        ("national-baseline.cedar", 'Capacity::"suspect"', 11),  # the allowlist of the firewall
        ("national-baseline.cedar", "when { context.consent }", 7),  # the consent permit
        ("safereport.cedarschema", '"victim"', 1),  # an enum of the schema
        ("safereport.cedarschema", "// The Cedar schema", 3),  # a comment of the schema
    ],
)
def test_load_baseline_refuses_a_baseline_that_differs_from_its_manifest(
    baseline_copy: Path, filename: str, anchor: str, offset: int
) -> None:
    path = baseline_copy / filename
    path.write_text(_flip_one(path.read_text("utf-8"), anchor, offset), "utf-8")
    with pytest.raises(PolicyError, match="does not match its manifest"):
        load_baseline()
    with pytest.raises(PolicyError, match="does not match its manifest"):
        load_baseline()  # a refusal is not cached as a success
    with pytest.raises(PolicyError):
        PolicyEngine(MET)


def test_load_baseline_refuses_a_manifest_with_another_hash(baseline_copy: Path) -> None:
    path = baseline_copy / "manifest.json"
    manifest = json.loads(path.read_text("utf-8"))
    digest = manifest["sha256"]
    manifest["sha256"] = digest[:10] + ("0" if digest[10] != "0" else "1") + digest[11:]
    path.write_text(json.dumps(manifest), "utf-8")
    with pytest.raises(PolicyError, match="does not match its manifest"):
        load_baseline()


def test_every_baseline_policy_has_a_unique_id_and_validates_against_the_schema() -> None:
    baseline = load_baseline()
    ids = policy_ids(baseline.policies)
    assert len(ids) == len(set(ids))
    assert set(ids) == BASELINE_IDS
    schema = cedarpy.Schema.from_str(baseline.schema)
    whole = cedarpy.validate_policies(baseline.policies, schema)
    assert whole.validation_passed, whole.errors
    parsed = json.loads(cedarpy.policies_to_json_str(baseline.policies))["staticPolicies"]
    assert len(parsed) == len(BASELINE_IDS)
    for policy in parsed.values():
        single = json.dumps({"staticPolicies": {"p": policy}, "templates": {}, "templateLinks": []})
        result = cedarpy.validate_policies(str(cedarpy.policies_from_json_str(single)), schema)
        assert result.validation_passed, (policy["annotations"]["id"], result.errors)


def test_the_firewall_is_written_as_forbids() -> None:
    parsed = json.loads(cedarpy.policies_to_json_str(load_baseline().policies))["staticPolicies"]
    effects = {p["annotations"]["id"]: p["effect"] for p in parsed.values()}
    assert {k for k, v in effects.items() if v == "forbid"} == {
        FIREWALL_BODIES,
        FIREWALL_PURPOSE,
        FIREWALL_STATUS,
    }


@pytest.mark.parametrize(
    "condition",
    [
        'resource.capacity == Capacity::"vicitm"',
        'resource.category == Category::"identty"',
        'context.purpose == Purpose::"safegaurding"',
        'principal.functions.contains(Function::"policng")',
        'principal.kind == OrgKind::"police"',
        'context.direction == Direction::"inbond"',
    ],
)
def test_a_misspelt_enum_fails_validation(condition: str) -> None:
    text = f'@id("misspelt")\nforbid (principal, action, resource) when {{ {condition} }};\n'
    with pytest.raises(PolicyError, match="does not validate") as caught:
        PolicyEngine(MET, [LocalPolicy(MET, "misspelt", text)])
    assert "misspelt" in str(caught.value)
    # the same text, spelt right, is accepted: it is the spelling that is refused
    fixed = {"vicitm": "victim", "identty": "identity", "safegaurding": "safeguarding", "policng": "policing"}
    fixed |= {'"police"': '"police_force"', "inbond": "inbound"}
    for wrong, right in fixed.items():
        text = text.replace(wrong, right)
    PolicyEngine(MET, [LocalPolicy(MET, "misspelt", text)])


def test_an_attribute_outside_the_schema_fails_validation() -> None:
    text = '@id("colour")\nforbid (principal, action, resource) when { resource.colour == "red" };\n'
    with pytest.raises(PolicyError, match="does not validate"):
        PolicyEngine(MET, [LocalPolicy(MET, "colour", text)])


@pytest.mark.parametrize(
    "text",
    [
        "forbid (principal, action, resource);",
        '@id("first")\nforbid (principal, action, resource);\nforbid (principal, action, resource);',
        '@description("no id")\nforbid (principal, action, resource);',
    ],
)
def test_a_policy_without_an_id_is_refused(text: str) -> None:
    with pytest.raises(PolicyError, match="@id"):
        policy_ids(text)
    with pytest.raises(PolicyError, match="@id"):
        PolicyEngine(MET, [LocalPolicy(MET, "anonymous", text)])


def test_a_duplicate_id_is_refused() -> None:
    text = '@id("lawful-prosecution")\nforbid (principal, action, resource);\n'
    with pytest.raises(PolicyError, match="lawful-prosecution"):
        PolicyEngine(MET, [LocalPolicy(MET, "dup", text)])
    twice = [
        LocalPolicy(MET, "a", '@id("same")\nforbid (principal, action, resource);'),
        LocalPolicy(MET, "b", '@id("same")\nforbid (principal, action, resource) when { context.consent };'),
    ]
    with pytest.raises(PolicyError, match="same"):
        PolicyEngine(MET, twice)


def test_policy_ids_lists_ids_in_order() -> None:
    text = '@id("b")\nforbid (principal, action, resource);\n@id("a")\nforbid (principal, action, resource);'
    assert policy_ids(text) == ["b", "a"]
    with pytest.raises(PolicyError, match="does not parse"):
        policy_ids('@id("x")\npermit (principal, action, resource')


# ---------------------------------------------------------------- the firewall, exhaustively


def _signature(org: Organisation) -> tuple[str, frozenset[str]]:
    return org.kind.value, frozenset(f.value for f in org.functions)


def test_the_baseline_sees_requesters_only_through_kind_and_functions() -> None:
    # What makes grouping requesters by (kind, functions) in the table below exact: the baseline
    # names no organisation and never compares the principal itself.
    text = load_baseline().policies
    assert "Org::" not in text
    assert "principal ==" not in text and "principal in" not in text
    assert "== principal" not in text


def test_firewall_property_over_the_whole_domain() -> None:
    engine = met_engine()
    orgs = list(registry().values())
    groups: dict[tuple[str, frozenset[str]], list[Organisation]] = defaultdict(list)
    for org in orgs:
        groups[_signature(org)].append(org)
    representatives = {sig: members[0] for sig, members in groups.items()}
    consents = (False, True)
    keys = list(product(representatives, Capacity, Category, Purpose, Direction, consents))
    requests = [
        PolicyEngine.cedar_request(representatives[sig].id, cap, cat, pur, d, c)
        for sig, cap, cat, pur, d, c in keys
    ]
    table = dict(zip(keys, engine.authorise_many(requests), strict=True))

    checked = 0
    problems: list[str] = []
    for org, cap, cat, pur, d, c in product(orgs, Capacity, Category, Purpose, Direction, consents):
        verdict = table[(_signature(org), cap, cat, pur, d, c)]
        checked += 1
        required = must_deny(org, cap.value, cat.value, pur.value, c)
        where = f"{org.id} {cap} {cat} {pur} {d} consent={c}: {verdict}"
        if required:
            if verdict.allowed:
                problems.append("ALLOWED " + where)
            elif not required <= set(verdict.policies):
                problems.append(f"expected {sorted(required)} among the deciding policies: " + where)
        if c and not verdict.allowed:
            problems.append("consent did not open " + where)
        if verdict.allowed and not c and cap.value in PROTECTED and cat.value in STATUS_CATEGORIES:
            problems.append("status left " + where)
        if verdict.allowed:
            assert set(verdict.policies) <= BASELINE_IDS and verdict.policies
            assert not set(verdict.policies) & {FIREWALL_BODIES, FIREWALL_PURPOSE, FIREWALL_STATUS}
    assert checked == len(registry()) * 8 * 6 * 9 * 2 * 2
    assert not problems, f"{len(problems)} violations, e.g. " + "\n".join(problems[:10])


def test_firewall_critical_slice_for_every_single_organisation() -> None:
    # Not grouped: every organisation asked directly for what §5 is about.
    engine = met_engine()
    keys = list(
        product(
            registry().values(),
            [c for c in Capacity if c.value in PROTECTED],
            [Category.IDENTITY, Category.CONTACT, Category.IMMIGRATION_STATUS, Category.NATIONALITY],
            [Purpose.IMMIGRATION_ENFORCEMENT, Purpose.CRIMINAL_INVESTIGATION, Purpose.SAFEGUARDING],
            Direction,
        )
    )
    verdicts = engine.authorise_many([PolicyEngine.cedar_request(o.id, *rest, False) for o, *rest in keys])
    leaks = [
        (o.id, cap, cat, pur, d)
        for (o, cap, cat, pur, d), v in zip(keys, verdicts, strict=True)
        if v.allowed and must_deny(o, cap.value, cat.value, pur.value, False)
    ]
    assert not leaks
    allowed = sum(v.allowed for v in verdicts)
    assert allowed > 0  # lawful flows (police to police, safeguarding) still run


# ---------------------------------------------------------------- lawful flows and verdicts


def _ask(
    requester: str,
    capacity: str,
    category: str,
    purpose: str,
    direction: str = "inbound",
    consent: bool = False,
):
    return met_engine().authorise(
        registry()[requester],
        Capacity(capacity),
        Category(category),
        Purpose(purpose),
        Direction(direction),
        consent,
    )


@pytest.mark.parametrize(
    ("requester", "capacity", "category", "purpose", "direction", "consent", "expected"),
    [
        ("kent-police", "victim", "identity", "criminal_investigation", "inbound", False,
         Verdict(True, ("lawful-police-investigation",))),
        ("british-transport-police", "witness", "contact", "criminal_investigation", "inbound", False,
         Verdict(True, ("lawful-police-investigation",))),
        ("crown-prosecution-service", "victim", "narrative", "prosecution", "inbound", False,
         Verdict(True, ("lawful-prosecution",))),
        ("london-borough-of-lambeth", "victim", "contact", "safeguarding", "inbound", False,
         Verdict(True, ("lawful-safeguarding",))),
        (IE, "suspect", "identity", IMM, "inbound", False,
         Verdict(True, ("lawful-status-check-inbound",))),
        (IE, "suspect", "identity", IMM, "outbound", False,
         Verdict(True, ("lawful-status-check-outbound",))),
        (IE, "suspect", "contact", IMM, "outbound", False,
         Verdict(False, (DEFAULT_DENY,))),
        (UKVI, "victim", "identity", "victim_immigration_application", "inbound", False,
         Verdict(False, (FIREWALL_BODIES,))),
        (UKVI, "victim", "identity", "victim_immigration_application", "inbound", True,
         Verdict(True, ("lawful-subject-consent",))),
        ("department-for-work-pensions", "victim", "identity", "benefits_administration", "inbound", False,
         Verdict(False, (DEFAULT_DENY,))),
        ("department-for-work-pensions", "suspect", "identity", "benefits_administration", "inbound", False,
         Verdict(False, (DEFAULT_DENY,))),
        (IE, "victim", "nationality", IMM, "inbound", False,
         Verdict(False, (FIREWALL_BODIES, FIREWALL_PURPOSE, FIREWALL_STATUS))),
        ("kent-police", "victim", "immigration_status", "criminal_investigation", "inbound", False,
         Verdict(False, (FIREWALL_STATUS,))),
        ("kent-police", "suspect", "immigration_status", "criminal_investigation", "inbound", False,
         Verdict(True, ("lawful-police-investigation",))),
        ("kent-police", "victim", "identity", IMM, "inbound", False,
         Verdict(False, (FIREWALL_PURPOSE,))),
        ("home-office-border-force", "witness", "identity", "criminal_investigation", "outbound", False,
         Verdict(False, (FIREWALL_BODIES,))),
    ],
)  # fmt: skip
def test_lawful_flows_and_deciding_policies(
    requester: str,
    capacity: str,
    category: str,
    purpose: str,
    direction: str,
    consent: bool,
    expected: Verdict,
) -> None:
    assert _ask(requester, capacity, category, purpose, direction, consent) == expected


def test_outbound_status_check_on_a_suspect_sends_identity_only() -> None:
    def released(capacity: str) -> set[str]:
        return {
            c.value
            for c in Category
            if _ask(
                "home-office-immigration-enforcement",
                capacity,
                c.value,
                "immigration_enforcement",
                "outbound",
            ).allowed
        }

    assert released("suspect") == {"identity", "nationality"}
    assert released("offender") == {"identity", "nationality"}
    assert released("victim") == set()


def test_default_deny_names_no_policy_but_default_deny() -> None:
    verdict = _ask("hm-revenue-customs", "suspect", "health", "tax_administration")
    assert verdict == Verdict(False, (DEFAULT_DENY,))


def test_an_evaluation_error_is_a_deny() -> None:
    engine = met_engine()
    request = PolicyEngine.cedar_request(
        "kent-police",
        Capacity.SUSPECT,
        Category.IDENTITY,
        Purpose.CRIMINAL_INVESTIGATION,
        Direction.INBOUND,
        False,
    )
    assert engine.authorise_many([request]) == [Verdict(True, ("lawful-police-investigation",))]
    del request["context"]["consent"]
    (raw,) = engine._evaluate([request])
    assert raw.decision is cedarpy.Decision.NoDecision and raw.diagnostics.errors
    assert PolicyEngine._verdict(raw) == Verdict(False, (EVALUATION_ERROR,))
    assert engine.authorise_many([request]) == [Verdict(False, (EVALUATION_ERROR,))]


def test_an_error_in_any_policy_turns_an_allow_into_a_deny() -> None:
    # Cedar skips a policy whose evaluation errors and still says Allow: a forbid that errors
    # must not be silently switched off.
    erroring = LocalPolicy(MET, "overflow", '@id("overflow")\nforbid (principal, action, resource)\n'
                           "when { 9223372036854775807 + 1 > 0 };\n")  # fmt: skip
    engine = PolicyEngine(MET, [erroring])
    request = PolicyEngine.cedar_request(
        "crown-prosecution-service",
        Capacity.VICTIM,
        Category.IDENTITY,
        Purpose.PROSECUTION,
        Direction.INBOUND,
        False,
    )
    (raw,) = engine._evaluate([request])
    assert raw.decision is cedarpy.Decision.Allow and raw.diagnostics.errors  # what Cedar alone says
    assert engine.authorise_many([request]) == [Verdict(False, (EVALUATION_ERROR,))]
    cps = registry()["crown-prosecution-service"]
    args = (Capacity.VICTIM, Category.IDENTITY, Purpose.PROSECUTION, Direction.INBOUND, False)
    assert engine.authorise(cps, *args) == Verdict(False, (EVALUATION_ERROR,))


# ---------------------------------------------------------------- memoisation and version


def test_memoised_verdicts_are_equal_to_fresh_ones() -> None:
    engine = PolicyEngine(MET)
    engine._memo.clear()  # shared with other police engines of the same baseline
    args = (Capacity.VICTIM, Category.CONTACT, Purpose.SAFEGUARDING, Direction.INBOUND, False)
    lambeth = registry()["london-borough-of-lambeth"]
    first = engine.authorise(lambeth, *args)
    assert len(engine._memo) == 1
    second = engine.authorise(lambeth, *args)
    assert first == second == Verdict(True, ("lawful-safeguarding",))
    assert len(engine._memo) == 1
    assert engine.authorise_many([PolicyEngine.cedar_request(lambeth.id, *args)]) == [first]
    assert PolicyEngine(MET).authorise(lambeth, *args) == first
    # a different key is a different entry, not the memoised one
    denied = engine.authorise(lambeth, Capacity.VICTIM, Category.NATIONALITY, *args[2:])
    assert denied == Verdict(False, (FIREWALL_STATUS,))
    assert len(engine._memo) == 2


def test_version_is_stable_and_names_the_policy_set() -> None:
    plain = PolicyEngine(MET).version
    assert plain == PolicyEngine(MET).version
    assert len(plain) == 64 and int(plain, 16) >= 0
    one = PolicyEngine(MET, [DWP_SUSPECTS]).version
    assert one != plain
    assert one == PolicyEngine(MET, [DWP_SUSPECTS]).version
    two = PolicyEngine(MET, [DWP_SUSPECTS, COUNCIL_CONTACT]).version
    assert two not in (plain, one)
    assert two == PolicyEngine(MET, [COUNCIL_CONTACT, DWP_SUSPECTS]).version  # order does not matter
    edited = LocalPolicy(MET, DWP_SUSPECTS.policy_id, DWP_SUSPECTS.text.replace("identity", "contact"))
    assert PolicyEngine(MET, [edited]).version not in (plain, one)
    assert PolicyEngine(MET, [COUNCIL_CONTACT]).version not in (plain, one, two)


def test_a_local_permit_changes_only_what_it_covers() -> None:
    dwp = registry()["department-for-work-pensions"]
    args = (Category.IDENTITY, Purpose.BENEFITS_ADMINISTRATION, Direction.INBOUND, False)
    assert met_engine().authorise(dwp, Capacity.SUSPECT, *args) == Verdict(False, (DEFAULT_DENY,))
    local = met_engine_with_local()
    assert local.authorise(dwp, Capacity.SUSPECT, *args) == Verdict(True, ("dwp-suspect-identity",))
    assert local.authorise(dwp, Capacity.VICTIM, *args) == Verdict(False, (DEFAULT_DENY,))
    hmrc = registry()["hm-revenue-customs"]
    assert local.authorise(hmrc, Capacity.SUSPECT, *args) == Verdict(False, (DEFAULT_DENY,))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    with_local=st.booleans(),
    requester=st.sampled_from(sorted(registry())),
    capacity=st.sampled_from(Capacity),
    category=st.sampled_from(Category),
    purpose=st.sampled_from(Purpose),
    direction=st.sampled_from(Direction),
    consent=st.booleans(),
)
def test_memoised_authorise_agrees_with_a_fresh_batch(
    with_local: bool,
    requester: str,
    capacity: Capacity,
    category: Category,
    purpose: Purpose,
    direction: Direction,
    consent: bool,
) -> None:
    engine = met_engine_with_local() if with_local else met_engine()
    org = registry()[requester]
    memoised = engine.authorise(org, capacity, category, purpose, direction, consent)
    again = engine.authorise(org, capacity, category, purpose, direction, consent)
    (fresh,) = engine.authorise_many(
        [PolicyEngine.cedar_request(requester, capacity, category, purpose, direction, consent)]
    )
    assert memoised == again == fresh
    if must_deny(org, capacity.value, category.value, purpose.value, consent):
        assert not fresh.allowed


def test_alike_controllers_share_verdicts_but_local_policies_do_not() -> None:
    met, kent, gp = PolicyEngine(MET), PolicyEngine("kent-police"), PolicyEngine("nhs-gp-practice-example")
    assert met._memo is kent._memo
    assert met._memo is not gp._memo
    local = PolicyEngine(MET, [DWP_SUSPECTS])
    assert local._memo is not met._memo
    dwp = registry()["department-for-work-pensions"]
    args = (Capacity.SUSPECT, Category.IDENTITY, Purpose.BENEFITS_ADMINISTRATION, Direction.INBOUND, False)
    assert local.authorise(dwp, *args).allowed != met.authorise(dwp, *args).allowed
