"""`minimise`: a narrative as it may leave.

* Immigration information (status, nationality, threats to report, documents held by someone
  else, public funds) goes per `Mode`: the whole sentence (the default, and what every release
  path of the firewall uses), the span masked as "[removed]", or the span replaced by its
  category ("[immigration status]").
* Identifiers of other people (names, addresses, phone numbers, emails, document numbers,
  dates of birth) are masked in every mode, each with a numbered placeholder: the same name,
  number or address gets the same placeholder throughout one text ("[person 1]" ... "[person
  1]"), a different one the next number.
* The subject's own name (any of `subject_names`, or any part of one) is left as it is.

Both steps run to a fixpoint: the output is analysed again (its placeholders walled, see
`placeholders.py`) until nothing more is found, so minimising the output again changes
nothing. Each `Removal` says where (offsets into the original text), what category and how
(sentence, mask or tag), never what.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from safereport.errors import SafereportError
from safereport.redact.analysis import run_recognisers
from safereport.redact.findings import IMMIGRATION_CATEGORIES, Finding, Minimised, Mode, Removal
from safereport.redact.names import name_key, subject_filter
from safereport.redact.narrative import SentenceCut, cut_sentences
from safereport.redact.placeholders import (
    ANY_PLACEHOLDER,
    IDENTIFIER_LABELS,
    IDENTIFIER_PLACEHOLDER,
    IMMIGRATION_TAGS,
    MASK,
    wall,
)
from safereport.redact.rules import PRIORITY

__all__ = ["MinimisationError", "minimise"]


class MinimisationError(SafereportError):
    """The minimiser could not settle on an output; nothing of the text may leave."""

    code = "minimisation_error"


# A fixpoint is normally reached in two rounds; this only bounds a bug.
_MAX_ROUNDS = 50


@dataclass(frozen=True, slots=True)
class _Span:
    """A span to be replaced, in the coordinates of the text being masked."""

    start: int
    end: int
    category: str


def _key(category: str, value: str) -> str:
    """What makes two mentions of an identifier the same one (never leaves this module)."""
    if category == "person":
        return name_key(value)
    if category == "phone":
        digits = "".join(c for c in value if c.isdigit())
        return "0" + digits[2:] if value.lstrip().startswith("+44") else digits
    if category in ("document_number", "address"):
        return "".join(c for c in value.casefold() if c.isalnum())
    return " ".join(value.casefold().split())


def _stronger(a: _Span, b: _Span) -> str:
    """The category of two overlapping spans merged: immigration before identifiers, the more
    specific immigration category first, else the longer identifier."""
    a_imm, b_imm = a.category in IMMIGRATION_CATEGORIES, b.category in IMMIGRATION_CATEGORIES
    if a_imm and b_imm:
        return a.category if PRIORITY[a.category] <= PRIORITY[b.category] else b.category
    if a_imm != b_imm:
        return a.category if a_imm else b.category
    return a.category if a.end - a.start >= b.end - b.start else b.category


def _merge(spans: list[_Span]) -> list[_Span]:
    merged: list[_Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            merged[-1] = _Span(last.start, max(last.end, span.end), _stronger(last, span))
        else:
            merged.append(span)
    return merged


@dataclass(frozen=True, slots=True)
class _Rendered:
    text: str
    out_starts: list[int]  # each piece's start in the output
    pieces: list[tuple[int, int, bool]]  # (start, end) in the input, and whether it was replaced


def _numbers_in_use(text: str) -> dict[str, int]:
    """The highest number of each identifier placeholder `text` already holds, so that new
    placeholders never reuse one."""
    labels = {label: category for category, label in IDENTIFIER_LABELS.items()}
    highest: dict[str, int] = {}
    if "[" in text:
        for m in IDENTIFIER_PLACEHOLDER.finditer(text):
            label, _, number = m.group()[1:-1].rpartition(" ")
            category = labels[label]
            highest[category] = max(highest.get(category, 0), int(number))
    return highest


def _render(text: str, spans: list[_Span], mode: Mode) -> _Rendered:
    numbers: dict[tuple[str, str], int] = {}
    counts = _numbers_in_use(text)
    out: list[str] = []
    out_starts: list[int] = []
    pieces: list[tuple[int, int, bool]] = []
    length = at = 0

    def emit(piece: str, start: int, end: int, replaced: bool) -> None:
        nonlocal length
        out_starts.append(length)
        pieces.append((start, end, replaced))
        out.append(piece)
        length += len(piece)

    for span in spans:
        if at < span.start:
            emit(text[at : span.start], at, span.start, False)
        if span.category in IMMIGRATION_CATEGORIES:
            placeholder = IMMIGRATION_TAGS[span.category] if mode is Mode.TAG else MASK
        else:
            key = (span.category, _key(span.category, text[span.start : span.end]))
            if key not in numbers:
                counts[span.category] = counts.get(span.category, 0) + 1
                numbers[key] = counts[span.category]
            placeholder = f"[{IDENTIFIER_LABELS[span.category]} {numbers[key]}]"
        emit(placeholder, span.start, span.end, True)
        at = span.end
    if at < len(text):
        emit(text[at:], at, len(text), False)
    return _Rendered("".join(out), out_starts, pieces)


def _to_input(rendered: _Rendered, finding: Finding) -> _Span:
    """A finding in rendered output, as a span of the text that was rendered."""

    def locate(at: int, end: bool) -> int:
        i = bisect_right(rendered.out_starts, at - 1 if end else at) - 1
        start, stop, replaced = rendered.pieces[i]
        if replaced:
            return stop if end else start
        return start + (at - rendered.out_starts[i])

    return _Span(locate(finding.start, False), locate(finding.end, True), finding.category)


def _mask(
    text: str,
    mode: Mode,
    subject_parts: frozenset[str],
    *,
    immigration_first: bool = True,
    sentence_mode: bool = False,
) -> tuple[str, list[_Span], list[Finding]]:
    """Mask `text` to a fixpoint. Returns the output, the spans replaced, and (in sentence
    mode, where immigration information is removed by sentence instead) the immigration
    findings that were not masked."""
    spans: list[_Span] = []
    rendered = _Rendered(text, [0], [(0, len(text), False)])
    opaque = IDENTIFIER_PLACEHOLDER if sentence_mode else ANY_PLACEHOLDER
    immigration = immigration_first
    for _ in range(_MAX_ROUNDS):
        findings = run_recognisers(
            wall(rendered.text, opaque), subject_parts=subject_parts, immigration=immigration
        )
        immigration = True
        if sentence_mode:
            leftover = [f for f in findings if f.category in IMMIGRATION_CATEGORIES]
            if leftover:
                return (
                    rendered.text,
                    spans,
                    [
                        Finding(f.category, *_span_bounds(_to_input(rendered, f)), f.recogniser, f.score)
                        for f in leftover
                    ],
                )
        if not findings:
            return rendered.text, spans, []
        new = _merge(spans + [_to_input(rendered, f) for f in findings])
        if new == spans:
            break
        spans = new
        rendered = _render(text, spans, mode)
    # Unreachable unless a recogniser matches a wall; fail closed.
    raise MinimisationError(f"expected a fixpoint within {_MAX_ROUNDS} rounds, got none")


def _span_bounds(span: _Span) -> tuple[int, int]:
    return span.start, span.end


def _minimise_by_sentence(text: str, subject_parts: frozenset[str]) -> Minimised:
    forced: dict[int, str] = {}
    for _ in range(_MAX_ROUNDS):
        cut = cut_sentences(text, forced=forced)
        out, spans, leftover = _mask(
            cut.text, Mode.MASK, subject_parts, immigration_first=False, sentence_mode=True
        )
        if not leftover:
            return Minimised(out, _sentence_removals(cut, spans))
        # Masking brought immigration words together (which walls should prevent): take
        # their sentences out as well and start again.
        for finding in leftover:
            for at in range(finding.start, max(finding.end, finding.start + 1)):
                index = _sentence_index(cut, at)
                if index is not None:
                    forced.setdefault(index, finding.category)
        forced.update(cut.reasons)
    raise MinimisationError(f"expected a fixpoint within {_MAX_ROUNDS} rounds, got none")


def _sentence_index(cut: SentenceCut, at: int) -> int | None:
    k = bisect_right([s for s, _ in cut.out_spans], at) - 1
    if k >= 0 and at < cut.out_spans[k][1]:
        return cut.kept[k]
    return None


def _sentence_removals(cut: SentenceCut, spans: list[_Span]) -> tuple[Removal, ...]:
    removals = [Removal(cut.spans[i][0], cut.spans[i][1], cut.reasons[i], "sentence") for i in cut.reasons]
    for span in spans:
        start = cut.to_original(span.start, end=False)
        end = cut.to_original(span.end, end=True)
        removals.append(Removal(start, max(start, end), span.category, "mask"))
    return tuple(sorted(removals, key=lambda r: (r.start, r.end)))


def minimise(text: str, *, mode: Mode = Mode.SENTENCE, subject_names: Sequence[str] = ()) -> Minimised:
    """`text` as it may leave: immigration information removed per `mode`, other people's
    identifiers masked with consistent placeholders, the subject's own name kept."""
    mode = Mode(mode)
    parts = subject_filter(subject_names)
    if mode is Mode.SENTENCE:
        return _minimise_by_sentence(text, parts)
    out, spans, _ = _mask(text, mode, parts)
    action = "tag" if mode is Mode.TAG else "mask"
    removals = tuple(
        Removal(s.start, s.end, s.category, action if s.category in IMMIGRATION_CATEGORIES else "mask")
        for s in spans
    )
    return Minimised(out, removals)
