"""`minimise` in its three modes, its placeholders and removals, the properties that make it
safe to release, and the firewall's release path through it."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safereport import Firewall, parse_consent, parse_record, parse_request, response_to_json
from safereport.redact import (
    IDENTIFIER_CATEGORIES,
    IMMIGRATION_CATEGORIES,
    CleanedNarrative,
    Minimised,
    Mode,
    Removal,
    analyse,
    clean_narrative,
    minimise,
)
from safereport.redact.names import is_subject, subject_filter
from safereport.redact.narrative import _sentence_spans

TEXT = (
    "Victim Maria Silva reports assaults by her partner Tom Jones. She disclosed that her visa "
    "expired and that he threatens to report her to the Home Office. Witness Mrs Okafor (tel "
    "07700 900123) saw Tom Jones leave."
)
SUBJECT = ("Maria Silva",)
PLACEHOLDER = re.compile(r"\[[a-z ]+(?: \d+)?\]")


# --- The three modes ---------------------------------------------------------------------------


def test_sentence_mode_removes_the_sentence_and_masks_other_peoples_identifiers() -> None:
    result = minimise(TEXT, subject_names=SUBJECT)
    assert result.text == (
        "Victim Maria Silva reports assaults by her partner [person 1]. "
        "Witness [person 2] (tel [phone 1]) saw [person 1] leave."
    )
    assert [(r.category, r.action) for r in result.removals] == [
        ("person", "mask"),
        ("threat_to_report", "sentence"),
        ("person", "mask"),
        ("phone", "mask"),
        ("person", "mask"),
    ]
    sentence = next(r for r in result.removals if r.action == "sentence")
    assert TEXT[sentence.start : sentence.end].startswith("She disclosed") and TEXT[sentence.end - 1] == "."


def test_mask_mode_masks_the_immigration_spans() -> None:
    result = minimise(TEXT, mode=Mode.MASK, subject_names=SUBJECT)
    assert result.text == (
        "Victim Maria Silva reports assaults by her partner [person 1]. She disclosed that her [removed] "
        "expired and that he [removed]. Witness [person 2] (tel [phone 1]) saw [person 1] leave."
    )
    assert {r.action for r in result.removals} == {"mask"}


def test_tag_mode_names_the_category() -> None:
    result = minimise(TEXT, mode=Mode.TAG, subject_names=SUBJECT)
    assert "her [immigration status] expired and that he [threat to report]." in result.text
    assert [r.action for r in result.removals if r.category in IMMIGRATION_CATEGORIES] == ["tag", "tag"]
    assert [r.action for r in result.removals if r.category in IDENTIFIER_CATEGORIES] == ["mask"] * 4


def test_the_default_mode_is_sentence_and_modes_may_be_given_as_strings() -> None:
    assert minimise(TEXT) == minimise(TEXT, mode=Mode.SENTENCE)
    assert minimise(TEXT, mode="tag") == minimise(TEXT, mode=Mode.TAG)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        minimise(TEXT, mode="paraphrase")  # type: ignore[arg-type]


def test_removals_are_offsets_into_the_original_text_never_content() -> None:
    for mode in Mode:
        result = minimise(TEXT, mode=mode, subject_names=SUBJECT)
        for r in result.removals:
            assert isinstance(r, Removal)
            assert set(vars(type(r))["__slots__"]) == {"start", "end", "category", "action"}
            assert 0 <= r.start < r.end <= len(TEXT)
        masked = [TEXT[r.start : r.end] for r in result.removals if r.category == "person"]
        assert masked == ["Tom Jones", "Mrs Okafor", "Tom Jones"]


# --- Placeholders --------------------------------------------------------------------------------


def test_placeholders_are_consistent_within_one_text() -> None:
    text = "Tom Jones rang 07700 900123. Later Mr Okafor rang +44 7700 900123. TOM JONES denied it."
    result = minimise(text, mode=Mode.MASK)
    assert result.text == "[person 1] rang [phone 1]. Later [person 2] rang [phone 1]. [person 1] denied it."


def test_every_identifier_category_has_its_placeholder() -> None:
    text = (
        "Witness Jane Doe, 14 Acre Lane, London SW2 5RT, 07700 900123, jane@example.co.uk, "
        "NI AB 12 34 56 C, DOB 12/04/1991."
    )
    assert minimise(text).text == (
        "Witness [person 1], [address 1], [phone 1], [email 1], NI [document 1], DOB [date of birth 1]."
    )


def test_new_placeholders_never_reuse_a_number_the_text_already_holds() -> None:
    result = minimise("[person 1] hit Tom Jones.", mode=Mode.MASK)
    assert result.text == "[person 1] hit [person 2]."


def test_the_subjects_name_is_kept_in_every_form() -> None:
    text = "Maria Silva and MARIA SILVA and maria silva; Maria said Ms Silva was hit by Laila Silva."
    result = minimise(text, subject_names=SUBJECT)
    assert (
        result.text
        == "Maria Silva and MARIA SILVA and maria silva; Maria said Ms Silva was hit by [person 1]."
    )


# --- clean_narrative: the first-pass cleaner, unchanged in meaning ------------------------------


def test_clean_narrative_removes_sentences_and_leaves_identifiers_alone() -> None:
    text = "Mr Smith attended. She is Brazilian. Call 07700 900123."
    assert clean_narrative(text) == CleanedNarrative(
        text="Mr Smith attended. Call 07700 900123.", removed=(Removal(19, 36, "nationality"),)
    )
    assert clean_narrative(text).removed[0].reason == "nationality"
    assert minimise(text).text == "[person 1] attended. Call [phone 1]."


# --- Properties ------------------------------------------------------------------------------------

VOCABULARY = [
    "She", "he", "Maria", "Silva", "MARIA", "Tom", "Jones", "Mr", "Mrs", "Okafor", "partner", "witness",
    "called", "visa", "Visa", "debit", "card", "Home", "Office", "building", "passport", "control",
    "kept", "her", "leave", "to", "remain", "Polish", "Brazilian", "holiday", "in", "Turkey", "NRPF",
    "07700", "900123", "+44", "14", "Acre", "Lane", "SW2", "5RT", "DOB", "12/04/1991", "AB", "12", "34",
    "56", "C", "jo@example.co.uk", "threatened", "report", "immigration", "[person 1]", "[removed]",
    "[nationality]", "Mr.", "e.g.", "J.",
]  # fmt: skip
SEPARATORS = [" ", " ", " ", "  ", "\n", "\r\n", "\n\n", "\t"]
PUNCTUATION = ["", "", "", ".", ".", "!", "?", ",", '."']


@st.composite
def narratives(draw: st.DrawFn) -> str:
    parts: list[str] = []
    for _ in range(draw(st.integers(0, 30))):
        parts.append(draw(st.sampled_from(VOCABULARY) | st.text(min_size=1, max_size=5)))
        parts.append(draw(st.sampled_from(PUNCTUATION)))
        parts.append(draw(st.sampled_from(SEPARATORS)))
    return "".join(parts)


any_text = narratives() | st.text(max_size=60)
modes = st.sampled_from(list(Mode))


@settings(max_examples=150, deadline=None)
@given(any_text, modes)
def test_removals_are_in_bounds_sorted_and_disjoint(text: str, mode: Mode) -> None:
    result = minimise(text, mode=mode, subject_names=SUBJECT)
    previous_end = 0
    for r in result.removals:
        assert 0 <= r.start < r.end <= len(text)
        assert r.start >= previous_end
        previous_end = r.end
        assert r.category in IMMIGRATION_CATEGORIES | IDENTIFIER_CATEGORIES
        assert r.action in {"sentence", "mask", "tag"}


@settings(max_examples=150, deadline=None)
@given(any_text, st.sampled_from([Mode.MASK, Mode.TAG]))
def test_span_modes_keep_the_text_outside_the_spans_verbatim(text: str, mode: Mode) -> None:
    result = minimise(text, mode=mode, subject_names=SUBJECT)
    pattern, at = [], 0
    for r in result.removals:
        pattern.append(re.escape(text[at : r.start]))
        pattern.append(PLACEHOLDER.pattern)
        at = r.end
    pattern.append(re.escape(text[at:]))
    assert re.fullmatch("".join(pattern), result.text, flags=re.DOTALL)


@settings(max_examples=150, deadline=None)
@given(any_text, modes)
def test_no_immigration_finding_of_the_input_survives(text: str, mode: Mode) -> None:
    result = minimise(text, mode=mode, subject_names=SUBJECT)
    for finding in analyse(text, subject_names=SUBJECT):
        own_marker = PLACEHOLDER.fullmatch(text[finding.start : finding.end])
        if own_marker and mode is not Mode.SENTENCE:
            continue  # in the span modes the minimiser's own "[removed]" passes through as it is
        if finding.category in IMMIGRATION_CATEGORIES:
            assert any(r.start <= finding.start and finding.end <= r.end for r in result.removals), finding


@settings(max_examples=150, deadline=None)
@given(any_text, modes)
def test_minimising_the_output_again_changes_nothing(text: str, mode: Mode) -> None:
    once = minimise(text, mode=mode, subject_names=SUBJECT)
    twice = minimise(once.text, mode=mode, subject_names=SUBJECT)
    assert twice == Minimised(once.text, ())


@settings(max_examples=150, deadline=None)
@given(any_text)
def test_sentence_mode_output_holds_no_immigration_finding(text: str) -> None:
    out = minimise(text, subject_names=SUBJECT).text
    assert not [f for f in analyse(out, subject_names=SUBJECT) if f.category in IMMIGRATION_CATEGORIES]
    removed = {(r.start, r.end) for r in minimise(text).removals if r.action == "sentence"}
    assert removed <= set(_sentence_spans(text))


@settings(max_examples=150, deadline=None)
@given(any_text, modes)
def test_the_subject_is_never_masked(text: str, mode: Mode) -> None:
    parts = subject_filter(SUBJECT)
    for r in minimise(text, mode=mode, subject_names=SUBJECT).removals:
        if r.category == "person":
            assert not is_subject(text[r.start : r.end], parts)


# --- The firewall releases narratives through minimise ----------------------------------------

RECORD = {
    "controller": "metropolitan-police-service",
    "record_id": "MPS-CR-9001",
    "kind": "crime_report",
    "created": "2026-03-01T10:00:00Z",
    "persons": [
        {
            "person_id": "MPS-P-9001",
            "role": "victim",
            "data": {"name": "Amira Haddad", "date_of_birth": "1990-01-02"},
        },
        {"person_id": "MPS-P-9002", "role": "suspect", "data": {"name": "Karim Nasser"}},
    ],
    "narrative": (
        "Amira Haddad reports that her partner Karim Nasser assaulted her. She said he keeps her "
        "passport and threatens to call the Home Office. Her sister Laila Haddad (07700 900456) "
        "witnessed it."
    ),
    "derived_from": [],
}


def _request(consent_id: str | None = None, **changes: object) -> object:
    base: dict[str, object] = {
        "request_id": "RED-1",
        "requester": "crown-prosecution-service",
        "controller": "metropolitan-police-service",
        "direction": "inbound",
        "purpose": "prosecution",
        "legal_basis": "charging decision",
        "justification": "file for charging",
        "subject": {"person_id": "MPS-P-9001"},
        "record_id": "MPS-CR-9001",
        "categories": ["identity", "narrative"],
        "consent_id": consent_id,
    }
    base.update(changes)
    return parse_request(base)


def test_a_released_narrative_is_minimised_keeping_the_subjects_name(firewall: Firewall) -> None:
    firewall.ingest([parse_record(RECORD)])
    response = firewall.decide(_request(), explain=True)  # type: ignore[arg-type]
    (item,) = response.disclosed
    assert item.narrative == (
        "Amira Haddad reports that her partner [person 1] assaulted her. Her sister [person 2] "
        "([phone 1]) witnessed it."
    )
    assert response.explanation is not None
    assert response.explanation.narrative_sentences_removed == 1
    removals = response.explanation.narrative_removals
    # where and why, never what: a sentence of immigration information, three masked identifiers
    assert sorted(r.action for r in removals) == ["mask", "mask", "mask", "sentence"], removals
    assert {r.record_id for r in removals} == {"MPS-CR-9001"}
    assert all(0 <= r.start < r.end <= len(RECORD["narrative"]) for r in removals)  # type: ignore[arg-type]
    shown = json.dumps(response_to_json(response))
    assert "narrative_removals" in shown
    for removal in removals:
        removed_text = RECORD["narrative"][removal.start : removal.end]  # type: ignore[index]
        assert removed_text not in json.dumps(response_to_json(response)["explanation"]["narrative_removals"])


def test_by_name_the_subjects_name_is_kept_too(firewall: Firewall) -> None:
    firewall.ingest([parse_record(RECORD)])
    request = _request(subject={"name": "amira  HADDAD", "date_of_birth": "1990-01-02"})
    (item,) = firewall.decide(request).disclosed  # type: ignore[arg-type]
    assert item.narrative is not None and item.narrative.startswith("Amira Haddad reports")


def test_under_the_subjects_consent_the_narrative_leaves_whole(firewall: Firewall) -> None:
    firewall.ingest([parse_record(RECORD)])
    firewall.grant_consent(
        parse_consent(
            {
                "consent_id": "C-RED-1",
                "controller": "metropolitan-police-service",
                "person_id": "MPS-P-9001",
                "recipient": "home-office-uk-visas-immigration",
                "purpose": "victim_immigration_application",
                "categories": ["identity", "narrative"],
                "expires": "2099-01-01T00:00:00Z",
            }
        )
    )
    request = _request(
        "C-RED-1", requester="home-office-uk-visas-immigration", purpose="victim_immigration_application"
    )
    (item,) = firewall.decide(request).disclosed  # type: ignore[arg-type]
    assert item.narrative == RECORD["narrative"]
