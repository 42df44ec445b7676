"""Measuring the free-text minimiser against the labelled evaluation corpus.

The corpus (`tests/redact_corpus/{dev,heldout}/<register>.jsonl`, described in
`docs/redaction-eval.md`) holds one labelled sentence or short snippet a line. This module loads
it, runs an analyser over every item and scores what the analyser found:

* **Immigration information, item level.** For each subcategory, an item is a gold positive if
  that subcategory is labelled and a predicted positive if the analyser reported any finding of
  it. The aggregate row `immigration` counts an item as positive if any subcategory is labelled,
  and as predicted positive if any immigration finding was reported, whatever its subcategory.
* **Identifiers of other people, span level.** Every occurrence (on word boundaries) of a
  labelled identifier's text is one gold span. A gold span is found if a predicted span of the
  same category overlaps it; a predicted span that overlaps no gold span of its category is a
  false positive, so the subject's own name reported as a "person" counts against precision. The
  aggregate row `identifiers` ignores categories: a span masked under the wrong category is still
  masked.

Nothing here decides anything about real data: the corpus is synthetic, written for the project.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from safereport.errors import BadInput, SafereportError

IMMIGRATION = ("threat_to_report", "document_control", "public_funds", "immigration_status", "nationality")
IDENTIFIERS = ("person", "address", "phone", "email", "document_number", "date_of_birth")
REGISTERS = ("police", "statement", "health", "council", "safeguarding")
SPLITS = ("dev", "heldout")
ALL_IMMIGRATION = "immigration"
ALL_IDENTIFIERS = "identifiers"

# The targets, for the aggregate immigration row.
TARGET_RECALL = 0.97
TARGET_PRECISION = 0.90

Split = Literal["dev", "heldout", "all"]


class CorpusError(BadInput):
    """A corpus file is missing or a line of it is malformed; `where` is the file and line."""

    code = "corpus_error"

    def __init__(self, message: str, *, where: str | None = None, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.where = where

    def __str__(self) -> str:
        return (f"{self.where}: " if self.where else "") + super().__str__()


class AnalyserError(SafereportError):
    """The analyser under evaluation returned something that is not a finding in the text."""

    code = "analyser_error"


# --- The corpus ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GoldIdentifier:
    category: str
    text: str


@dataclass(frozen=True, slots=True)
class Item:
    id: str
    register: str
    text: str
    subject: tuple[str, ...]
    immigration: frozenset[str]
    identifiers: tuple[GoldIdentifier, ...]
    split: str
    note: str | None = None


_Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class _IdentifierIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    category: Literal["person", "address", "phone", "email", "document_number", "date_of_birth"]
    text: Annotated[str, StringConstraints(min_length=1, max_length=500)]


class _ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    # Fields are validated in this order, so each validator sees the fields above it.
    # "register" is a BaseModel attribute: the field takes the name through its alias.
    register_: Literal["police", "statement", "health", "council", "safeguarding"] = Field(alias="register")
    id: Annotated[str, StringConstraints(pattern=r"^[a-z]+-[0-9]{4}$")]
    text: Annotated[str, StringConstraints(min_length=1, max_length=5_000)]
    subject: list[_Name] = Field(min_length=1)
    immigration: list[
        Literal["threat_to_report", "document_control", "public_funds", "immigration_status", "nationality"]
    ]
    identifiers: list[_IdentifierIn]
    note: str | None = None

    @field_validator("id")
    @classmethod
    def _prefixed_by_register(cls, value: str, info: ValidationInfo) -> str:
        register = info.data.get("register_")
        if register is not None and value.split("-")[0] != register:
            raise ValueError(f"expected the prefix {register!r} (the register)")
        return value

    @field_validator("immigration")
    @classmethod
    def _once_each(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("expected each subcategory at most once")
        return value

    @field_validator("identifiers")
    @classmethod
    def _in_text(cls, value: list[_IdentifierIn], info: ValidationInfo) -> list[_IdentifierIn]:
        text = info.data.get("text", "")
        for n, identifier in enumerate(value):
            if not occurrences(identifier.text, text):
                raise ValueError(f"{n}.text: expected a substring of text on word boundaries; not found")
        return value


def _field_of(error: ValidationError) -> tuple[str, str]:
    """The field at fault (by its name in the file) and what was wrong with it."""
    first = error.errors()[0]
    location = ".".join("register" if part == "register_" else str(part) for part in first["loc"])
    return location, str(first["msg"]).removeprefix("Value error, ")


def parse_item(line: str, *, split: str, source: str = "<corpus>", line_no: int = 0) -> Item:
    """One corpus line, validated. Errors name the file, the line and the field."""
    where = f"{source}:{line_no}"
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CorpusError(f"expected a JSON object, got invalid JSON ({exc.msg})", where=where) from None
    if not isinstance(raw, dict):
        raise CorpusError(f"expected a JSON object, got {type(raw).__name__}", where=where)
    try:
        parsed = _ItemIn.model_validate(raw)
    except ValidationError as exc:
        field, message = _field_of(exc)
        raise CorpusError(message, where=where, field=field or None) from None
    return Item(
        id=parsed.id,
        register=parsed.register_,
        text=parsed.text,
        subject=tuple(parsed.subject),
        immigration=frozenset(parsed.immigration),
        identifiers=tuple(GoldIdentifier(i.category, i.text) for i in parsed.identifiers),
        split=split,
        note=parsed.note,
    )


def load_corpus(root: Path, split: Split = "all") -> tuple[Item, ...]:
    """Every item of the chosen split(s) under `root`, ordered by split then id.

    Each split is a folder of `<register>.jsonl` files; every register's file must be there, and
    ids must be unique across the whole corpus loaded.
    """
    if split not in ("dev", "heldout", "all"):
        raise CorpusError(f"expected a split of dev, heldout or all, got {split!r}", field="split")
    chosen = SPLITS if split == "all" else (split,)
    items: list[Item] = []
    seen: dict[str, str] = {}
    for name in chosen:
        for register in REGISTERS:
            path = root / name / f"{register}.jsonl"
            if not path.is_file():
                raise CorpusError(f"expected a corpus file at {path}, found none", field="corpus")
            lines = path.read_text(encoding="utf-8").splitlines()
            for line_no, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                item = parse_item(line, split=name, source=str(path), line_no=line_no)
                if item.register != register:
                    raise CorpusError(
                        f"expected {register!r} (the file's register), got {item.register!r}",
                        where=f"{path}:{line_no}",
                        field="register",
                    )
                if item.id in seen:
                    raise CorpusError(
                        f"expected a unique id; {item.id} is also in {seen[item.id]}",
                        where=f"{path}:{line_no}",
                        field="id",
                    )
                seen[item.id] = str(path)
                items.append(item)
    return tuple(sorted(items, key=lambda i: (SPLITS.index(i.split), i.id)))


# --- Spans ---------------------------------------------------------------------------------------

_Span = tuple[int, int]


def occurrences(needle: str, text: str, *, ignore_case: bool = False) -> tuple[_Span, ...]:
    """Every non-overlapping occurrence of `needle` in `text` that neither starts nor ends inside
    a word or a number ("Ali" is not found in "Alison", "583" not in "900583")."""
    if not needle:
        return ()
    pattern = re.compile(
        r"(?<![0-9A-Za-z])" + re.escape(needle) + r"(?![0-9A-Za-z])", re.IGNORECASE if ignore_case else 0
    )
    return tuple(m.span() for m in pattern.finditer(text))


def gold_spans(item: Item) -> tuple[tuple[str, int, int], ...]:
    """(category, start, end) of every occurrence of every labelled identifier."""
    spans = {
        (identifier.category, start, end)
        for identifier in item.identifiers
        for start, end in occurrences(identifier.text, item.text)
    }
    return tuple(sorted(spans, key=lambda s: (s[1], s[2], s[0])))


def subject_spans(item: Item) -> tuple[_Span, ...]:
    """Where the subject is named: each full name and each part of one, in any case."""
    parts = {p for name in item.subject for p in (name, *name.split()) if len(p) > 1}
    return tuple(sorted({s for part in parts for s in occurrences(part, item.text, ignore_case=True)}))


def _overlaps(a: _Span, b: _Span) -> bool:
    return a[0] < b[1] and b[0] < a[1]


# --- Scores --------------------------------------------------------------------------------------


class FindingLike(Protocol):
    """What the evaluation reads of a finding: `safereport.redact.Finding` has these, and more."""

    @property
    def category(self) -> str: ...

    @property
    def start(self) -> int: ...

    @property
    def end(self) -> int: ...


class Analyser(Protocol):
    def __call__(self, text: str, *, subject_names: Sequence[str] = ...) -> Sequence[FindingLike]: ...


@dataclass(frozen=True, slots=True)
class Finding:
    """A finding for tests and hand-made predictions."""

    category: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def support(self) -> int:
        return self.tp + self.fn

    @property
    def precision(self) -> float | None:
        """None when nothing was predicted: there is no precision to speak of."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        """None when there is nothing to find."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        if self.tp + self.fp + self.fn == 0:
            return None
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn)

    def __add__(self, other: Score) -> Score:
        return Score(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)


@dataclass(frozen=True, slots=True)
class Miss:
    """One error: a false positive or a false negative of one row, in one item."""

    item_id: str
    row: str
    kind: Literal["fp", "fn"]


@dataclass(frozen=True, slots=True)
class Report:
    split: str
    items: int
    immigration: tuple[tuple[str, Score], ...]  # the aggregate first, then each subcategory
    by_register: tuple[tuple[str, Score], ...]  # the aggregate immigration row, per register
    identifiers: tuple[tuple[str, Score], ...]  # the aggregate first, then each category
    subject_false_positives: int
    misses: tuple[Miss, ...]

    def score(self, row: str) -> Score:
        for name, score in (*self.immigration, *self.identifiers):
            if name == row:
                return score
        raise KeyError(row)

    @property
    def targets_met(self) -> bool:
        overall = self.score(ALL_IMMIGRATION)
        return (overall.recall or 0.0) >= TARGET_RECALL and (overall.precision or 0.0) >= TARGET_PRECISION


def _checked(item: Item, findings: Iterable[FindingLike]) -> list[FindingLike]:
    out = []
    known = set(IMMIGRATION) | set(IDENTIFIERS)
    for finding in findings:
        if finding.category not in known:
            raise AnalyserError(
                f"item {item.id}: expected a category in {', '.join(sorted(known))}, "
                f"got {finding.category!r}",
                field="category",
            )
        if not 0 <= finding.start < finding.end <= len(item.text):
            raise AnalyserError(
                f"item {item.id}: expected 0 <= start < end <= {len(item.text)}, "
                f"got {finding.start}..{finding.end}",
                field="start",
            )
        out.append(finding)
    return out


def _score_identifiers(
    gold: Sequence[tuple[str, int, int]], predicted: Sequence[tuple[str, int, int]], category: str | None
) -> Score:
    g = [(s, e) for c, s, e in gold if category is None or c == category]
    p = [(s, e) for c, s, e in predicted if category is None or c == category]
    tp = sum(1 for span in g if any(_overlaps(span, q) for q in p))
    fp = sum(1 for q in p if not any(_overlaps(q, span) for span in g))
    return Score(tp=tp, fp=fp, fn=len(g) - tp)


def score_predictions(
    items: Sequence[Item], predictions: Mapping[str, Sequence[FindingLike]], *, split: str = "all"
) -> Report:
    """Score what an analyser found (`predictions`, by item id) against the items' labels."""
    imm_rows = (ALL_IMMIGRATION, *IMMIGRATION)
    id_rows = (ALL_IDENTIFIERS, *IDENTIFIERS)
    imm = dict.fromkeys(imm_rows, Score())
    regs = dict.fromkeys(REGISTERS, Score())
    ids = dict.fromkeys(id_rows, Score())
    subject_fp = 0
    misses: list[Miss] = []

    def add(table: dict[str, Score], row: str, item_id: str, gold: bool, predicted: bool) -> Score:
        one = Score(
            tp=int(gold and predicted), fp=int(predicted and not gold), fn=int(gold and not predicted)
        )
        table[row] = table[row] + one
        if one.fp:
            misses.append(Miss(item_id, row, "fp"))
        if one.fn:
            misses.append(Miss(item_id, row, "fn"))
        return one

    for item in items:
        findings = _checked(item, predictions.get(item.id, ()))
        found = {f.category for f in findings}
        one = add(imm, ALL_IMMIGRATION, item.id, bool(item.immigration), bool(found & set(IMMIGRATION)))
        regs[item.register] = regs[item.register] + one
        for category in IMMIGRATION:
            add(imm, category, item.id, category in item.immigration, category in found)

        gold = gold_spans(item)
        predicted = [(f.category, f.start, f.end) for f in findings if f.category in IDENTIFIERS]
        for row in id_rows:
            s = _score_identifiers(gold, predicted, None if row == ALL_IDENTIFIERS else row)
            ids[row] = ids[row] + s
            if s.fp:
                misses.append(Miss(item.id, row, "fp"))
            if s.fn:
                misses.append(Miss(item.id, row, "fn"))
        people = [(s, e) for c, s, e in gold if c == "person"]
        subject = subject_spans(item)
        subject_fp += sum(
            1
            for c, s, e in predicted
            if c == "person"
            and not any(_overlaps((s, e), g) for g in people)
            and any(_overlaps((s, e), n) for n in subject)
        )

    return Report(
        split=split,
        items=len(items),
        immigration=tuple(imm.items()),
        by_register=tuple((r, regs[r]) for r in REGISTERS if any(i.register == r for i in items)),
        identifiers=tuple(ids.items()),
        subject_false_positives=subject_fp,
        misses=tuple(misses),
    )


def evaluate(items: Sequence[Item], analyser: Analyser, *, split: str = "all") -> Report:
    """Run `analyser` over every item (with the item's subject names) and score it."""
    predictions = {item.id: analyser(item.text, subject_names=item.subject) for item in items}
    return score_predictions(items, predictions, split=split)


# --- Output --------------------------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    return "   -  " if value is None else f"{value:6.3f}"


def _rows(title: str, rows: Iterable[tuple[str, Score]], unit: str) -> list[str]:
    out = [f"{title:<28}{'P':>6} {'R':>6} {'F1':>6} {'TP':>6} {'FP':>6} {'FN':>6} {unit:>8}"]
    for name, s in rows:
        out.append(
            f"  {name:<26}{_fmt(s.precision)} {_fmt(s.recall)} {_fmt(s.f1)} {s.tp:>6} {s.fp:>6} {s.fn:>6}"
            f" {s.support:>8}"
        )
    return out


def render_table(
    report: Report, *, errors: bool = False, items: Sequence[Item] = (), show_text: bool = False
) -> str:
    """The report as a plain-text table; with `errors`, the ids of every miss by row."""
    overall = report.score(ALL_IMMIGRATION)
    lines = [f"redaction evaluation: split {report.split}, {report.items} items", ""]
    lines += _rows("immigration (item level)", report.immigration, "positive")
    lines += ["", *_rows("immigration by register", report.by_register, "positive")]
    lines += ["", *_rows("identifiers (span level)", report.identifiers, "spans")]
    lines += [
        "",
        f"subject's own name reported as a person: {report.subject_false_positives}",
        f"target immigration recall >= {TARGET_RECALL:.2f}: "
        + ("met" if (overall.recall or 0.0) >= TARGET_RECALL else "NOT met"),
        f"target immigration precision >= {TARGET_PRECISION:.2f}: "
        + ("met" if (overall.precision or 0.0) >= TARGET_PRECISION else "NOT met"),
    ]
    if errors:
        texts = {i.id: i.text for i in items}
        lines += ["", "errors (false positives and false negatives, by row)"]
        for row in (name for name, _ in (*report.immigration, *report.identifiers)):
            for kind in ("fn", "fp"):
                ids = [m.item_id for m in report.misses if m.row == row and m.kind == kind]
                if not ids:
                    continue
                if show_text:
                    lines.append(f"  {row} {kind}:")
                    lines += [f"    {i}  {texts.get(i, '')}" for i in ids]
                else:
                    lines.append(f"  {row} {kind}: {' '.join(ids)}")
    return "\n".join(lines) + "\n"


def _score_dict(s: Score) -> dict[str, Any]:
    return {
        "precision": s.precision,
        "recall": s.recall,
        "f1": s.f1,
        "tp": s.tp,
        "fp": s.fp,
        "fn": s.fn,
        "support": s.support,
    }


def report_to_dict(
    report: Report, *, errors: bool = False, items: Sequence[Item] = (), show_text: bool = False
) -> dict[str, Any]:
    overall = report.score(ALL_IMMIGRATION)
    out: dict[str, Any] = {
        "split": report.split,
        "items": report.items,
        "immigration": {name: _score_dict(s) for name, s in report.immigration},
        "immigration_by_register": {name: _score_dict(s) for name, s in report.by_register},
        "identifiers": {name: _score_dict(s) for name, s in report.identifiers},
        "subject_false_positives": report.subject_false_positives,
        "targets": {
            "immigration_recall": {"target": TARGET_RECALL, "value": overall.recall},
            "immigration_precision": {"target": TARGET_PRECISION, "value": overall.precision},
            "met": report.targets_met,
        },
    }
    if errors:
        texts = {i.id: i.text for i in items}
        out["errors"] = [
            {
                "id": m.item_id,
                "row": m.row,
                "kind": m.kind,
                **({"text": texts[m.item_id]} if show_text else {}),
            }
            for m in report.misses
        ]
    return out


# --- The command ---------------------------------------------------------------------------------


def load_analyser(spec: str) -> Analyser:
    """`module:function`, e.g. `safereport.redact:analyse`."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise BadInput(f"expected MODULE:FUNCTION, got {spec!r}", field="analyser")
    module = importlib.import_module(module_name)
    analyser = getattr(module, attr, None)
    if not callable(analyser):
        raise SafereportError(f"expected a function {attr!r} in {module_name}, found none", field="analyser")
    return analyser  # type: ignore[no-any-return]


def build_parser(default_corpus: Path | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="eval_redact",
        description="Precision, recall and F1 of the free-text minimiser on the evaluation corpus.",
    )
    parser.add_argument("--split", choices=("dev", "heldout", "all"), default="all")
    parser.add_argument(
        "--corpus", type=Path, default=default_corpus, required=default_corpus is None, help="corpus folder"
    )
    parser.add_argument("--analyser", default="safereport.redact:analyse", help="MODULE:FUNCTION")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--errors", action="store_true", help="list the ids of false positives and negatives")
    parser.add_argument("--show-text", action="store_true", help="with --errors, print each item's text too")
    parser.add_argument("--check", action="store_true", help="exit 1 unless the immigration targets are met")
    return parser


def main(argv: Sequence[str] | None = None, *, default_corpus: Path | None = None) -> int:
    """Exit status: 0 done, 2 bad input (one line on standard error), 1 any other failure (or,
    with --check, targets not met)."""
    args = build_parser(default_corpus).parse_args(argv)
    try:
        items = load_corpus(args.corpus, args.split)
        analyser = load_analyser(args.analyser)
        report = evaluate(items, analyser, split=args.split)
    except SafereportError as exc:
        print(f"eval_redact: {exc.code}: {exc}", file=sys.stderr)
        return exc.exit_status
    except ImportError as exc:
        print(f"eval_redact: cannot import the analyser ({exc.__class__.__name__}: {exc})", file=sys.stderr)
        return 1
    if args.json:
        out = report_to_dict(report, errors=args.errors, items=items, show_text=args.show_text)
        print(json.dumps(out, indent=2))
    else:
        print(render_table(report, errors=args.errors, items=items, show_text=args.show_text), end="")
    return 1 if args.check and not report.targets_met else 0
