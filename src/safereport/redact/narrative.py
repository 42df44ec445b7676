"""The rule-based first pass of the narrative cleaner.

A free-text narrative (a police occurrence summary, a GP note, a council case note) is split
into sentences, and every sentence that reveals a person's immigration status, nationality or an
immigration-related vulnerability is removed whole. What is left is joined back together.

Design choices, all deliberate:

* Removal is by whole sentence, never by word: a sentence with the visa words blanked out
  still says that there was something about a visa.
* The rules lean towards removing too much. A false positive costs a sentence of context;
  a false negative can cost a person their safety.
* Every nationality is treated alike, British, English, Welsh, Scottish and Irish included, so
  that *which* sentences were removed cannot itself say who is and who is not British.
* Whether a sentence ends at a full stop depends only on the text before it, and the rules are
  run again on the cleaned text until nothing more matches. Together these make cleaning
  idempotent: cleaning a cleaned narrative changes nothing.
* A `Removal` carries offsets and a category tag, never the removed words.

Speed: the rules are compiled once, at import, into a single trie-shaped regular expression
that is run over a lower-cased copy of the text, so a scan tries only the rules whose first
word starts at the current position. The few words that count only when capitalised
("Polish", "Turkey", "HO") are checked against the original text after they match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from safereport.redact.rules import PRIORITY, matches

__all__ = ["CleanedNarrative", "Removal", "clean_narrative"]


@dataclass(frozen=True, slots=True)
class Removal:
    """One removed sentence: where it was in the original text, and why (a category tag)."""

    start: int
    end: int
    reason: str


@dataclass(frozen=True, slots=True)
class CleanedNarrative:
    text: str
    removed: tuple[Removal, ...]


# --- Sentence splitting ------------------------------------------------------------------------

# Characters that end a line: the set str.splitlines uses. "\r\n" yields an empty sentence
# between the two, which is dropped.
_LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_TERMINATORS = ".!?…"
_CLOSERS = "\"'\u2019\u201d)\\]\u00bb"  # quotes (straight and curly), brackets, guillemet

# A single full stop directly after one of these does not end a sentence. Taking a real
# sentence end for an abbreviation merges two sentences, which can only make more go, so the
# list errs on the long side.
_ABBREVIATION_WORDS = """
mr mrs ms mx dr prof rev revd sr jr st sgt insp supt ch det cst const pc dc ds di dci dsi ps cllr capt lt col
gen hon approx etc vs cf incl inc est dept tel ref fig al ave rd ln hrs mins yrs dob ext nr
"""
_ABBREVIATIONS = frozenset(_ABBREVIATION_WORDS.split())
_INITIALS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")

# A line break, or a run of terminators (and closing quotes or brackets) followed by white
# space or the end of the text. The leading character class lets the scan skip ahead quickly.
_CANDIDATE = re.compile(
    f"[{_TERMINATORS}{_LINE_BREAKS}](?:(?<=[{_LINE_BREAKS}])|[{_TERMINATORS}]*[{_CLOSERS}]*(?=\\s|\\Z))"
)
_LINE_BREAK_IN_GAP = re.compile(f"\r\n|[{_LINE_BREAKS}]")


def _abbreviation_before(text: str, at: int) -> bool:
    """Whether the full stop at `at` closes an abbreviation ("Mr", "approx"), a dotted one
    ("e.g", "a.m", "U.K") or an initial (a lone capital letter: "J. Smith")."""
    i = at
    while i > 0 and text[i - 1].isalpha() and at - i < 8:
        i -= 1
    word = text[i:at]
    before = text[i - 1] if i > 0 else " "
    if before == "." and len(word) == 1:
        return True
    if before.isalnum() or before == "_":
        return False
    return word.lower() in _ABBREVIATIONS or word in _INITIALS


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    """The [start, end) of every sentence, trimmed of white space, in order.

    A sentence ends at a line break, or after a run of . ! ? … (and any closing quotes or
    brackets) that is followed by white space or the end of the text, unless the run is a lone
    full stop after an abbreviation or an initial. Only the text up to the boundary decides.
    """
    spans: list[tuple[int, int]] = []
    start = 0

    def add(lo: int, hi: int) -> None:
        piece = text[lo:hi]
        stripped = piece.strip()
        if stripped:
            first = lo + (len(piece) - len(piece.lstrip()))
            spans.append((first, first + len(stripped)))

    for m in _CANDIDATE.finditer(text):
        at, end = m.span()
        if text[at] in _LINE_BREAKS:
            add(start, at)
            start = end
            continue
        if text[at] == "." and text[at + 1 : end].lstrip(_CLOSERS) == "" and _abbreviation_before(text, at):
            continue
        add(start, end)
        start = end
    add(start, len(text))
    return spans


def _separator(gaps: Iterable[str]) -> str:
    """What joins two kept sentences: a blank line, a line break or a space, whichever is the
    widest of the original gaps between them."""
    breaks = max((0 if gap == " " else len(_LINE_BREAK_IN_GAP.findall(gap)) for gap in gaps), default=0)
    if breaks == 0:
        return " "
    return "\n" if breaks == 1 else "\n\n"


# --- Cleaning ----------------------------------------------------------------------------------


def _flag(text: str, spans: list[tuple[int, int]]) -> dict[int, str]:
    """Which sentences (by index into `spans`) the rules match, and the reason for each."""
    flagged: dict[int, str] = {}
    starts = [s for s, _ in spans]
    for start, end, reason in matches(text):
        # The last sentence starting at or before the match; a match lies within one sentence
        # unless it runs over a line break, and then every sentence it touches goes.
        lo, hi = 0, len(starts)
        while lo < hi:
            mid = (lo + hi) // 2
            if starts[mid] <= start:
                lo = mid + 1
            else:
                hi = mid
        j = max(lo - 1, 0)
        while j < len(spans) and spans[j][0] < end:
            if spans[j][1] > start:
                current = flagged.get(j)
                if current is None or PRIORITY[reason] < PRIORITY[current]:
                    flagged[j] = reason
            j += 1
    return flagged


def _join(text: str, spans: list[tuple[int, int]], kept: list[int]) -> tuple[str, list[tuple[int, int]]]:
    """The kept sentences joined, and where each of them lies in the joined text."""
    parts: list[str] = []
    out_spans: list[tuple[int, int]] = []
    length = 0
    previous = -1
    for index in kept:
        if previous >= 0:
            sep = _separator(text[spans[k][1] : spans[k + 1][0]] for k in range(previous, index))
            parts.append(sep)
            length += len(sep)
        start, end = spans[index]
        parts.append(text[start:end])
        out_spans.append((length, length + end - start))
        length += end - start
        previous = index
    return "".join(parts), out_spans


def clean_narrative(text: str) -> CleanedNarrative:
    """Remove every sentence of `text` that reveals immigration status, nationality or an
    immigration-related vulnerability.

    The kept sentences come back verbatim and in order, joined by a space, or by a line break
    (or a blank line) where the original had one between them. Each `Removal` gives a removed
    sentence's offsets in `text` and a category tag.
    """
    spans = _sentence_spans(text)
    reasons: dict[int, str] = {}
    kept = list(range(len(spans)))
    out, out_spans = _join(text, spans, kept)
    # The rules run over the joined text, not the original, and run again whenever sentences
    # go: once a sentence is gone, its neighbours meet, and a phrase broken over a line may now
    # run from one into the other. What comes out is joined text on which no rule matches, so
    # cleaning it again changes nothing.
    while kept:
        flagged = _flag(out, out_spans)
        if reasons:
            # A removed sentence's words never leave, even where they repeat in a context in
            # which no rule would have matched them.
            gone = {text[spans[i][0] : spans[i][1]]: reason for i, reason in reasons.items()}
            for position, (start, end) in enumerate(out_spans):
                reason = gone.get(out[start:end])
                if reason is not None and position not in flagged:
                    flagged[position] = reason
        if not flagged:
            break
        for position, reason in flagged.items():
            reasons[kept[position]] = reason
        kept = [index for position, index in enumerate(kept) if position not in flagged]
        out, out_spans = _join(text, spans, kept)
    removed = tuple(Removal(spans[i][0], spans[i][1], reasons[i]) for i in sorted(reasons))
    return CleanedNarrative(text=out, removed=removed)
