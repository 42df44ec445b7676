"""The public surface is deliberate: adding or removing a name is a reviewed change."""

import safereport

EXPECTED = {
    "AuditError", "AuditReport", "BadInput", "Capacity", "Category", "ConfigError", "Consent",
    "ConsentError", "Decision", "Direction", "DisclosedItem", "DisclosureRequest", "Explanation",
    "Firewall", "Function", "IngestError", "IngestReport", "LocalPolicy", "LocalPolicyRejected",
    "Organisation", "Person", "PolicyError", "ProvenanceError", "Purpose", "Receipt", "Record",
    "Response", "SafereportError", "Settings", "StoreError", "SubjectById", "SubjectByName",
    "UnknownOrganisation", "__version__", "load_settings", "parse_consent", "parse_record",
    "parse_request", "response_to_json",
}  # fmt: skip


def test_public_names_are_pinned() -> None:
    assert set(safereport.__all__) == EXPECTED
    for name in EXPECTED:
        assert hasattr(safereport, name), name


def test_every_error_has_a_stable_distinct_code() -> None:
    errors = [getattr(safereport, n) for n in EXPECTED if n.endswith("Error") or n in ("BadInput",)]
    errors += [safereport.UnknownOrganisation, safereport.LocalPolicyRejected]
    codes = {e.code for e in errors}
    assert len(codes) == len(set(errors))
    for error in errors:
        assert issubclass(error, safereport.SafereportError)
        assert error.exit_status in (1, 2)


def test_every_setting_is_documented() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "settings.md").read_text()
    for name in safereport.Settings.model_fields:
        assert f"`SAFEREPORT_{name.upper()}`" in doc, name


def test_a_bad_setting_names_its_variable(monkeypatch: "object") -> None:
    import pytest

    with pytest.raises(safereport.ConfigError) as caught:
        safereport.load_settings(commit_batch=0)
    assert caught.value.field == "SAFEREPORT_COMMIT_BATCH"


def test_readme_shows_the_two_commands_and_every_verb() -> None:
    from pathlib import Path

    from safereport.cli import build_parser

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    verbs = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for verb in verbs:
        assert f"safereport {verb}" in readme, verb
