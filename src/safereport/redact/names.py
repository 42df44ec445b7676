"""Finding people's names without a named-entity model.

Three cues, all over the original (not lower-cased) text:

* a title: "Mr Smith", "Mrs. J. Okafor", "PC 1234 Jones", "DC Patel";
* a cue word: "her partner Tom", "witness Jane Doe", "a man called Dave", "known as Kaz";
* a first name from `data/first_names.txt`, with any surname after it ("Maria Silva",
  "Piotr KOWALSKI") or an upper-case surname before it ("SILVA Maria").

A capitalised word on `data/not_names.txt` ("Police", "Road", "Monday") never counts as part
of a name, and a first name that is also an ordinary word ("Will", "May", "Grace": see
`data/first_names_ambiguous.txt`) counts only with a surname or after a title or cue.

`subject_filter` builds the test that keeps the subject's own name, in any case or spacing
and each part of it alone, from being reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import cache
from importlib import resources

from safereport.redact.patterns import cased, trie_pattern

__all__ = ["find_names", "name_key", "subject_filter"]

# Upper- and lower-case letters as character-class ranges. The Latin Extended-A block mixes
# both cases; a candidate is checked with str.isupper where that matters.
_UP = "A-ZÀ-ÖØ-ÞĀ-ž"
_LOW = "a-zß-öø-ÿĀ-ž"
_APOSTROPHE = "'\u2019"
# "Smith", "McDonald", "O'Neil", "D'Souza", "Smith-Jones"
_CAP = rf"(?:[ODL][{_APOSTROPHE}])?[{_UP}][{_LOW}]+(?:[{_UP}][{_LOW}]+)?(?:-[{_UP}][{_LOW}]+)*"
_UPPER = rf"(?:[ODL][{_APOSTROPHE}])?[{_UP}]{{2,}}(?:-[{_UP}]{{2,}})*"
_TOKEN = rf"(?:{_CAP}|{_UPPER})"
_INITIAL = rf"[{_UP}]\.?"
# Up to two more name words (or initials) after the first, on the same line.
_MORE = rf"(?:[ \t]+(?:{_INITIAL}[ \t]+)*{_TOKEN}){{0,2}}"
_END = rf"(?![{_LOW}{_UP}\d])"

_TITLES = (
    "Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame|Lady|Lord|Rev|Revd|Fr|Cllr|Sgt|Insp|Supt|Det|Nurse"
    "|PC|DC|PS|DS|DI|DCI|DSI|DCS|PCSO|MR|MRS|MS|MISS|DR"
)
_TITLED = re.compile(
    trie_pattern(_TITLES.split("|"))
    + rf"\.?[ \t]+(?:\d{{2,6}}[ \t]+)?(?P<name>(?:{_INITIAL}[ \t]+)*{_TOKEN}{_MORE}){_END}"
)

_RELATIONS = [
    "partner",
    "ex",
    "ex-partner",
    "husband",
    "ex-husband",
    "wife",
    "ex-wife",
    "boyfriend",
    "ex-boyfriend",
    "girlfriend",
    "ex-girlfriend",
    "fiance",
    "fiancee",
    "fiancé",
    "fiancée",
    "spouse",
    "son",
    "daughter",
    "child",
    "mother",
    "mum",
    "mom",
    "father",
    "dad",
    "brother",
    "sister",
    "stepson",
    "stepdaughter",
    "stepfather",
    "stepmother",
    "stepdad",
    "stepmum",
    "friend",
    "cousin",
    "uncle",
    "aunt",
    "auntie",
    "nephew",
    "niece",
    "grandmother",
    "grandfather",
    "grandma",
    "grandad",
    "nan",
    "grandson",
    "granddaughter",
    "neighbour",
    "colleague",
    "employer",
    "boss",
    "manager",
    "landlord",
    "landlady",
    "lodger",
    "flatmate",
    "housemate",
    "carer",
    "associate",
    "in-law",
    "mother-in-law",
    "father-in-law",
    "sister-in-law",
    "brother-in-law",
]
_STANDALONE = [
    "witness",
    "witnesses",
    "victim",
    "suspect",
    "complainant",
    "informant",
    "caller",
    "offender",
    "defendant",
    "detainee",
    "accused",
    "aka",
    "nee",
    "née",
    "v",
    "ip",
    "pt",
]
# Police codes for the people in a case: V1, W2, S1, IP1.
_CODES = [f"{letter}{n}" for letter in ("v", "w", "s", "ip") for n in range(1, 10)]
_WEAK_CUES = frozenset({"called", "named"})
# Relations that are as often a business as a person: the name must hold a known first name.
_BUSINESS_CUES = frozenset({"employer", "boss", "manager", "landlord", "landlady", "associate"})
_NOT_SURNAMES = frozenset(_CODES) | {"ip", "pt", "v", "nok", "dob"}
_PEOPLE = [
    "man",
    "woman",
    "lad",
    "guy",
    "bloke",
    "male",
    "female",
    "girl",
    "boy",
    "someone",
    "person",
    "friend",
    "one",
]
_CUE_ENTRIES: dict[str, str] = {word: r"(?:\s+(?:is|was))?" for word in cased(_RELATIONS)}
_CUE_ENTRIES.update({word: "" for word in cased(_STANDALONE + _CODES) | cased(_WEAK_CUES)})
_CUE_ENTRIES.update({f"{p} {c}": "" for p in _PEOPLE for c in ("called", "named")})
_CUE_ENTRIES.update(
    {
        word: ""
        for word in cased(
            ["known as", "name is", "name was", "a.k.a", "a.k.a."]
            + [f"{v} {o}" for v in ("call", "calls", "called") for o in ("him", "her", "himself", "herself")]
        )
    }
)
_CUE_ENTRIES.update({word: r"\s*:" for word in cased(["name", "names"])})
# Cued names are found from the name backwards: a capital after a space that follows a word,
# a comma or a colon (a scan that skips to capitals is fast; one for the many cue words is not),
# then the cue just before it.
_NAME_AFTER_WORD = re.compile(rf"[{_UP}](?:(?<=[\w,:][ \t][{_UP}])|(?<=[kK]\.[ \t][{_UP}]))")
_CUE_BEFORE = re.compile(rf"(?P<cue>{trie_pattern(_CUE_ENTRIES)})(?![\w-])[,:]?[ \t]+\Z")
_NAME_AT = re.compile(rf"(?:{_INITIAL}[ \t]+)*{_TOKEN}{_MORE}{_END}")


def _load(name: str) -> frozenset[str]:
    text = resources.files("safereport.redact").joinpath("data", name).read_text("utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def _load_words(name: str) -> frozenset[str]:
    return frozenset(w.replace("-", " ") for line in _load(name) for w in line.split())


@cache
def _lists() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """First names, first names that are also words, and words that are never part of a name
    (not_names.txt, and the demonyms, languages and countries the immigration rules know)."""
    origins = _load_words("demonyms.txt") | _load_words("languages.txt") | _load_words("countries.txt")
    return _load("first_names.txt"), _load("first_names_ambiguous.txt"), _load("not_names.txt") | origins


@cache
def _first_name_pattern() -> re.Pattern[str]:
    first, ambiguous, _ = _lists()
    forms = set()
    for word in first | ambiguous:
        forms.add("-".join(p.capitalize() for p in word.split("-")))
        forms.add(word.upper())
    return re.compile(rf"(?P<first>{trie_pattern(forms)}){_END}(?P<more>{_MORE}){_END}")


# "St Mary's", "St John's wort": a saint, a place or a plant, not a person.
_SAINT_BEFORE = re.compile(r"\bSt\.?[ \t]+\Z")
# An upper-case surname written before the first name: "SILVA Maria".
_SURNAME_BEFORE = re.compile(rf"(?<![\w{_APOSTROPHE}-]){_UPPER}[ \t]+$")


def _tokens(span: str) -> list[str]:
    return span.split()


def _trim(text: str, start: int, end: int, stop: frozenset[str]) -> tuple[int, int] | None:
    """Drop stop words from the end of the name at [start, end) (and from its start); None
    when nothing is left."""
    words = [(m.start() + start, m.end() + start) for m in re.finditer(r"\S+", text[start:end])]
    while words and _plain(text[words[-1][0] : words[-1][1]]) in stop:
        words.pop()
    while words and _plain(text[words[0][0] : words[0][1]]) in stop:
        words.pop(0)
    if not words:
        return None
    return words[0][0], words[-1][1]


def _plain(word: str) -> str:
    return word.rstrip(".").replace("\u2019", "'").lower()


def find_names(text: str) -> Iterator[tuple[int, int, float]]:
    """Every name in `text`: (start, end, score). Spans may overlap; the caller merges."""
    first, ambiguous, stop = _lists()
    for m in _TITLED.finditer(text):
        lo, hi = m.span("name")
        span = _trim(text, lo, hi, stop)
        if span is not None and span[0] == lo:
            yield m.start(), span[1], 0.85
    for candidate in _NAME_AFTER_WORD.finditer(text):
        lo = candidate.start()
        cued = _CUE_BEFORE.search(text, max(0, lo - 24), lo)
        if cued is None:
            continue
        name = _NAME_AT.match(text, lo)
        if name is None:
            continue
        span = _trim(text, lo, name.end(), stop)
        if span is None or span[0] != lo:
            continue
        words = _tokens(text[span[0] : span[1]])
        cue = cued.group("cue").lower()
        needs_first_name = (cue in _WEAK_CUES and len(words) == 1) or cue in _BUSINESS_CUES
        if needs_first_name and not any(_plain(w) in first or _plain(w) in ambiguous for w in words):
            continue
        yield span[0], span[1], 0.7
    for m in _first_name_pattern().finditer(text):
        lo = m.start("first")
        hi = m.end("more")
        span = _trim(text, lo, hi, stop)
        if span is None or span[0] != lo or _SAINT_BEFORE.search(text, max(0, lo - 5), lo):
            continue
        has_surname = span[1] > m.end("first")
        before = _SURNAME_BEFORE.search(text, max(0, lo - 40), lo)
        if (
            before is not None
            and _plain(before.group().strip()) not in stop
            and _plain(before.group().strip()) not in _NOT_SURNAMES
        ):
            lo, has_surname = before.start(), True
        if _plain(m.group("first")) in ambiguous and not has_surname:
            continue
        yield lo, span[1], 0.85 if has_surname else 0.6


_TITLE_WORDS = frozenset(t.lower() for t in _TITLES.split("|"))


def name_key(name: str) -> str:
    """What makes two mentions the same name: the words without titles, case or possessive."""
    words = []
    for word in name.replace("\u2019", "'").split():
        plain = word.strip(".,").lower()
        if plain.endswith("'s"):
            plain = plain[:-2]
        if plain and plain not in _TITLE_WORDS and plain not in _NOT_SURNAMES and not plain.isdigit():
            words.append(plain)
    return " ".join(words)


@cache
def _subject_parts(names: tuple[str, ...]) -> frozenset[str]:
    parts: set[str] = set()
    for name in names:
        for word in name_key(name).split():
            parts.add(word)
            parts.update(p for p in word.split("-") if p)
    return frozenset(parts)


def subject_filter(subject_names: Sequence[str]) -> frozenset[str]:
    """The name parts of the subject: a name made only of these (and initials of them) is the
    subject's own."""
    if not subject_names:
        return frozenset()
    return _subject_parts(tuple(subject_names))


def is_subject(name: str, parts: frozenset[str]) -> bool:
    """Whether `name` is the subject's: every word of it one of `parts` (or an initial of
    one), and at least one word more than an initial."""
    if not parts:
        return False
    words = name_key(name).split()
    initials = {p[0] for p in parts}
    whole = False
    for word in words:
        if word in parts or ("-" in word and all(piece in parts for piece in word.split("-") if piece)):
            whole = True
        elif not (len(word) == 1 and word in initials):
            return False
    return whole
