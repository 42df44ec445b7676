"""Our Presidio recognisers: immigration information, and identifiers of people.

Every recogniser is a Presidio `EntityRecognizer` (the pattern ones `PatternRecognizer`s) and
returns `RecognizerResult`s, so each runs inside Presidio's `AnalyzerEngine` (see
`engine.build_analyzer`). The minimiser calls them directly instead, which skips the NLP
pipeline it does not need; see `analysis.py`.

Entities are the finding categories in upper case (`IMMIGRATION_STATUS`, `PERSON`,
`DOCUMENT_NUMBER`...). The pattern recognisers compile their patterns with the standard `re`
module, which is several times faster on these patterns than `regex`, and no pattern can match
the wall character that stands in for a placeholder (see `analysis.WALL`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from presidio_analyzer import (
    EntityRecognizer,
    LocalRecognizer,
    Pattern,
    PatternRecognizer,
    RecognizerResult,
)
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import EmailRecognizer

from safereport.redact.findings import IMMIGRATION_PRIORITY
from safereport.redact.names import find_names
from safereport.redact.patterns import cased, trie_pattern
from safereport.redact.rules import matches

__all__ = [
    "DateOfBirthRecogniser",
    "DocumentNumberRecogniser",
    "ImmigrationRecogniser",
    "PersonNameRecogniser",
    "UkAddressRecogniser",
    "UkPhoneRecogniser",
    "email_recogniser",
    "our_recognisers",
]


def _result(
    recogniser: EntityRecognizer, entity: str, start: int, end: int, score: float
) -> RecognizerResult:
    name: str = recogniser.__dict__["name"]
    return RecognizerResult(
        entity_type=entity,
        start=start,
        end=end,
        score=score,
        recognition_metadata={
            RecognizerResult.RECOGNIZER_NAME_KEY: name,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recogniser.id,
        },
    )


# --- Immigration information ---------------------------------------------------------------


class ImmigrationRecogniser(LocalRecognizer):
    """Immigration status, nationality and immigration-related vulnerability: the rule
    vocabulary of `rules.py` (phrases, context, false friends), one trie-shaped expression."""

    ENTITIES = [category.upper() for category in IMMIGRATION_PRIORITY]

    def __init__(self) -> None:
        super().__init__(supported_entities=list(self.ENTITIES), name="immigration_rules")

    def load(self) -> None:
        return None

    def analyze(
        self, text: str, entities: list[str] | None, nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        wanted = set(entities) if entities else None
        out = []
        for start, end, reason in matches(text):
            entity = reason.upper()
            if wanted is None or entity in wanted:
                out.append(_result(self, entity, start, end, 0.9))
        return out


# --- Identifiers: patterns ------------------------------------------------------------------

_Validator = Callable[[str], bool]


class _RegexRecogniser(PatternRecognizer):
    """A `PatternRecognizer` whose patterns run under the standard `re` module, each with an
    optional named group `id` (the part that is reported: "passport no. 123456789" reports
    the number) and an optional validator.

    Each pattern is scanned on its own: joined into one alternation they would lose the
    first-character skip that makes each scan fast."""

    def __init__(
        self,
        entity: str,
        name: str,
        patterns: Sequence[tuple[Pattern, _Validator | None]],
        context: list[str],
    ) -> None:
        super().__init__(
            supported_entity=entity,
            name=name,
            patterns=[p for p, _ in patterns],
            context=context,
            global_regex_flags=0,
        )
        self._compiled = [
            (re.compile(p.regex), p.score, "id" if "(?P<id>" in p.regex else None, check)
            for p, check in patterns
        ]

    def analyze(
        self,
        text: str,
        entities: list[str] | None,
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        entity = self.supported_entities[0]
        if entities and entity not in entities:
            return []
        out = []
        for compiled, score, id_group, check in self._compiled:
            for m in compiled.finditer(text):
                start, end = m.span(id_group) if id_group is not None and m.group(id_group) else m.span()
                if start == end or (check is not None and not check(text[start:end])):
                    continue
                out.append(_result(self, entity, self._extend(text, start), end, score))
        return out

    def _extend(self, text: str, start: int) -> int:
        """Where a match really starts, looking back from where the pattern found it."""
        return start


_APOSTROPHE = "'\u2019"
_CAPWORD = rf"[A-Z][A-Za-z{_APOSTROPHE}-]*"
_NOT_A_TOWN = (
    r"(?!(?:She|He|They|The|It|I|We|You|His|Her|Their|This|That|On|At|In|And|But|Officers?|Police|Victim|V"
    r"|Suspect|Witness|Then|When|After|Before)\b)"
)
_STREET_WORDS = [
    "Road",
    "Rd",
    "Street",
    "St",
    "Lane",
    "Ln",
    "Avenue",
    "Ave",
    "Close",
    "Drive",
    "Way",
    "Court",
    "Ct",
    "Crescent",
    "Cres",
    "Place",
    "Pl",
    "Gardens",
    "Gdns",
    "Terrace",
    "Grove",
    "Hill",
    "Park",
    "Square",
    "Sq",
    "Walk",
    "Row",
    "Mews",
    "Green",
    "Parade",
    "Rise",
    "View",
    "Vale",
    "Yard",
    "Wharf",
    "Estate",
    "House",
    "Tower",
    "Towers",
    "Buildings",
    "Lodge",
    "Heights",
    "Broadway",
    "Boulevard",
    "Passage",
    "Quay",
    "Circus",
]
_STREET = trie_pattern(cased(_STREET_WORDS))
_POSTCODE_BODY = r"[A-HK-Y]?\d[A-Z\d]?[ \t]?\d[ABD-HJLNP-UW-Z]{2}"
_POSTCODE = rf"(?:GIR ?0AA|[A-PR-UWYZ]{_POSTCODE_BODY})"
_OUTWARD = r"(?:[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?)"
# The house number first, so that a scan can skip to digits; "Flat 2," before it is added by
# looking back from the match.
_STREET_ADDRESS = (
    rf"\d(?<!\w\d)\d{{0,3}}[A-Za-z]?(?:-\d{{1,4}})?,?[ \t]+(?:{_CAPWORD}[ \t]+){{1,3}}{_STREET}(?!\w)\.?"
    rf"(?:,?[ \t]+{_NOT_A_TOWN}[A-Z][a-z]+(?:[ \t]+[A-Z][a-z]+)?(?![A-Za-z]))?"
    rf"(?:,?[ \t]+(?:{_POSTCODE}|{_OUTWARD})(?!\w))?"
)
_FLAT_BEFORE = re.compile(r"(?:Flat|flat|FLAT|Apartment|Apt|Unit|Room)\.?[ \t]*\d+[A-Za-z]?,?[ \t]+$")
_STREET_WORD = re.compile(trie_pattern({w for w in cased(_STREET_WORDS) if w[:1].isupper()}) + r"(?!\w)")
_ADDRESS_CUE = trie_pattern(
    dict.fromkeys(
        cased(
            [
                "lives",
                "living",
                "lived",
                "resides",
                "residing",
                "resident",
                "address",
                "addr",
                "staying",
                "stays",
                "stayed",
                "c/o",
                "address is",
                "address was",
                "moved to",
                "home address",
            ]
        ),
        r"(?!\w)(?:\s+(?:at|on|in))?[:\s]+",
    )
)


_CUE_AND_STREET_NAME = re.compile(rf"{_ADDRESS_CUE}(?P<id>(?:{_CAPWORD}[ \t]+){{1,3}})\Z")


class UkAddressRecogniser(_RegexRecogniser):
    """Street addresses ("Flat 2, 14 Acre Lane, London SW2 5RT"), postcodes, and a street
    named after "lives at", "address", "staying at"."""

    def __init__(self) -> None:
        super().__init__(
            "ADDRESS",
            "uk_address",
            [
                (Pattern("street address", _STREET_ADDRESS, 0.85), None),
                (
                    Pattern(
                        "postcode", rf"(?:G(?<!\w\w)IR ?0AA|[A-PR-UWYZ](?<!\w\w){_POSTCODE_BODY})(?!\w)", 0.8
                    ),
                    None,
                ),
                (
                    Pattern(
                        "outward code after a cue",
                        rf"{trie_pattern(cased(['postcode', 'post code']))}[:\s]+(?P<id>{_OUTWARD})(?!\w)",
                        0.7,
                    ),
                    None,
                ),
            ],
            context=["address", "lives", "postcode", "resides"],
        )

    def _extend(self, text: str, start: int) -> int:
        before = _FLAT_BEFORE.search(text, max(0, start - 30), start)
        return before.start() if before is not None else start

    def analyze(
        self,
        text: str,
        entities: list[str] | None,
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        out = super().analyze(text, entities, nlp_artifacts, regex_flags)
        if entities and "ADDRESS" not in entities:
            return out
        # A street named after a cue ("lives on Cranbrook Road"): found from the street word
        # back, since street words are rarer than the cue words.
        for m in _STREET_WORD.finditer(text):
            cued = _CUE_AND_STREET_NAME.search(text, max(0, m.start() - 80), m.start())
            if cued is not None:
                out.append(_result(self, "ADDRESS", cued.start("id"), m.end(), 0.7))
        return out


class UkPhoneRecogniser(_RegexRecogniser):
    """UK numbers in national or +44 form (mobiles, landlines, with spaces, hyphens or a
    bracketed area code), and international numbers written with a leading +."""

    def __init__(self) -> None:
        super().__init__(
            "PHONE",
            "uk_phone",
            [
                (
                    Pattern(
                        "uk phone",
                        r"(?:\+(?<![\w+]\+)44[ \-]?(?:\(0\)[ \-]?)?|0(?<![\w+]0)(?:044[ \-]?)?)\d(?:[ \-]?\d){8,9}(?!\d)",
                        0.8,
                    ),
                    None,
                ),
                (
                    Pattern(
                        "uk phone, bracketed area code",
                        r"\((?<![\w+]\()0\d{2,4}\)[ \-]?\d{3,4}[ \-]?\d{3,4}(?!\d)",
                        0.8,
                    ),
                    None,
                ),
                (
                    Pattern(
                        "international phone",
                        r"\+(?<![\w+]\+)(?!44)\d{1,3}[ \-]?(?:\d[ \-]?){6,12}\d(?!\d)",
                        0.7,
                    ),
                    None,
                ),
            ],
            context=["phone", "mobile", "tel", "number", "call"],
        )


def _nhs_checksum(value: str) -> bool:
    digits = [int(c) for c in value if c.isdigit()]
    if len(digits) != 10:
        return False
    total = sum(d * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == digits[9]


def _letters_and_digits(value: str) -> bool:
    """A National Insurance number may not start with D, F, I, Q, U or V (the other shapes may)."""
    return not (len(value) >= 9 and value[1].isalpha() and value[-1].isalpha() and value[0] in "DFIQUV")


def _long_number(value: str) -> bool:
    if value.isdigit():
        return len(value) >= 9
    return value[0] != "0" and _nhs_checksum(value)


def _enough_digits(value: str) -> bool:
    return sum(c.isdigit() for c in value) >= 4


# A number that follows "passport no.", "HO ref:", "NI number" and the like. Numbers are found
# first (a scan for digits is fast) and the cue is then looked for just before each one.
_DOCUMENT_CUE = re.compile(
    trie_pattern(
        cased(
            ["passport", "pp", "brp", "arc", "visa", "vignette", "ni", "nino", "nhs", "gwf", "application"]
            + ["travel document", "travel doc", "biometric residence permit", "biometric residence card"]
            + ["residence permit", "residence card", "arc card", "national insurance", "driving licence"]
            + ["driving license", "id card", "identity card"]
            + [
                f"{o} {r}"
                for o in ("ho", "home office", "ukvi", "ukba", "port")
                for r in ("ref", "reference")
            ]
        )
        | {"ID", "ID card", "HO Ref", "Home Office Ref", "Home Office Reference", "NHS No", "NI No", "BRP No"}
    )
    + r"(?!\w)(?:\s+(?:no|number|num|nr|ref|reference|details|NO|No|Number|NUMBER|Ref|REF))?\.?"
    r"(?:\s+(?:is|was))?\s*[:#=\-]?\s*\Z"
)
_NUMBER_BODY = re.compile(
    r"\d[A-Za-z0-9]*(?:[/\-][A-Za-z0-9]+|[ \t](?=[A-Za-z]{0,3}\d)[A-Za-z0-9]+)*(?![A-Za-z0-9])"
)
_LETTERS_BEFORE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{1,3}\Z")


class DocumentNumberRecogniser(_RegexRecogniser):
    """National Insurance numbers, biometric residence permit numbers (two letters and seven
    characters), Home Office references (a letter and seven digits), visa application numbers
    (GWF...), NHS numbers (checksum), numbers of nine to twelve digits, and any number after
    "passport no.", "HO ref" and the like."""

    def __init__(self) -> None:
        super().__init__(
            "DOCUMENT_NUMBER",
            "uk_document_number",
            [
                # National Insurance numbers (two letters, six digits, a letter), biometric
                # residence permits (two letters, seven characters), Home Office references (a
                # letter, seven digits), visa applications (GWF and nine digits): one scan,
                # since all start with a capital.
                (
                    Pattern(
                        "letters and digits",
                        r"[A-Z](?<!\w\w)(?:[A-CEGHJ-NPR-TW-Z][ \t]?\d{2}[ \t]?\d{2}[ \t]?\d{2}[ \t]?[A-D]"
                        r"|[A-Z][\dX]\d{6}|\d{7}(?:/\d{1,3})?|WF\d{9})(?!\w)",
                        0.7,
                    ),
                    _letters_and_digits,
                ),
                # Nine to twelve digits in a row, or an NHS number (3-3-4, valid checksum).
                (
                    Pattern(
                        "long number",
                        r"\d(?<![\w/\-]\d)(?:\d{8,11}(?!\d|[/.\-]\d)|\d{2}[ \-]?\d{3}[ \-]?\d{4}(?!\w))",
                        0.5,
                    ),
                    _long_number,
                ),
            ],
            context=["passport", "brp", "permit", "reference", "national insurance", "nhs"],
        )

    def analyze(
        self,
        text: str,
        entities: list[str] | None,
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        out = super().analyze(text, entities, nlp_artifacts, regex_flags)
        if entities and "DOCUMENT_NUMBER" not in entities:
            return out
        for m in _NUMBER_BODY.finditer(text):
            start, end = m.span()
            if start and (text[start - 1].isalnum() or text[start - 1] in "/-"):
                letters = _LETTERS_BEFORE.search(text, max(0, start - 4), start)
                if letters is None:
                    continue
                start = letters.start()
            if _enough_digits(text[start:end]) and _DOCUMENT_CUE.search(text, max(0, start - 48), start):
                out.append(_result(self, "DOCUMENT_NUMBER", start, end, 0.8))
        return out


_MONTH = trie_pattern(
    cased(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
            "jan",
            "feb",
            "mar",
            "apr",
            "jun",
            "jul",
            "aug",
            "sep",
            "sept",
            "oct",
            "nov",
            "dec",
        ]
    )
)
_DATE = (
    rf"(?:\d{{1,2}}[/.\-]\d{{1,2}}[/.\-](?:\d{{4}}|\d{{2}})|\d{{4}}-\d{{2}}-\d{{2}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?[ \t]+(?:of[ \t]+)?{_MONTH}\.?,?[ \t]+\d{{4}}"
    rf"|{_MONTH}\.?[ \t]+\d{{1,2}}(?:st|nd|rd|th)?,?[ \t]+\d{{4}})(?!\d)"
)
_BIRTH_CUE = trie_pattern(
    dict.fromkeys(
        cased(["dob", "d.o.b", "d.o.b.", "d o b", "date of birth", "born", "born on", "birthday", "b."]),
        r"(?:\s+(?:is|was))?\s*[:\-]?\s*",
    )
)


class DateOfBirthRecogniser(_RegexRecogniser):
    """A date after "DOB", "date of birth", "born (on)", a bracketed date after a name
    ("SMITH (12/04/1990)"), and a year after "born in"."""

    def __init__(self) -> None:
        super().__init__(
            "DATE_OF_BIRTH",
            "date_of_birth",
            [
                (Pattern("date after a cue", rf"{_BIRTH_CUE}(?P<id>{_DATE})", 0.9), None),
                (
                    Pattern(
                        "bracketed date after a name",
                        rf"[A-Z](?<!\w\w)[A-Za-z'\u2019-]+\s+\((?P<id>{_DATE})\)",
                        0.6,
                    ),
                    None,
                ),
                (
                    Pattern(
                        "year of birth",
                        rf"{trie_pattern(cased(['born']))}\s+(?:in\s+)?(?P<id>(?:19|20)\d{{2}})(?!\d)",
                        0.6,
                    ),
                    None,
                ),
            ],
            context=["dob", "born", "birth"],
        )


# --- Identifiers: names ---------------------------------------------------------------------


class PersonNameRecogniser(LocalRecognizer):
    """People's names from titles, cue words and a first-name list (see `names.py`); no NER
    model. Which of them are the subject's own is decided by the caller."""

    def __init__(self) -> None:
        super().__init__(
            supported_entities=["PERSON"],
            name="person_name",
            context=["mr", "mrs", "ms", "named", "called", "partner", "witness"],
        )

    def load(self) -> None:
        return None

    def analyze(
        self, text: str, entities: list[str] | None, nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if entities and "PERSON" not in entities:
            return []
        return [_result(self, "PERSON", start, end, score) for start, end, score in find_names(text)]


class _EmailRecogniser(EmailRecognizer):
    """Presidio's email recogniser, reporting `EMAIL`. Its check of the domain (tldextract,
    kept offline by `engine.use_bundled_suffix_list`) raises the score of an address on a known
    public suffix; an address on any other domain ("x@example.sch.uk", "x@localhost.lan") is
    still an address, and still masked."""

    def validate_result(self, pattern_text: str) -> bool | None:
        return True if super().validate_result(pattern_text) else None


def email_recogniser() -> EmailRecognizer:
    return _EmailRecogniser(supported_entity="EMAIL", name="email")


def our_recognisers() -> list[EntityRecognizer]:
    return [
        ImmigrationRecogniser(),
        PersonNameRecogniser(),
        UkAddressRecogniser(),
        UkPhoneRecogniser(),
        DocumentNumberRecogniser(),
        DateOfBirthRecogniser(),
        email_recogniser(),
    ]
