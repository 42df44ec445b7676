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
