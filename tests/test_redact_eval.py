"""The redaction evaluation corpus and its metrics.

(a) The corpus itself: schema, unique ids, identifier texts present, split sizes, balance.
(b) The metric code, on hand-made corpora with known precision, recall and F1, and hypothesis
    properties (a perfect predictor scores 1.0; an empty one recalls nothing).
(c) The issue's targets on the whole corpus with `safereport.redact.analyse`. This test skips
    only while that function does not exist.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safereport.redact.evaluation import (
    ALL_IDENTIFIERS,
    ALL_IMMIGRATION,
    IDENTIFIERS,
    IMMIGRATION,
    REGISTERS,
    SPLITS,
    TARGET_PRECISION,
    TARGET_RECALL,
    Analyser,
    AnalyserError,
    CorpusError,
    Finding,
    Item,
    Score,
    evaluate,
    gold_spans,
    load_corpus,
    occurrences,
    parse_item,
    render_table,
    report_to_dict,
    score_predictions,
    subject_spans,
)

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "redact_corpus"
SCRIPT = ROOT / "scripts" / "eval_redact.py"


@pytest.fixture(scope="module")
def corpus() -> tuple[Item, ...]:
    return load_corpus(CORPUS, "all")


# --- (a) The corpus ------------------------------------------------------------------------------


def test_every_split_has_a_file_per_register_and_nothing_else() -> None:
    for split in SPLITS:
        files = sorted(p.name for p in (CORPUS / split).iterdir())
        assert files == sorted(f"{r}.jsonl" for r in REGISTERS)


def test_corpus_size_and_unique_ids(corpus: tuple[Item, ...]) -> None:
    assert len(corpus) >= 650
    assert len({i.id for i in corpus}) == len(corpus)
    assert len({i.text for i in corpus}) == len(corpus), "no sentence is in the corpus twice"


def test_every_line_is_a_valid_item_with_the_schema_keys() -> None:
    for path in sorted(CORPUS.glob("*/*.jsonl")):
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            raw = json.loads(line)
            assert {"id", "register", "text", "subject", "immigration", "identifiers"} <= raw.keys(), (
                path,
                n,
            )
            assert raw.keys() <= {"id", "register", "text", "subject", "immigration", "identifiers", "note"}
            assert raw["register"] == path.stem
            assert raw["id"].startswith(path.stem + "-")


def test_identifier_texts_are_in_the_text_and_are_not_the_subject(corpus: tuple[Item, ...]) -> None:
    for item in corpus:
        subject_parts = {p.casefold() for name in item.subject for p in (name, *name.split())}
        for identifier in item.identifiers:
            assert identifier.text in item.text, item.id
            assert occurrences(identifier.text, item.text), item.id
            assert identifier.text.casefold() not in subject_parts, item.id


def test_items_with_identifiers_name_their_subject(corpus: tuple[Item, ...]) -> None:
    for item in corpus:
        if item.identifiers:
            assert subject_spans(item), f"{item.id} carries identifiers but does not name its subject"


def test_split_sizes(corpus: tuple[Item, ...]) -> None:
    by_split = Counter(i.split for i in corpus)
    assert 0.62 <= by_split["dev"] / len(corpus) <= 0.71
    for register in REGISTERS:
        in_register = [i for i in corpus if i.register == register]
        dev = sum(1 for i in in_register if i.split == "dev")
        assert 0.6 <= dev / len(in_register) <= 0.72, register


def test_category_balance(corpus: tuple[Item, ...]) -> None:
    n = len(corpus)
    positives = sum(1 for i in corpus if i.immigration)
    with_identifiers = sum(1 for i in corpus if i.identifiers)
    hard_negatives = sum(1 for i in corpus if not i.immigration and not i.identifiers)
    assert 0.40 <= positives / n <= 0.52
    assert 0.28 <= hard_negatives / n <= 0.42
    assert 0.15 <= with_identifiers / n <= 0.28
    labels = Counter(c for i in corpus for c in i.immigration)
    assert set(labels) == set(IMMIGRATION)
    assert min(labels.values()) >= 35
    held_out = Counter(c for i in corpus if i.split == "heldout" for c in i.immigration)
    assert min(held_out[c] for c in IMMIGRATION) >= 8
    spans = Counter(i.category for item in corpus for i in item.identifiers)
    assert set(spans) == set(IDENTIFIERS)
    assert min(spans.values()) >= 15


def test_every_register_is_present_and_mixed(corpus: tuple[Item, ...]) -> None:
    for register in REGISTERS:
        items = [i for i in corpus if i.register == register]
        assert len(items) >= 100, register
        positives = sum(1 for i in items if i.immigration)
        assert 0.35 <= positives / len(items) <= 0.6, register
        assert any(i.identifiers for i in items), register


def test_subjects_are_not_tied_to_the_label(corpus: tuple[Item, ...]) -> None:
    """A minimiser must not learn names: most subjects appear in positive and negative items."""
    labels: dict[str, set[bool]] = {}
    for item in corpus:
        for name in item.subject:
            labels.setdefault(name, set()).add(bool(item.immigration))
    mixed = sum(1 for seen in labels.values() if seen == {True, False})
    assert mixed / len(labels) >= 0.8


# --- (b) The metric code -------------------------------------------------------------------------


def make_item(
    text: str,
    *,
    item_id: str = "police-0001",
    immigration: Sequence[str] = (),
    identifiers: Sequence[tuple[str, str]] = (),
    subject: Sequence[str] = ("Amira Haddad",),
) -> Item:
    raw = {
        "id": item_id,
        "register": item_id.split("-")[0],
        "text": text,
        "subject": list(subject),
        "immigration": list(immigration),
        "identifiers": [{"category": c, "text": t} for c, t in identifiers],
    }
    return parse_item(json.dumps(raw), split="dev")


def span(item: Item, needle: str, category: str) -> Finding:
    start = item.text.index(needle)
    return Finding(category, start, start + len(needle))


def test_score_arithmetic() -> None:
    s = Score(tp=3, fp=1, fn=2)
    assert s.precision == 0.75
    assert s.recall == 0.6
    assert s.f1 == pytest.approx(2 * 0.75 * 0.6 / (0.75 + 0.6))
    assert s.support == 5
    assert Score().precision is None and Score().recall is None and Score().f1 is None
    assert Score(fn=4).recall == 0.0 and Score(fn=4).precision is None and Score(fn=4).f1 == 0.0
    assert Score(1, 2, 3) + Score(4, 5, 6) == Score(5, 7, 9)


def test_item_level_immigration_scores_on_a_hand_made_corpus() -> None:
    a = make_item("Her visa ran out.", item_id="police-0001", immigration=["immigration_status"])
    b = make_item("He took her passport.", item_id="police-0002", immigration=["document_control"])
    c = make_item("Paid by Visa debit card.", item_id="health-0001")
    d = make_item(
        "She is Polish and has NRPF.", item_id="council-0001", immigration=["nationality", "public_funds"]
    )
    predictions = {
        "police-0001": [span(a, "visa", "immigration_status")],
        # b: missed entirely
        "health-0001": [span(c, "Visa", "immigration_status")],
        # d: found, but under one subcategory of the two, and a spurious threat
        "council-0001": [span(d, "NRPF", "public_funds"), span(d, "Polish", "threat_to_report")],
    }
    report = score_predictions([a, b, c, d], predictions)
    overall = report.score(ALL_IMMIGRATION)
    assert (overall.tp, overall.fp, overall.fn) == (2, 1, 1)
    assert overall.precision == pytest.approx(2 / 3)
    assert overall.recall == pytest.approx(2 / 3)
    assert report.score("immigration_status") == Score(tp=1, fp=1, fn=0)
    assert report.score("document_control") == Score(tp=0, fp=0, fn=1)
    assert report.score("public_funds") == Score(tp=1, fp=0, fn=0)
    assert report.score("nationality") == Score(tp=0, fp=0, fn=1)
    assert report.score("threat_to_report") == Score(tp=0, fp=1, fn=0)
    assert dict(report.by_register)["police"] == Score(tp=1, fp=0, fn=1)
    assert dict(report.by_register)["health"] == Score(tp=0, fp=1, fn=0)
    misses = {(m.item_id, m.row, m.kind) for m in report.misses}
    assert ("police-0002", ALL_IMMIGRATION, "fn") in misses
    assert ("health-0001", ALL_IMMIGRATION, "fp") in misses
    assert ("council-0001", "nationality", "fn") in misses


def test_span_level_identifier_scores_on_a_hand_made_corpus() -> None:
    item = make_item(
        "W1 Daniel Price of 14 Cranbrook Road rang Amira on 07700 900218; Daniel Price is her neighbour.",
        identifiers=[("person", "Daniel Price"), ("address", "14 Cranbrook Road"), ("phone", "07700 900218")],
    )
    assert [c for c, _, _ in gold_spans(item)] == ["person", "address", "phone", "person"]
    predictions = {
        item.id: [
            span(item, "Daniel", "person"),  # overlaps the first occurrence only
            span(item, "Amira", "person"),  # the subject: a false positive
            span(item, "07700 900218", "document_number"),  # masked, under the wrong category
            span(item, "Cranbrook Road", "address"),
        ]
    }
    report = score_predictions([item], predictions)
    assert report.score("person") == Score(tp=1, fp=1, fn=1)
    assert report.score("address") == Score(tp=1, fp=0, fn=0)
    assert report.score("phone") == Score(tp=0, fp=0, fn=1)
    assert report.score("document_number") == Score(tp=0, fp=1, fn=0)
    assert report.score(ALL_IDENTIFIERS) == Score(tp=3, fp=1, fn=1)
    assert report.subject_false_positives == 1


def test_occurrences_respect_word_boundaries() -> None:
    assert occurrences("Ali", "Alison met Ali, and ALI.") == ((11, 14),)
    assert occurrences("Ali", "Alison met Ali, and ALI.", ignore_case=True) == ((11, 14), (20, 23))
    assert occurrences("900583", "07700 900583") == ((6, 12),)
    assert occurrences("583", "07700 900583") == ()


def test_the_subject_is_found_by_any_part_of_the_name_in_any_case() -> None:
    item = make_item("IP HADDAD said Amira was out; amira haddad rang back.")
    found = {item.text[s:e] for s, e in subject_spans(item)}
    assert found == {"HADDAD", "Amira", "amira haddad", "amira", "haddad"}


def test_bad_findings_fail_loudly() -> None:
    item = make_item("Her visa ran out.")
    with pytest.raises(AnalyserError) as excinfo:
        score_predictions([item], {item.id: [Finding("visa_stuff", 4, 8)]})
    assert excinfo.value.field == "category"
    with pytest.raises(AnalyserError):
        score_predictions([item], {item.id: [Finding("immigration_status", 4, 400)]})
    with pytest.raises(AnalyserError):
        score_predictions([item], {item.id: [Finding("immigration_status", 8, 8)]})


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"register": "probation"}, "register"),
        ({"immigration": ["visa"]}, "immigration"),
        ({"identifiers": [{"category": "person", "text": "Nobody Here"}]}, "identifiers"),
        ({"identifiers": [{"category": "person", "text": "Ami"}]}, "identifiers"),
        ({"subject": []}, "subject"),
        ({"id": "health-0001"}, "id"),
        ({"extra": 1}, "extra"),
    ],
)
def test_malformed_items_are_refused_naming_the_field(change: dict[str, object], field: str) -> None:
    raw = {"id": "police-0001", "register": "police", "text": "Amira rang.", "subject": ["Amira Haddad"]}
    raw |= {"immigration": [], "identifiers": []} | change
    with pytest.raises(CorpusError) as excinfo:
        parse_item(json.dumps(raw), split="dev", source="x.jsonl", line_no=7)
    assert "x.jsonl:7" in str(excinfo.value)
    assert field in str(excinfo.value)


def test_duplicate_ids_across_files_are_refused(tmp_path: Path) -> None:
    write_corpus(tmp_path, [make_item("Her visa ran out.", item_id="police-0001")])
    (tmp_path / "heldout" / "police.jsonl").write_text((tmp_path / "dev" / "police.jsonl").read_text())
    with pytest.raises(CorpusError, match="unique"):
        load_corpus(tmp_path, "all")
    assert len(load_corpus(tmp_path, "dev")) == 1


def test_a_missing_register_file_is_refused(tmp_path: Path) -> None:
    write_corpus(tmp_path, [make_item("Her visa ran out.")])
    (tmp_path / "dev" / "health.jsonl").unlink()
    with pytest.raises(CorpusError, match=r"health\.jsonl"):
        load_corpus(tmp_path, "dev")


# Hypothesis: corpora of filler words with identifiers and labels scattered through them.
_WORDS = st.sampled_from(["the", "she", "said", "was", "at", "home", "on", "Tuesday", "and", "left"])
_IDENTIFIER_TEXT = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=3, max_size=8).map(
    lambda s: "Q" + s
)


@st.composite
def items(draw: st.DrawFn, index: int = 0) -> Item:
    parts: list[str] = []
    identifiers: list[tuple[str, str]] = []
    for _ in range(draw(st.integers(1, 12))):
        if draw(st.booleans()):
            text = draw(_IDENTIFIER_TEXT)
            identifiers.append((draw(st.sampled_from(IDENTIFIERS)), text))
            parts.append(text)
        else:
            parts.append(draw(_WORDS))
    labels = draw(st.lists(st.sampled_from(IMMIGRATION), unique=True, max_size=3))
    register = draw(st.sampled_from(REGISTERS))
    return make_item(
        "Zed " + " ".join(parts),
        item_id=f"{register}-{index:04d}",
        immigration=labels,
        identifiers=identifiers,
        subject=["Zed Zedson"],
    )


@st.composite
def corpora(draw: st.DrawFn) -> list[Item]:
    return [draw(items(index=n)) for n in range(draw(st.integers(1, 8)))]


def perfect(item: Item) -> list[Finding]:
    found = [Finding(c, s, e) for c, s, e in gold_spans(item)]
    return found + [Finding(c, 0, 1) for c in sorted(item.immigration)]


@settings(max_examples=100, deadline=None)
@given(corpora())
def test_a_perfect_predictor_scores_one_everywhere_there_is_something_to_find(corpus: list[Item]) -> None:
    report = score_predictions(corpus, {i.id: perfect(i) for i in corpus})
    for _, s in (*report.immigration, *report.by_register, *report.identifiers):
        assert s.fp == 0 and s.fn == 0
        if s.support:
            assert s.precision == s.recall == s.f1 == 1.0
    assert report.subject_false_positives == 0
    assert report.misses == ()


@settings(max_examples=100, deadline=None)
@given(corpora())
def test_an_empty_predictor_recalls_nothing(corpus: list[Item]) -> None:
    report = score_predictions(corpus, {})
    for _, s in (*report.immigration, *report.by_register, *report.identifiers):
        assert s.tp == 0 and s.fp == 0
        assert s.precision is None
        if s.support:
            assert s.recall == 0.0 and s.f1 == 0.0
        else:
            assert s.recall is None


@settings(max_examples=100, deadline=None)
@given(corpora(), st.data())
def test_finding_more_never_lowers_recall(corpus: list[Item], data: st.DataObject) -> None:
    some: dict[str, list[Finding]] = {}
    more: dict[str, list[Finding]] = {}
    for item in corpus:
        everything = perfect(item)
        some[item.id] = data.draw(st.lists(st.sampled_from(everything), max_size=4)) if everything else []
        more[item.id] = [*some[item.id], *everything]
    before = score_predictions(corpus, some)
    after = score_predictions(corpus, more)
    for (name, b), (_, a) in zip(
        (*before.immigration, *before.identifiers), (*after.immigration, *after.identifiers), strict=True
    ):
        assert a.tp >= b.tp, name
        assert (a.recall or 0.0) >= (b.recall or 0.0), name


@settings(max_examples=100, deadline=None)
@given(corpora())
def test_the_subjects_name_reported_as_a_person_is_a_false_positive(corpus: list[Item]) -> None:
    predictions = {i.id: [*perfect(i), Finding("person", 0, 3)] for i in corpus}
    report = score_predictions(corpus, predictions)
    assert report.subject_false_positives == len(corpus)
    assert report.score("person").fp == len(corpus)
    assert report.score("person").fn == 0


def test_rendered_outputs_carry_every_row() -> None:
    item = make_item("Her visa ran out.", immigration=["immigration_status"])
    report = score_predictions([item], {})
    table = render_table(report, errors=True, items=[item], show_text=True)
    for row in (ALL_IMMIGRATION, *IMMIGRATION, ALL_IDENTIFIERS, *IDENTIFIERS):
        assert row in table
    assert "police-0001  Her visa ran out." in table
    assert "NOT met" in table
    as_dict = report_to_dict(report, errors=True, items=[item])
    assert as_dict["immigration"][ALL_IMMIGRATION]["recall"] == 0.0
    assert as_dict["errors"] == [
        {"id": "police-0001", "row": ALL_IMMIGRATION, "kind": "fn"},
        {"id": "police-0001", "row": "immigration_status", "kind": "fn"},
    ]
    assert as_dict["targets"]["met"] is False


# --- The script, as a real process ---------------------------------------------------------------

KEYWORD_ANALYSER = """
import re
from safereport.redact.evaluation import Finding

def analyse(text, *, subject_names=()):
    found = [Finding("immigration_status", m.start(), m.end()) for m in re.finditer(r"visa", text)]
    found += [Finding("phone", m.start(), m.end()) for m in re.finditer(r"07700 \\d{6}", text)]
    return found
"""


def write_corpus(root: Path, items: Sequence[Item]) -> None:
    for split in SPLITS:
        (root / split).mkdir(parents=True, exist_ok=True)
        for register in REGISTERS:
            lines = [
                json.dumps(
                    {
                        "id": i.id,
                        "register": i.register,
                        "text": i.text,
                        "subject": list(i.subject),
                        "immigration": sorted(i.immigration),
                        "identifiers": [{"category": g.category, "text": g.text} for g in i.identifiers],
                    }
                )
                for i in items
                if i.register == register and i.split == split
            ]
            (root / split / f"{register}.jsonl").write_text("".join(line + "\n" for line in lines))


def run_script(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "kw_analyser.py").write_text(KEYWORD_ANALYSER)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )


def test_the_script_scores_a_small_corpus(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write_corpus(
        corpus,
        [
            make_item("Her visa ran out.", item_id="police-0001", immigration=["immigration_status"]),
            make_item("He kept her passport.", item_id="police-0002", immigration=["document_control"]),
            make_item("Paid by visa debit.", item_id="health-0001"),
            make_item(
                "Amira's sister is on 07700 900218.",
                item_id="council-0001",
                identifiers=[("phone", "07700 900218")],
            ),
        ],
    )
    done = run_script(
        tmp_path,
        "--corpus",
        str(corpus),
        "--split",
        "dev",
        "--analyser",
        "kw_analyser:analyse",
        "--json",
        "--errors",
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    overall = out["immigration"][ALL_IMMIGRATION]
    assert (overall["tp"], overall["fp"], overall["fn"]) == (1, 1, 1)
    assert overall["precision"] == 0.5 and overall["recall"] == 0.5
    assert out["identifiers"]["phone"]["recall"] == 1.0
    assert {"id": "health-0001", "row": ALL_IMMIGRATION, "kind": "fp"} in out["errors"]
    assert all("text" not in e for e in out["errors"])

    table = run_script(
        tmp_path, "--corpus", str(corpus), "--split", "dev", "--analyser", "kw_analyser:analyse"
    )
    assert table.returncode == 0
    assert "immigration" in table.stdout and "0.500" in table.stdout

    checked = run_script(tmp_path, "--corpus", str(corpus), "--analyser", "kw_analyser:analyse", "--check")
    assert checked.returncode == 1
    assert "NOT met" in checked.stdout


def test_the_script_refuses_a_bad_corpus_with_one_line(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write_corpus(corpus, [make_item("Her visa ran out.")])
    (corpus / "dev" / "police.jsonl").write_text('{"id": "police-0001"}\n')
    done = run_script(tmp_path, "--corpus", str(corpus), "--analyser", "kw_analyser:analyse")
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1
    assert "police.jsonl:1" in done.stderr


# --- (c) The targets -----------------------------------------------------------------------------


def _analyse() -> Analyser:
    from safereport.redact import analyse

    return analyse


def test_the_minimiser_speaks_the_corpus_vocabulary() -> None:
    _analyse()
    import safereport.redact as redact

    assert set(redact.IMMIGRATION_CATEGORIES) == set(IMMIGRATION)
    assert set(redact.IDENTIFIER_CATEGORIES) == set(IDENTIFIERS)


def test_the_minimiser_meets_the_immigration_targets_on_the_whole_corpus(corpus: tuple[Item, ...]) -> None:
    analyse = _analyse()
    report = evaluate(corpus, analyse)
    overall = report.score(ALL_IMMIGRATION)
    table = render_table(report)
    assert overall.recall is not None and overall.recall >= TARGET_RECALL, table
    assert overall.precision is not None and overall.precision >= TARGET_PRECISION, table
