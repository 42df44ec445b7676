"""Running the recognisers: `analyse` and what the minimiser builds on.

The recognisers are Presidio recognisers (`recognisers.py`), called directly rather than
through `AnalyzerEngine.analyze`: they need no tokens, so the spaCy pipeline, the context
enhancer and the engine's bookkeeping would cost time and decide nothing. Presidio (and with
it spaCy) is imported on first use, not when `safereport.redact` is imported, so the verbs and
requests that release no narrative do not pay for it.

Cheap prefilters decide which recognisers need to run at all, and where: the phone, document
and date-of-birth recognisers only on text holding a digit, and Presidio's email recogniser
(whose pattern is slow) only on the words that hold an "@".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from safereport.redact.findings import Finding
from safereport.redact.names import is_subject, subject_filter
from safereport.redact.placeholders import IDENTIFIER_PLACEHOLDER, wall

__all__ = ["analyse", "run_recognisers"]

_DIGIT = re.compile(r"\d")


@dataclass(frozen=True, slots=True)
class _Recognisers:
    immigration: Any
    always: tuple[Any, ...]
    with_digits: tuple[Any, ...]
    with_at: tuple[Any, ...]


@cache
def _recognisers() -> _Recognisers:
    from safereport.redact import recognisers
    from safereport.redact.engine import use_bundled_suffix_list

    use_bundled_suffix_list()
    return _Recognisers(
        immigration=recognisers.ImmigrationRecogniser(),
        always=(recognisers.PersonNameRecogniser(), recognisers.UkAddressRecogniser()),
        with_digits=(
            recognisers.UkPhoneRecogniser(),
            recognisers.DocumentNumberRecogniser(),
            recognisers.DateOfBirthRecogniser(),
        ),
        with_at=(recognisers.email_recogniser(),),
    )


def run_recognisers(
    text: str, *, subject_parts: frozenset[str], immigration: bool = True, identifiers: bool = True
) -> list[Finding]:
    """The findings in `text` (placeholders already walled), sorted, without a finding that
    lies inside another of the same category, and without the subject's own name."""
    rec = _recognisers()
    chosen: list[Any] = []
    if immigration:
        chosen.append(rec.immigration)
    if identifiers:
        chosen.extend(rec.always)
        if _DIGIT.search(text):
            chosen.extend(rec.with_digits)
    found: list[Finding] = []
    for recogniser in chosen:
        for r in recogniser.analyze(text, None, None):
            category = r.entity_type.lower()
            if category == "person" and is_subject(text[r.start : r.end], subject_parts):
                continue
            found.append(Finding(category, r.start, r.end, recogniser.name, float(r.score)))
    if identifiers and "@" in text:
        for lo, hi in _words_with_at(text):
            for recogniser in rec.with_at:
                for r in recogniser.analyze(text[lo:hi], None, None):
                    found.append(Finding("email", lo + r.start, lo + r.end, recogniser.name, float(r.score)))
    found.sort(key=lambda f: (f.start, -f.end, f.category))
    kept: list[Finding] = []
    reach: dict[str, int] = {}
    for f in found:
        if reach.get(f.category, -1) >= f.end:
            continue
        # "3 Bryn Terrace": a first name inside an address is part of the address.
        if f.category == "person" and reach.get("address", -1) >= f.end:
            continue
        reach[f.category] = max(reach.get(f.category, -1), f.end)
        kept.append(f)
    return kept


def _words_with_at(text: str) -> list[tuple[int, int]]:
    """The [start, end) of every run of non-space characters holding an "@" (an address never
    holds white space)."""
    words: list[tuple[int, int]] = []
    at = text.find("@")
    while at >= 0:
        lo, hi = at, at + 1
        while lo > 0 and not text[lo - 1].isspace():
            lo -= 1
        while hi < len(text) and not text[hi].isspace():
            hi += 1
        words.append((lo, hi))
        at = text.find("@", hi)
    return words


def analyse(text: str, *, subject_names: Sequence[str] = ()) -> tuple[Finding, ...]:
    """Every finding in `text`: immigration information and identifiers, in order of offset.

    Names that belong to the subject (any of `subject_names`, in any case or spacing, or any
    single part of one) are not reported as "person" findings. The minimiser's identifier
    placeholders ("[person 1]") are not findings; its immigration placeholders ("[removed]",
    "[nationality]") are, since each says that something of its kind was there.
    """
    walled = wall(text, IDENTIFIER_PLACEHOLDER)
    return tuple(run_recognisers(walled, subject_parts=subject_filter(subject_names)))
