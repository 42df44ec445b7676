"""The rule-based narrative cleaner: tables of sentences that must go and sentences that must
stay, the two examples from the brief, sentence splitting, and properties over generated text.

A note on what is deliberately kept (the "hard negatives" below): words that look like the
rules' words but name a thing or a place. "Visa" as a payment card, "passport control" as the
place at an airport, "Home Office" as a building or in police and forensic jargon ("Home Office
Counting Rules", "Home Office pathologist"), a demonym naming a thing ("Chinese takeaway",
"German Shepherd", "Swiss Army knife"), "polish" as a verb or a cosmetic, "illegal" about a
thing rather than a person ("illegal drugs", "illegal eviction"), "removed from the property"
and "the right to remain silent". Everything else that names a nationality is removed,
British, English, Welsh and Scottish included.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safereport.redact import CleanedNarrative, Removal, clean_narrative
from safereport.redact.narrative import _sentence_spans

REASONS = {"threat_to_report", "document_control", "public_funds", "immigration_status", "nationality"}

EXAMPLE_1 = (
    "Victim reports repeated assaults by her partner. She disclosed that her visa expired in 2024 and "
    "that he threatens to report her to the Home Office if she leaves. Injuries to the left arm were "
    "photographed."
)
EXAMPLE_2 = (
    "Victim was made to work in a nail bar for no pay. She has no leave to remain and her passport was "
    "taken by the suspect."
)

# Sentences that reveal immigration status, nationality or an immigration-related
# vulnerability, in the registers they are written in: officer shorthand, victim statements,
# GP notes, council case notes.
SENSITIVE = [
    # visas
    "V states visa exp'd last yr.",
    "She overstayed her visa after her course ended.",
    "He is in the UK on a spousal visa.",
    "Her student visa ran out in March.",
    "She came over on a work visa and the restaurant is her employer.",
    "IP says her eVisa was cancelled.",
    # leave
    "The victim has no leave to remain.",
    "He was granted indefinite leave to remain in 2019.",
    "Her limited leave expires next month.",
    "V's ILR application was refused.",
    "She has no leave and is scared to go to the police.",
    # overstaying, asylum, refugees
    "She is an overstayer and is frightened of officers.",
    "V is an asylum seeker living in a hotel in Croydon.",
    "His asylum claim was refused in 2022.",
    "She has refugee status.",
    "Pt is in asylum accommodation.",
    # deportation, removal, detention
    "He is awaiting deportation.",
    "Her brother was deported last year.",
    "The suspect told her she would face removal from the UK.",
    "She was previously held at Yarl's Wood.",
    "He spent two months in a detention centre.",
    # illegal, undocumented, no status
    "He called her an illegal immigrant during the assault.",
    "She said she is undocumented.",
    "V has no papers.",
    "She has no status in this country.",
    "He said she is illegal and nobody would believe her.",
    "She is here illegally according to her partner.",
    # immigration, the Home Office
    "Her immigration status is unclear.",
    "He is on immigration bail and reports weekly.",
    "An immigration officer attended the address.",
    "Immigration Enforcement were present at the raid.",
    "HO letter received re her application.",
    # threats to report
    "He threatens to call immigration on her if she leaves.",
    "He said he would report her to the Home Office.",
    "He threatened to tell the Home Office she was working.",
    "He threatened to have her deported.",
    "He told her he would get her sent back to her own country.",
    "Her employer threatened to withdraw sponsorship if she complained.",
    "Suspect threatened to report her to the authorities because of her visa.",
    # someone else holding documents
    "The suspect has her passport and will not give it back.",
    "Her passport was confiscated by the employer.",
    "The agency withheld her passport.",
    "He keeps her BRP locked in his car.",
    "Partner holds all of her documents.",
    "v says partner took her ID and papers.",
    # status documents and schemes
    "Her biometric residence permit has expired.",
    "She has pre-settled status under the EUSS.",
    "She applied for settled status last year.",
    "Her EU Settlement Scheme application is pending.",
    "She gave the landlord a share code.",
    # right to work or rent
    "The landlord did a right to rent check.",
    "Employer never carried out right to work checks.",
    "She was told she had no right to work.",
    # public funds, charging
    "Pt has NRPF.",
    "Family subject to no recourse to public funds condition.",
    "Council case note: family have NRPF, section 17 support provided.",
    "Pt chargeable for NHS care as an overseas visitor.",
    "She cannot claim benefits.",
    # nationality
    "She is a Brazilian national.",
    "The victim is Iranian.",
    "V is Vietnamese and works long hours.",
    "Both suspects are Romanian.",
    "The witness is a Nigerian citizen.",
    "She is Polish and works as a cleaner.",
    "The victim is Albanian.",
    "He is an Eritrean man in his twenties.",
    "V is Sudanese.",
    "The family are Afghan.",
    "He is Syrian.",
    "IP is Chinese.",
    "The victim is a citizen of Pakistan.",
    "She is a national of Bangladesh.",
    "She is from the UK.",
    "He is from Leeds.",
    "He is Somali.",
    "She is Ukrainian and arrived last spring.",
    "The victim is British.",
    "He is English.",
    "She is Welsh.",
    "The suspect is Scottish.",
    "She has dual nationality.",
    "She is an EU citizen.",
    "He is a foreign national.",
    "Mr. Ahmed is an Iraqi Kurd.",
    "The Dr. noted she is from Eritrea.",
    # origin and arrival
    "She was born in Brazil.",
    "She was trafficked into the UK in 2021.",
    "He came to the UK in the back of a lorry.",
    "She crossed the Channel in a small boat.",
    "She fled the war in her home country.",
    # proxies for origin
    "A Tigrinya interpreter was used for the interview.",
    "Interview conducted through an interpreter.",
    "Her first language is Portuguese.",
]

# Sentences that look like the rules' words but are not about anyone's status or nationality.
BENIGN = [
    "Paid with a Visa debit card.",
    "She paid by Visa.",
    "The suspect had a Visa card in his wallet.",
    "He was stopped at passport control at Heathrow for a search of his luggage.",
    "She used a passport photo for her bus pass.",
    "The meeting took place in the Home Office building on Marsham Street.",
    "The crime was recorded under Home Office Counting Rules.",
    "The post mortem was carried out by a Home Office pathologist.",
    "He provided a specimen on a Home Office approved device.",
    "She ordered a Chinese takeaway at 8pm.",
    "The dog was a German Shepherd.",
    "A Swiss Army knife was recovered from his pocket.",
    "She was made to apply nail polish for twelve hours a day.",
    "He told her to polish the floors.",
    "Polish the table, he shouted.",
    "He was told of his right to remain silent.",
    "She took annual leave from work to attend court.",
    "She took her purse and left the flat.",
    "British Transport Police attended the station.",
    "He was cautioned and released on police bail.",
    "She was removed from the property by officers.",
    "The victim moved to a refuge in Leeds.",
    "He threatened to kill her if she called the police.",
    "She called her sister for help.",
    "Officers seized his phone and laptop.",
    "Documents were seized from the premises by officers.",
    "His bank cards were taken during the robbery.",
    "He took her keys and locked her in the bedroom.",
    "The turkey was left in the oven.",
    "She broke a china plate during the struggle.",
    "Her guinea pig was killed by the suspect.",
    "It is illegal to carry a knife in public.",
    "He had illegal drugs in his car.",
    "The landlord carried out an illegal eviction.",
    "Sgt. Brown took a statement from the witness at approx. 10pm.",
    "He was born in 1985.",
    "She came from work at 6pm.",
    "He is from the council's housing team.",
    "The victim gave a statement via a BSL interpreter.",
    "Officers entered the property at 6am.",
    "He was sent back to his cell.",
    "The suspect fled the scene on foot.",
    "Mr Ho attended the station to give a statement.",
    "There was no status update from the council.",
    "She said he had left her with no leave from work.",
    "Injuries to the left arm were photographed.",
    "Victim reports repeated assaults by her partner.",
    "Victim was made to work in a nail bar for no pay.",
]


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in _sentence_spans(text)]


# --- The two examples from the brief, and the edges --------------------------------------------


def test_first_example_removes_only_the_middle_sentence() -> None:
    result = clean_narrative(EXAMPLE_1)
    assert result.text == (
        "Victim reports repeated assaults by her partner. Injuries to the left arm were photographed."
    )
    assert len(result.removed) == 1
    (removal,) = result.removed
    assert EXAMPLE_1[removal.start : removal.end] == (
        "She disclosed that her visa expired in 2024 and that he threatens to report her to the Home "
        "Office if she leaves."
    )
    assert removal.reason == "threat_to_report"


def test_second_example_keeps_only_the_first_sentence() -> None:
    result = clean_narrative(EXAMPLE_2)
    assert result.text == "Victim was made to work in a nail bar for no pay."
    assert len(result.removed) == 1
    (removal,) = result.removed
    assert EXAMPLE_2[removal.start : removal.end] == (
        "She has no leave to remain and her passport was taken by the suspect."
    )
    assert removal.reason == "document_control"


def test_empty_text() -> None:
    assert clean_narrative("") == CleanedNarrative(text="", removed=())


def test_white_space_only_is_empty() -> None:
    assert clean_narrative("  \n\t ") == CleanedNarrative(text="", removed=())


def test_text_without_terminal_punctuation_is_one_sentence() -> None:
    text = "V attended station and stated she was assaulted by partner at home address"
    assert sentences(text) == [text]
    assert clean_narrative(text) == CleanedNarrative(text=text, removed=())
    sensitive = "V attended station and stated her visa has expired and partner knows"
    result = clean_narrative(sensitive)
    assert result.text == ""
    assert result.removed == (Removal(0, len(sensitive), "immigration_status"),)


def test_removal_carries_a_tag_not_the_content() -> None:
    result = clean_narrative("She is Brazilian. She was assaulted.")
    assert result.removed == (Removal(0, 17, "nationality"),)
    assert "Brazil" not in result.removed[0].reason


# --- The tables --------------------------------------------------------------------------------


@pytest.mark.parametrize("sentence", SENSITIVE)
def test_sensitive_sentence_is_removed(sentence: str) -> None:
    text = f"Officers attended. {sentence} Statement taken."
    result = clean_narrative(text)
    assert result.text == "Officers attended. Statement taken."
    assert len(result.removed) >= 1
    first, last = result.removed[0], result.removed[-1]
    assert (first.start, last.end) == (19, 19 + len(sentence))
    assert all(r.reason in REASONS for r in result.removed)


@pytest.mark.parametrize("sentence", BENIGN)
def test_benign_sentence_is_kept(sentence: str) -> None:
    text = f"Officers attended. {sentence} Statement taken."
    assert clean_narrative(text) == CleanedNarrative(text=text, removed=())


@pytest.mark.parametrize("sentence", SENSITIVE + BENIGN)
def test_table_sentence_is_one_sentence(sentence: str) -> None:
    assert sentences(sentence) == [sentence]
    assert sentences(f"{sentence} {sentence}") == [sentence, sentence]


def test_matching_ignores_case() -> None:
    for text in ("SHE HAS NO LEAVE TO REMAIN.", "she has no leave to remain.", "She Has No Leave To Remain."):
        assert clean_narrative(text).text == ""


def test_matching_respects_word_boundaries() -> None:
    # The rules' words inside longer words do not count ...
    for kept in ("The advisa form was signed.", "She teaches deportment.", "He is a Britishness scholar."):
        assert clean_narrative(kept).text == kept, kept
    # ... but a hyphen or an apostrophe ends a word.
    for removed in ("She is Brazilian-born.", "The refugee-led group met.", "The Home Office's letter came."):
        assert clean_narrative(removed).text == "", removed


def test_all_nationalities_alike() -> None:
    """The pattern of removals must not reveal who is and who is not British."""
    for demonym in ("British", "English", "Welsh", "Scottish", "Irish", "Polish", "Nigerian", "Afghan"):
        assert clean_narrative(f"The victim is {demonym}.").text == "", demonym


def test_reason_tags() -> None:
    cases = {
        "He threatened to call immigration on her.": "threat_to_report",
        "He took her passport.": "document_control",
        "Pt has NRPF.": "public_funds",
        "She overstayed.": "immigration_status",
        "She is Eritrean.": "nationality",
    }
    for text, reason in cases.items():
        assert [r.reason for r in clean_narrative(text).removed] == [reason], text


# --- Splitting ----------------------------------------------------------------------------------


def test_splits_on_terminators_and_line_breaks() -> None:
    assert sentences("One. Two! Three? Four") == ["One.", "Two!", "Three?", "Four"]
    assert sentences("line one\nline two\r\nline three") == ["line one", "line two", "line three"]
    assert sentences('He said "stop." She left.') == ['He said "stop."', "She left."]
    assert sentences("Wait... what?! Go.") == ["Wait...", "what?!", "Go."]


def test_does_not_split_after_abbreviations_initials_or_decimals() -> None:
    text = "Mr. J. Smith saw Dr. Patel at approx. 3.5 miles, e.g. near the U.K. border. Then he left."
    assert sentences(text) == [
        "Mr. J. Smith saw Dr. Patel at approx. 3.5 miles, e.g. near the U.K. border.",
        "Then he left.",
    ]


def test_keeps_line_structure() -> None:
    text = "Line one.\nShe is Brazilian.\nLine three.\n\nNew paragraph. She overstayed. Same paragraph."
    result = clean_narrative(text)
    assert result.text == "Line one.\nLine three.\n\nNew paragraph. Same paragraph."


def test_phrase_broken_over_lines_removes_both_lines() -> None:
    text = "Notes:\nhe said he will tell the home\noffice about her\nShe was scared."
    result = clean_narrative(text)
    assert result.text == "Notes:\nShe was scared."
    assert len(result.removed) == 2


def test_phrase_formed_by_removal_is_also_removed() -> None:
    # Neither outer line matches on its own; removing the middle one brings "leave to" and
    # "remain" together.
    assert clean_narrative("Pt asked about leave to").removed == ()
    assert clean_narrative("remain here").removed == ()
    text = "Pt asked about leave to\nShe is Brazilian.\nremain here"
    result = clean_narrative(text)
    assert result.text == ""
    assert [r.reason for r in result.removed] == ["immigration_status", "nationality", "immigration_status"]
    assert clean_narrative(result.text).text == result.text


def test_removed_sentence_never_survives_elsewhere() -> None:
    # "Office" goes with "Home" on the line before it; the second "Office" goes too.
    result = clean_narrative("Call the Home\nOffice\nOffice\nDone.")
    assert result.text == "Done."


# --- Properties ---------------------------------------------------------------------------------

VOCABULARY = [
    "she",
    "He",
    "visa",
    "Visa",
    "debit",
    "card",
    "home",
    "Home",
    "Office",
    "building",
    "passport",
    "control",
    "leave",
    "to",
    "remain",
    "Polish",
    "polish",
    "nail",
    "Brazilian",
    "takeaway",
    "Mr.",
    "Dr.",
    "e.g.",
    "J.",
    "approx.",
    "U.K.",
    "3.5",
    "the",
    "took",
    "her",
    "report",
    "HO",
    "illegal",
    "is",
    "from",
    "Leeds",
    "born",
    "in",
    "1990",
    "immigration",
    "asylum",
    "İstanbul",
    "ß",
    "’s",
]
SEPARATORS = [" ", " ", " ", "  ", "\n", "\r\n", "\n\n", "\t", "\u2028"]
PUNCTUATION = ["", "", "", ".", ".", "!", "?", "...", '."', ".)", "?!"]


@st.composite
def narratives(draw: st.DrawFn) -> str:
    """Text that looks enough like a narrative to exercise the splitter and the rules."""
    parts: list[str] = []
    for _ in range(draw(st.integers(0, 40))):
        word = draw(st.sampled_from(VOCABULARY) | st.text(min_size=1, max_size=6))
        parts.append(word + draw(st.sampled_from(PUNCTUATION)))
        parts.append(draw(st.sampled_from(SEPARATORS)))
    return "".join(parts)


any_text = narratives() | st.text()


def cut(text: str, removed: tuple[Removal, ...]) -> str:
    pieces, at = [], 0
    for r in removed:
        pieces.append(text[at : r.start])
        at = r.end
    pieces.append(text[at:])
    return " ".join(pieces)


def is_subsequence(small: list[str], big: list[str]) -> bool:
    it = iter(big)
    return all(any(s == b for b in it) for s in small)


@settings(max_examples=300, deadline=None)
@given(any_text)
def test_output_sentences_are_a_subsequence_of_input_sentences(text: str) -> None:
    result = clean_narrative(text)
    before, after = sentences(text), sentences(result.text)
    assert is_subsequence(after, before)
    # Exactly the input's sentences less the removed ones, in order.
    removed = {(r.start, r.end) for r in result.removed}
    assert after == [text[s:e] for s, e in _sentence_spans(text) if (s, e) not in removed]
    # And, independently of the splitter: nothing but white space was added or lost.
    assert result.text.split() == cut(text, result.removed).split()


@settings(max_examples=300, deadline=None)
@given(any_text)
def test_cleaning_is_idempotent(text: str) -> None:
    once = clean_narrative(text)
    twice = clean_narrative(once.text)
    assert twice.text == once.text
    assert twice.removed == ()


@settings(max_examples=300, deadline=None)
@given(any_text)
def test_each_removal_is_an_input_sentence_absent_from_the_output(text: str) -> None:
    result = clean_narrative(text)
    spans = _sentence_spans(text)
    kept = set(sentences(result.text))
    previous_end = -1
    for r in result.removed:
        assert (r.start, r.end) in spans
        assert r.start > previous_end
        previous_end = r.end
        assert r.reason in REASONS
        assert text[r.start : r.end] not in kept


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.booleans(), st.integers(0, 10_000)),
        max_size=25,
    ),
    st.lists(st.sampled_from(SEPARATORS), min_size=25, max_size=25),
)
def test_mixed_narrative_loses_every_sensitive_sentence_and_keeps_every_benign_one(
    picks: list[tuple[bool, int]], separators: list[str]
) -> None:
    chosen = [(SENSITIVE[i % len(SENSITIVE)] if bad else BENIGN[i % len(BENIGN)], bad) for bad, i in picks]
    text = "".join(sentence + sep for (sentence, _), sep in zip(chosen, separators, strict=False))
    result = clean_narrative(text)
    benign = [s for s, bad in chosen if not bad]
    assert sentences(result.text) == [p for s in benign for p in sentences(s)]
    for sentence, bad in chosen:
        if bad:
            for piece in sentences(sentence):
                assert piece not in sentences(result.text)
    for r in result.removed:
        assert text[r.start : r.end] not in sentences(result.text)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(SENSITIVE), st.sampled_from(BENIGN), st.sampled_from(BENIGN))
def test_removal_offsets_cover_the_sensitive_sentence(sensitive: str, before: str, after: str) -> None:
    text = f"{before} {sensitive} {after}"
    result = clean_narrative(text)
    start = len(before) + 1
    assert result.removed[0].start == start
    assert result.removed[-1].end == start + len(sensitive)
    assert result.text == f"{before} {after}"


def test_no_removal_leaks_content_in_its_reason() -> None:
    text = " ".join(SENSITIVE)
    for r in clean_narrative(text).removed:
        assert r.reason in REASONS
        assert not re.search(r"\s", r.reason)
