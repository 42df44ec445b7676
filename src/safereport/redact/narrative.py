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
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from safereport.redact.findings import Removal
from safereport.redact.placeholders import IDENTIFIER_PLACEHOLDER, wall
from safereport.redact.rules import PRIORITY, matches

__all__ = ["CleanedNarrative", "Removal", "SentenceCut", "clean_narrative", "cut_sentences"]

Matcher = Callable[[str], Iterable[tuple[int, int, str]]]


@dataclass(frozen=True, slots=True)
class CleanedNarrative:
    text: str
    removed: tuple[Removal, ...]


@dataclass(frozen=True, slots=True)
class SentenceCut:
    """The result of removing sentences: the joined text that is left, and where its parts
    came from (`kept[k]` is the index into `spans` of the k-th kept sentence, which lies at
    `out_spans[k]` in `text`)."""

    text: str
    spans: list[tuple[int, int]]
    kept: list[int]
    out_spans: list[tuple[int, int]]
    reasons: dict[int, str] = field(default_factory=dict)

    def to_original(self, at: int, *, end: bool) -> int:
        """The offset in the original text of offset `at` in `text`. An offset in the gap
        between two kept sentences maps to the start of the next (or, for an `end`, the end of
        the previous)."""
        lo, hi = 0, len(self.out_spans)
        while lo < hi:
            mid = (lo + hi) // 2
            if (self.out_spans[mid][1] < at) if end else (self.out_spans[mid][1] <= at):
                lo = mid + 1
            else:
                hi = mid
        if lo == len(self.out_spans):
            return self.spans[self.kept[-1]][1] if self.kept else 0
        out_start, _ = self.out_spans[lo]
        start, _ = self.spans[self.kept[lo]]
        if at < out_start:
            return self.spans[self.kept[lo - 1]][1] if end and lo > 0 else start
        return start + at - out_start

    def sentence_at(self, at: int) -> int | None:
        """The index into `spans` of the kept sentence holding offset `at` of `text`."""
        for k, (lo, hi) in enumerate(self.out_spans):
            if lo <= at < hi:
                return self.kept[k]
        return None


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
gen hon approx etc vs cf incl inc est dept tel ref fig al ave rd ln hrs mins yrs dob ext nr no nos mob
"""
_ABBREVIATIONS = frozenset(_ABBREVIATION_WORDS.split())
_INITIALS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")

# A line break, or a run of terminators (and closing quotes or brackets) followed by white
# space or the end of the text. The leading character class lets the scan skip ahead quickly.
_CANDIDATE = re.compile(
    f"[{_TERMINATORS}{_LINE_BREAKS}](?:(?<=[{_LINE_BREAKS}])|[{_TERMINATORS}]*[{_CLOSERS}]*(?=\\s|\\Z))"
)
_LINE_BREAK_IN_GAP = re.compile(f"\r\n|[{_LINE_BREAKS}]")


# Up to eight letters before a full stop: an abbreviation ("Mr", "approx") or an initial ("J")
# not preceded by a word character, or a single letter after another full stop ("e.g", "U.K").
_ABBREVIATION_BEFORE = re.compile(
    r"(?:(?<=\.)[^\W\d_]|(?<!\w)(?:(?i:"
    + "|".join(sorted(_ABBREVIATIONS, key=lambda w: (-len(w), w)))
    + r")|[A-Z]))\Z"
)


def _abbreviation_before(text: str, at: int) -> bool:
    """Whether the full stop at `at` closes an abbreviation ("Mr", "approx"), a dotted one
    ("e.g", "a.m", "U.K") or an initial (a lone capital letter: "J. Smith")."""
    return _ABBREVIATION_BEFORE.search(text, max(0, at - 9), at) is not None


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    """The [start, end) of every sentence, trimmed of white space, in order.

    A sentence ends at a line break, or after a run of . ! ? … (and any closing quotes or
    brackets) that is followed by white space or the end of the text, unless the run is a lone
    full stop after an abbreviation or an initial. Only the text up to the boundary decides.
    """
    spans: list[tuple[int, int]] = []
    cuts: list[tuple[int, int]] = []  # (end of a sentence, start of what follows)
    for m in _CANDIDATE.finditer(text):
        at, end = m.span()
        if text[at] in _LINE_BREAKS:
            cuts.append((at, end))
        elif not (
            text[at] == "." and text[at + 1 : end].lstrip(_CLOSERS) == "" and _abbreviation_before(text, at)
        ):
            cuts.append((end, end))
    start = 0
    for hi, following in [*cuts, (len(text), len(text))]:
        piece = text[start:hi]
        stripped = piece.strip()
        if stripped:
            first = start + len(piece) - len(piece.lstrip())
            spans.append((first, first + len(stripped)))
        start = following
    return spans


def _gap_breaks(text: str, spans: list[tuple[int, int]]) -> list[int]:
    """For each gap between consecutive sentences: 0 if it holds no line break, 1 if one, 2 if
    more (an index into `_SEPARATORS`)."""
    out = []
    for k in range(len(spans) - 1):
        gap = text[spans[k][1] : spans[k + 1][0]]
        out.append(0 if gap == " " else min(len(_LINE_BREAK_IN_GAP.findall(gap)), 2))
    return out


_SEPARATORS = (" ", "\n", "\n\n")


# --- Cleaning ----------------------------------------------------------------------------------


def _rule_matches(text: str) -> Iterator[tuple[int, int, str]]:
    return matches(wall(text, IDENTIFIER_PLACEHOLDER))


def _flag(text: str, spans: list[tuple[int, int]], matcher: Matcher) -> dict[int, str]:
    """Which sentences (by index into `spans`) the rules match, and the reason for each."""
    flagged: dict[int, str] = {}
    starts = [s for s, _ in spans]
    for start, end, reason in matcher(text):
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


def _join(
    text: str, spans: list[tuple[int, int]], kept: list[int], breaks: list[int]
) -> tuple[str, list[tuple[int, int]]]:
    """The kept sentences joined, and where each of them lies in the joined text. Two kept
    sentences are joined by a blank line, a line break or a space, whichever is the widest of
    the original gaps between them."""
    parts: list[str] = []
    out_spans: list[tuple[int, int]] = []
    length = 0
    previous = -1
    separators = _SEPARATORS
    for index in kept:
        start, end = spans[index]
        if previous >= 0:
            sep = separators[breaks[previous] if index == previous + 1 else max(breaks[previous:index])]
            parts.append(sep)
            length += len(sep)
        parts.append(text[start:end])
        out_spans.append((length, length + end - start))
        length += end - start
        previous = index
    return "".join(parts), out_spans


def cut_sentences(
    text: str, *, matcher: Matcher = _rule_matches, forced: Mapping[int, str] | None = None
) -> SentenceCut:
    """Remove every sentence of `text` that `matcher` finds something in (and the sentences
    `forced` names, by index into the sentence spans, with their reasons), to a fixpoint."""
    spans = _sentence_spans(text)
    reasons: dict[int, str] = dict(forced or {})
    kept = [i for i in range(len(spans)) if i not in reasons]
    breaks = _gap_breaks(text, spans)
    out, out_spans = _join(text, spans, kept, breaks)
    # The rules run over the joined text, not the original, and run again whenever sentences
    # go: once a sentence is gone, its neighbours meet, and a phrase broken over a line may now
    # run from one into the other. What comes out is joined text on which no rule matches, so
    # cleaning it again changes nothing.
    while kept:
        flagged = _flag(out, out_spans, matcher)
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
        out, out_spans = _join(text, spans, kept, breaks)
    return SentenceCut(out, spans, kept, out_spans, reasons)


def clean_narrative(text: str) -> CleanedNarrative:
    """Remove every sentence of `text` that reveals immigration status, nationality or an
    immigration-related vulnerability. Identifiers are left alone: `minimise` masks them.

    The kept sentences come back verbatim and in order, joined by a space, or by a line break
    (or a blank line) where the original had one between them. Each `Removal` gives a removed
    sentence's offsets in `text` and its category.
    """
    cut = cut_sentences(text)
    removed = tuple(Removal(cut.spans[i][0], cut.spans[i][1], cut.reasons[i]) for i in sorted(cut.reasons))
    return CleanedNarrative(text=cut.text, removed=removed)
