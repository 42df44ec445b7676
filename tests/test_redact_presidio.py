"""The recognisers on Presidio: what they find and what they leave, inside Presidio's own
`AnalyzerEngine` as well as called directly, and with no network at all.

Immigration policy tested here: any statement about a person's immigration status, including
its absence ("no immigration issues"), reveals status, so negation never saves a sentence;
false friends ("Visa debit card", "passport control", "the Home Office building", "a holiday in
Turkey") are not immigration information.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from presidio_analyzer import EntityRecognizer, PatternRecognizer, RecognizerResult

from safereport.redact import IDENTIFIER_CATEGORIES, IMMIGRATION_CATEGORIES, Finding, analyse
from safereport.redact.engine import build_analyzer
from safereport.redact.recognisers import our_recognisers

ALL_CATEGORIES = IMMIGRATION_CATEGORIES | IDENTIFIER_CATEGORIES


def found(text: str, *, subject: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    return [(f.category, text[f.start : f.end]) for f in analyse(text, subject_names=subject)]


def categories(text: str) -> set[str]:
    return {f.category for f in analyse(text)}


# --- The recognisers are Presidio's ------------------------------------------------------------


def test_every_recogniser_is_a_presidio_recogniser_returning_recognizer_results() -> None:
    recognisers = our_recognisers()
    assert {type(r).__name__ for r in recognisers} >= {
        "ImmigrationRecogniser",
        "PersonNameRecogniser",
        "UkAddressRecogniser",
        "UkPhoneRecogniser",
        "DocumentNumberRecogniser",
        "DateOfBirthRecogniser",
    }
    text = "Witness Jane Doe, 07700 900123, said he threatened to report her to the Home Office."
    seen = set()
    for recogniser in recognisers:
        assert isinstance(recogniser, EntityRecognizer)
        for result in recogniser.analyze(text, None, None):
            assert isinstance(result, RecognizerResult)
            assert result.recognition_metadata[RecognizerResult.RECOGNIZER_NAME_KEY] == recogniser.name
            seen.add(result.entity_type)
    assert {"PERSON", "PHONE", "THREAT_TO_REPORT"} <= seen
    assert sum(isinstance(r, PatternRecognizer) for r in recognisers) >= 4


SAMPLES = [
    "Victim reports repeated assaults by her partner Tom Jones. She disclosed that her visa expired.",
    "Witness Mrs Okafor of 14 Acre Lane, London SW2 5RT (tel 07700 900123) saw the suspect.",
    "NI AB 12 34 56 C. DOB 12/04/1991. Email tom.jones@example.co.uk. HO ref M1234567.",
    "Pt has NRPF and is worried about NHS charges; interpreter booked (Tigrinya).",
    "Paid with a Visa debit card at passport control in the Home Office building.",
]


@pytest.fixture(scope="module")
def presidio_engine():  # type: ignore[no-untyped-def]
    return build_analyzer()


@pytest.mark.parametrize("text", SAMPLES)
def test_inside_presidios_analyzer_engine_the_findings_are_the_same(presidio_engine, text: str) -> None:  # type: ignore[no-untyped-def]
    ours = {(f.category.upper(), f.start, f.end) for f in analyse(text)}
    results = presidio_engine.analyze(text, language="en")
    theirs = {(r.entity_type, r.start, r.end) for r in results}
    # Presidio drops a result contained in another of the same entity, as analyse does.
    assert theirs == ours


def test_the_engine_runs_on_a_blank_spacy_pipeline(presidio_engine) -> None:  # type: ignore[no-untyped-def]
    nlp = presidio_engine.nlp_engine.nlp["en"]
    assert nlp.pipe_names == []


# --- No network: tldextract reads its bundled suffix list -------------------------------------

NETWORK_GUARD = """
import json, socket, sys
attempts = []
def refuse(*args, **kwargs):
    attempts.append(repr(args)[:80])
    raise OSError("networking is switched off in this test")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
"""


def _run_offline(tmp_path: Path, body: str) -> dict[str, object]:
    cache = tmp_path / "tldextract-cache"
    cache.mkdir()
    env = {
        **os.environ,
        "TLDEXTRACT_CACHE": str(cache),
        "HOME": str(tmp_path),
        "XDG_CACHE_HOME": str(tmp_path),
    }
    script = NETWORK_GUARD + textwrap.dedent(body) + "\nprint(json.dumps(out))\n"
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    out["cache_files"] = sorted(p.name for p in cache.rglob("*"))
    return out


def test_presidio_default_engine_and_ours_use_no_network_and_write_no_cache(tmp_path: Path) -> None:
    out = _run_offline(
        tmp_path,
        """
        from safereport.redact import analyse
        from safereport.redact.engine import default_analyzer
        text = "Mail jo.bloggs@example.co.uk or see https://www.example.org/page today."
        results = default_analyzer().analyze(text, language="en")
        ours = analyse(text)
        out = {"presidio": sorted({r.entity_type for r in results}),
               "ours": sorted({f.category for f in ours}), "attempts": attempts}
        """,
    )
    assert out["attempts"] == []
    assert out["cache_files"] == []
    assert {"EMAIL_ADDRESS", "URL"} <= set(out["presidio"])  # type: ignore[arg-type]
    assert "email" in out["ours"]  # type: ignore[operator]


def test_the_network_guard_would_catch_a_suffix_list_download(tmp_path: Path) -> None:
    # tldextract as it comes, without use_bundled_suffix_list: the same guard sees it try.
    out = _run_offline(
        tmp_path,
        """
        import tldextract
        tldextract.TLDExtract(cache_dir=None)("jo@example.co.uk")
        out = {"attempts": attempts}
        """,
    )
    assert out["attempts"] != []


# --- Immigration information -----------------------------------------------------------------

STATEMENTS_OF_ABSENCE = [
    "No immigration issues.",
    "No immigration concerns identified for the victim.",
    "Not known to the Home Office.",
    "She is not an asylum seeker.",
    "He has no recourse to public funds restrictions, per the council.",
    "She has recourse to public funds.",
    "She is not British.",
    "He denied threatening to report her to immigration.",
    "She does not have a visa.",
]


@pytest.mark.parametrize("sentence", STATEMENTS_OF_ABSENCE)
def test_a_statement_about_status_reveals_status_even_when_negative(sentence: str) -> None:
    assert categories(sentence) & IMMIGRATION_CATEGORIES, sentence


FALSE_FRIENDS = [
    "She paid with a Visa debit card.",
    "He was stopped at passport control at Gatwick.",
    "The meeting was in the Home Office building on Marsham Street.",
    "The post mortem was carried out by a Home Office pathologist.",
    "The review followed Home Office statutory guidance.",
    "She works in admin at the Home Office.",
    "He wore a red Man Utd jersey.",
    "She bought a frozen turkey.",
    "They ordered a Chinese takeaway.",
    "The family went on holiday to Portugal.",
    "He flew back from Dubai on Tuesday.",
    "She is learning Spanish at an evening class.",
    "They watched the England v France match.",
    "She had a BSL interpreter at the station.",
    "The removal van arrived at noon.",
    "He was detained under s.136.",
    "She took annual leave.",
    "Her passport number was copied onto the form by mistake.",
    "He has a German Shepherd.",
    "She eats Brazil nuts.",
]


@pytest.mark.parametrize("sentence", FALSE_FRIENDS)
def test_false_friends_are_not_immigration_information(sentence: str) -> None:
    assert not categories(sentence) & IMMIGRATION_CATEGORIES, found(sentence)


@pytest.mark.parametrize(
    ("sentence", "category"),
    [
        ("He said he would call the Home Office on her.", "threat_to_report"),
        ('Mother in law threatens to "send her back" if she tells anyone.', "threat_to_report"),
        ("He said one phone call from him and I'd be sent back.", "threat_to_report"),
        ("Her passport was kept by the employer.", "document_control"),
        ("The man who brought her here still has her documents.", "document_control"),
        ("Pt has NRPF.", "public_funds"),
        ("She was told she is not eligible for free NHS care.", "public_funds"),
        ("She overstayed her visa.", "immigration_status"),
        ("Pt detained in IRC.", "immigration_status"),
        ("I don't have any papers.", "immigration_status"),
        ("She is Eritrean.", "nationality"),
        ("He is from Tirana.", "nationality"),
        ("The victim is British.", "nationality"),
    ],
)
def test_immigration_categories(sentence: str, category: str) -> None:
    assert category in categories(sentence), found(sentence)


# --- Identifiers -------------------------------------------------------------------------------

IDENTIFIERS = [
    ("Call 07700 900123 after six.", "phone", "07700 900123"),
    ("Tel: +44 7700 900123.", "phone", "+44 7700 900123"),
    ("Landline (020) 7946 0000.", "phone", "(020) 7946 0000"),
    ("Her cousin's number is +48 512 345 678.", "phone", "+48 512 345 678"),
    (
        "She lives at Flat 2, 14 Acre Lane, London SW2 5RT now.",
        "address",
        "Flat 2, 14 Acre Lane, London SW2 5RT",
    ),
    ("Postcode LU4 9QT was given.", "address", "LU4 9QT"),
    ("He lives on Cranbrook Road with his mum.", "address", "Cranbrook Road"),
    ("Write to jo.bloggs@example.co.uk today.", "email", "jo.bloggs@example.co.uk"),
    ("Form from year4@example.sch.uk came.", "email", "year4@example.sch.uk"),
    ("NI number AB 12 34 56 C is his.", "document_number", "AB 12 34 56 C"),
    ("BRP ZU1234567 was seen.", "document_number", "ZU1234567"),
    ("HO ref M1234567/2 on the letter.", "document_number", "M1234567/2"),
    ("Passport no. 123456789 noted.", "document_number", "123456789"),
    ("NHS number 943 476 5919 recorded.", "document_number", "943 476 5919"),
    ("Visa application GWF012345678 pending.", "document_number", "GWF012345678"),
    ("DOB 12/04/1991.", "date_of_birth", "12/04/1991"),
    ("Date of birth: 3rd March 1990.", "date_of_birth", "3rd March 1990"),
    ("SMITH (12/04/1990) was arrested.", "date_of_birth", "12/04/1990"),
    ("Her partner Tom was there.", "person", "Tom"),
    ("Witness Jane DOE gave a statement.", "person", "Jane DOE"),
    ("PC 1234 Jones attended.", "person", "PC 1234 Jones"),
    ("Mrs. O'Neil was spoken to.", "person", "Mrs. O'Neil"),
    ("SILVA Maria attended.", "person", "SILVA Maria"),
    ("A man called Dave hit her.", "person", "Dave"),
    ("Łukasz Nowak was arrested.", "person", "Łukasz Nowak"),
    ("Her son, Dwayne, helps.", "person", "Dwayne"),
    ("W3 Siân Roberts saw it.", "person", "Siân Roberts"),
]


@pytest.mark.parametrize(("text", "category", "span"), IDENTIFIERS)
def test_identifier_is_found(text: str, category: str, span: str) -> None:
    assert (category, span) in found(text), found(text)


NOT_IDENTIFIERS = [
    "Officers attended at 22:40 and found the door damaged.",
    "Crime ref 01/123456/24 was issued.",
    "She called Police at 10:30.",
    "Will attend tomorrow.",
    "The Grace period ended.",
    "Children attend St Mary's school.",
    "Pt takes St John's wort.",
    "She drove 2 miles down the road.",
    "The victim was given 3 leaflets.",
    "Mum is Polish, dad British.",
    "Her employer, Fresh Fields Packing, confirmed her hours.",
    "It happened in May.",
]


@pytest.mark.parametrize("text", NOT_IDENTIFIERS)
def test_no_identifier_is_found(text: str) -> None:
    assert not categories(text) & IDENTIFIER_CATEGORIES, found(text)


def test_the_subjects_name_is_not_a_person_finding_in_any_case_spacing_or_part() -> None:
    text = "IP Amira HADDAD said amira  haddad was hit. Amira cried; Ms Haddad left. A. Haddad signed."
    assert [c for c, _ in found(text, subject=("Amira Haddad",))].count("person") == 0
    assert ("person", "Amira HADDAD") in found(text)


def test_a_relative_sharing_the_subjects_surname_is_still_a_person() -> None:
    text = "Amira Haddad's sister Laila Haddad was present."
    assert ("person", "Laila Haddad") in found(text, subject=("Amira Haddad",))


def test_a_first_name_inside_an_address_is_part_of_the_address() -> None:
    text = "He lives at 3 Bryn Terrace, Wrexham LL11 2AB."
    assert found(text) == [("address", "3 Bryn Terrace, Wrexham LL11 2AB")]


# --- Findings ----------------------------------------------------------------------------------


def test_findings_carry_category_offsets_recogniser_and_score_never_content() -> None:
    text = "Her partner Tom Jones said he would call immigration. Tel 07700 900123."
    findings = analyse(text)
    assert [f.category for f in findings] == ["person", "threat_to_report", "phone"]
    for f in findings:
        assert isinstance(f, Finding)
        assert set(vars(type(f))["__slots__"]) == {"category", "start", "end", "recogniser", "score"}
        assert f.recogniser in {r.name for r in our_recognisers()}
        assert 0 < f.score <= 1
        assert text[f.start : f.end] not in f.recogniser


def test_placeholders_of_identifiers_are_not_findings_but_immigration_tags_are() -> None:
    assert analyse("[person 1] rang [phone 2] from [address 1].") == ()
    assert categories("She said [immigration status] then left.") == {"immigration_status"}
    assert categories("[removed] was said.") == {"immigration_status"}
    assert categories("He is [nationality].") == {"nationality"}


WORDS = [
    "Tom",
    "Jones",
    "visa",
    "Home",
    "Office",
    "07700",
    "900123",
    "SW2",
    "5RT",
    "14",
    "Acre",
    "Lane",
    "her",
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(WORDS) | st.text(max_size=8), max_size=30).map(" ".join))
def test_analyse_never_fails_and_findings_are_in_bounds_and_sorted(text: str) -> None:
    findings = analyse(text)
    assert all(0 <= f.start < f.end <= len(text) for f in findings)
    assert all(f.category in ALL_CATEGORIES for f in findings)
    assert [(f.start, -f.end) for f in findings] == sorted((f.start, -f.end) for f in findings)
