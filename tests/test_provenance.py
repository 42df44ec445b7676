"""Provenance: first-collected capacity through `derived_from` chains (pure functions).

The property tests compare `resolve` with a naive recursive reference written here, over
random DAGs of records whose persons are drawn from a small pool so that people recur.
"""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from safereport.errors import IngestError, ProvenanceError
from safereport.model import PROTECTED_CAPACITIES, UNPROTECTED_CAPACITIES, Capacity, Person, Record
from safereport.provenance import (
    UNKNOWN_NARRATIVE_CAPACITY,
    PersonNode,
    RecordNode,
    Resolved,
    node_of,
    resolve,
    resolve_standalone,
    strongest,
)
from safereport.wire import normalise_name

MPS = "metropolitan-police-service"
KENT = "kent-police"
CREATED = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)

V, W, S, OFF = Capacity.VICTIM, Capacity.WITNESS, Capacity.SUSPECT, Capacity.OFFENDER


def person(pid: str, role: Capacity, name: str | None = None, dob: str | None = None, **data: str) -> Person:
    body = dict(data)
    if name is not None:
        body["name"] = name
    if dob is not None:
        body["date_of_birth"] = dob
    return Person(pid, role, body)


def rec(rid: str, *persons: Person, derived: tuple[str, ...] = (), controller: str = MPS) -> Record:
    return Record(controller, rid, "crime_report", CREATED, tuple(persons), "narrative", tuple(derived))


def resolve_all(*records: Record) -> dict[str, Resolved]:
    nodes = {r.record_id: node_of(r) for r in records}
    return resolve(list(nodes), nodes, {})


# ---------------------------------------------------------------------------- strongest


def test_strongest_of_nothing_is_none() -> None:
    assert strongest([]) is None


def test_strongest_prefers_first_protected_over_earlier_unprotected() -> None:
    assert strongest([S, OFF, W, V]) is W


def test_strongest_of_unprotected_only_is_the_first() -> None:
    assert strongest([OFF, S]) is OFF
    assert strongest([S, OFF]) is S


def test_strongest_takes_a_generator() -> None:
    assert strongest(c for c in (S, Capacity.PATIENT)) is Capacity.PATIENT


def test_protected_set_is_every_capacity_but_suspect_and_offender() -> None:
    assert {c for c in Capacity if not c.protected} == {S, OFF}
    assert set(UNPROTECTED_CAPACITIES) == {S, OFF}
    assert {
        Capacity.VICTIM,
        Capacity.WITNESS,
        Capacity.REPORTER,
        Capacity.PATIENT,
        Capacity.PUPIL,
        Capacity.SERVICE_USER,
    } == set(PROTECTED_CAPACITIES)


@given(st.lists(st.sampled_from(list(Capacity)), max_size=8))
def test_strongest_property(capacities: list[Capacity]) -> None:
    result = strongest(capacities)
    if not capacities:
        assert result is None
        return
    assert result in capacities
    assert result is not None
    assert result.protected == any(c.protected for c in capacities)
    if result.protected:
        assert result is next(c for c in capacities if c.protected)
    else:
        assert result is capacities[0]


# ---------------------------------------------------------------------------- resolve_standalone


def test_standalone_capacities_are_the_roles() -> None:
    node = node_of(rec("A", person("P1", S), person("P2", W), person("P3", OFF)))
    out = resolve_standalone(node)
    assert out.capacities == (S, W, OFF)
    assert out.narrative_capacity is W
    assert out.record_id == "A"
    assert out.controller == MPS


def test_standalone_all_unprotected_narrative_is_unprotected() -> None:
    out = resolve_standalone(node_of(rec("A", person("P1", S), person("P2", OFF))))
    assert out.narrative_capacity is S


def test_standalone_without_persons_has_protected_narrative() -> None:
    out = resolve_standalone(node_of(rec("A")))
    assert out.capacities == ()
    assert out.narrative_capacity.protected
    assert out.narrative_capacity is UNKNOWN_NARRATIVE_CAPACITY


def test_standalone_refuses_a_derived_record() -> None:
    with pytest.raises(ValueError):
        resolve_standalone(node_of(rec("B", person("P1", S), derived=("A",))))


def test_node_of_normalises_names() -> None:
    node = node_of(rec("A", person("P1", V, "  Maria \t  SILVA ", "1991-04-12"), person("P2", S)))
    assert node.persons[0] == PersonNode("P1", V, "maria silva", "1991-04-12")
    assert node.persons[1] == PersonNode("P2", S, None, None)
    assert normalise_name("  Maria \t  SILVA ") == "maria silva"


# ---------------------------------------------------------------------------- resolve: matching


def test_matched_by_same_controller_and_person_id() -> None:
    out = resolve_all(rec("A", person("P1", V)), rec("B", person("P1", S), derived=("A",)))
    assert out["B"].capacities == (V,)


def test_matched_by_normalised_name_and_date_of_birth_across_ids_and_controllers() -> None:
    src = rec("A", person("MPS-9", W, "Ahmed Nouri", "1979-02-02"))
    copy = rec("B", person("KENT-1", S, "  AHMED   nouri", "1979-02-02"), derived=("A",), controller=KENT)
    assert resolve_all(src, copy)["B"].capacities == (W,)


def test_same_person_id_under_another_controller_is_another_person() -> None:
    src = rec("A", person("P1", V))
    copy = rec("B", person("P1", S), derived=("A",), controller=KENT)
    assert resolve_all(src, copy)["B"].capacities == (S,)


def test_same_name_other_date_of_birth_is_another_person() -> None:
    src = rec("A", person("P1", V, "Maria Silva", "1991-04-12"))
    copy = rec("B", person("P2", S, "Maria Silva", "1991-04-13"), derived=("A",))
    assert resolve_all(src, copy)["B"].capacities == (S,)


def test_name_without_date_of_birth_does_not_match() -> None:
    src = rec("A", person("P1", V, "Maria Silva"))
    copy = rec("B", person("P2", S, "Maria Silva"), derived=("A",))
    assert resolve_all(src, copy)["B"].capacities == (S,)


def test_unmatched_person_in_copy_keeps_own_role() -> None:
    src = rec("A", person("P1", V))
    copy = rec("B", person("P1", S), person("P2", S), derived=("A",))
    assert resolve_all(src, copy)["B"].capacities == (V, S)


# ---------------------------------------------------------------------------- resolve: stickiness


def test_victim_in_source_listed_as_suspect_in_copy_stays_protected() -> None:
    out = resolve_all(
        rec("CR", person("P1", V, "Maria Silva", "1991-04-12")),
        rec("INT", person("P1", S, "Maria Silva", "1991-04-12"), derived=("CR",)),
    )
    assert out["INT"].capacities == (V,)
    assert out["INT"].narrative_capacity.protected


def test_suspect_in_source_listed_as_victim_in_copy_is_protected() -> None:
    out = resolve_all(rec("A", person("P1", S)), rec("B", person("P1", V), derived=("A",)))
    assert out["B"].capacities == (V,)
    assert out["A"].capacities == (S,)


def test_protection_survives_many_copies_of_suspect_listings() -> None:
    records = [rec("R0", person("P1", Capacity.PATIENT))]
    records += [rec(f"R{i}", person("P1", S), derived=(f"R{i - 1}",)) for i in range(1, 30)]
    out = resolve_all(*records)
    assert all(out[f"R{i}"].capacities == (Capacity.PATIENT,) for i in range(30))


def test_any_of_several_sources_protects() -> None:
    out = resolve_all(
        rec("A", person("P1", S)),
        rec("B", person("P1", W)),
        rec("C", person("P1", OFF), derived=("A", "B")),
    )
    assert out["C"].capacities[0].protected


def test_unprotected_throughout_stays_unprotected() -> None:
    out = resolve_all(rec("A", person("P1", OFF)), rec("B", person("P1", S), derived=("A",)))
    assert not out["B"].capacities[0].protected


def test_narrative_takes_most_protective_of_persons() -> None:
    out = resolve_all(rec("A", person("P1", S), person("P2", Capacity.PUPIL), person("P3", OFF)))
    assert out["A"].narrative_capacity is Capacity.PUPIL


def test_narrative_takes_protection_of_a_source_whose_persons_are_not_copied() -> None:
    out = resolve_all(
        rec("A", person("P1", V), person("P2", S)),
        rec("B", person("P2", S), derived=("A",)),
    )
    assert out["B"].capacities == (S,)
    assert out["B"].narrative_capacity.protected


def test_narrative_unprotected_when_nobody_anywhere_is_protected() -> None:
    out = resolve_all(rec("A", person("P1", S)), rec("B", person("P2", OFF), derived=("A",)))
    assert not out["B"].narrative_capacity.protected


def test_narrative_of_derived_record_without_persons_from_protected_source() -> None:
    out = resolve_all(rec("A", person("P1", V)), rec("B", derived=("A",)))
    assert out["B"].narrative_capacity.protected


def test_narrative_of_derived_record_without_persons_is_protected() -> None:
    out = resolve_all(rec("A", person("P1", S)), rec("B", derived=("A",)))
    assert resolve_all(rec("B"))["B"].narrative_capacity.protected
    assert out["B"].narrative_capacity.protected


def test_protection_through_an_intermediate_record_without_the_person() -> None:
    out = resolve_all(
        rec("C", person("P1", V, "Maria Silva", "1991-04-12")),
        rec("B", person("P9", S), derived=("C",)),
        rec("A", person("P1", S, "Maria Silva", "1991-04-12"), derived=("B",)),
    )
    assert out["A"].capacities[0].protected


# ---------------------------------------------------------------------------- resolve: settled, errors


def test_sources_may_be_settled_records() -> None:
    settled = {"A": Resolved("A", MPS, (PersonNode("P1", S, None, None),), (V,), V)}
    node = node_of(rec("B", person("P1", S), derived=("A",)))
    out = resolve(["B"], {"B": node}, settled)
    assert set(out) == {"B"}
    assert out["B"].capacities == (V,)


def test_a_source_in_nodes_is_recomputed_not_taken_from_settled() -> None:
    # A is being re-resolved (its role changed to suspect); the stale settled value is ignored.
    stale = {"A": Resolved("A", MPS, (PersonNode("P1", V, None, None),), (V,), V)}
    nodes = {"A": node_of(rec("A", person("P1", S))), "B": node_of(rec("B", person("P1", S), derived=("A",)))}
    out = resolve(["A", "B"], nodes, stale)
    assert out["B"].capacities == (S,)


def test_cycle_raises_naming_the_records() -> None:
    records = (
        rec("A", person("P1", S), derived=("C",)),
        rec("B", person("P1", S), derived=("A",)),
        rec("C", person("P1", S), derived=("B",)),
    )
    with pytest.raises(ProvenanceError) as info:
        resolve_all(*records)
    text = str(info.value)
    assert "cycle" in text
    for rid in ("A", "B", "C"):
        assert rid in text
    assert isinstance(info.value, IngestError)


def test_two_record_cycle_reached_from_an_acyclic_record() -> None:
    records = (
        rec("X", person("P1", S), derived=("A",)),
        rec("A", person("P1", S), derived=("B",)),
        rec("B", person("P1", S), derived=("A",)),
    )
    with pytest.raises(ProvenanceError, match="cycle") as info:
        resolve_all(*records)
    assert "A" in str(info.value) and "B" in str(info.value)


def test_self_cycle_raises() -> None:
    node = RecordNode("A", MPS, ("A",), (PersonNode("P1", S, None, None),))
    with pytest.raises(ProvenanceError, match="cycle"):
        resolve(["A"], {"A": node}, {})


def test_dangling_reference_raises_naming_both_records() -> None:
    with pytest.raises(ProvenanceError) as info:
        resolve_all(rec("B", person("P1", S), derived=("MISSING-7",)))
    assert "MISSING-7" in str(info.value)
    assert info.value.field is not None and "B" in info.value.field


def test_diamond_is_not_a_cycle() -> None:
    out = resolve_all(
        rec("D", person("P1", V)),
        rec("B", person("P1", S), derived=("D",)),
        rec("C", person("P1", S), derived=("D",)),
        rec("A", person("P1", S), derived=("B", "C")),
    )
    assert out["A"].capacities == (V,)


def test_deep_chain_beyond_recursion_limit() -> None:
    depth = max(5_000, sys.getrecursionlimit() * 3)
    nodes: dict[str, RecordNode] = {}
    p_victim = (PersonNode("P1", V, None, None),)
    p_suspect = (PersonNode("P1", S, None, None),)
    nodes["R0"] = RecordNode("R0", MPS, (), p_victim)
    for i in range(1, depth):
        nodes[f"R{i}"] = RecordNode(f"R{i}", MPS, (f"R{i - 1}",), p_suspect)
    # Start from the deepest record so the walk goes all the way down at once.
    out = resolve([f"R{depth - 1}", *(f"R{i}" for i in range(depth - 1))], nodes, {})
    assert len(out) == depth
    assert all(r.capacities == (V,) for r in out.values())


def test_deep_cycle_beyond_recursion_limit_raises() -> None:
    depth = 3_000
    nodes = {
        f"R{i}": RecordNode(f"R{i}", MPS, (f"R{(i + 1) % depth}",), (PersonNode("P1", S, None, None),))
        for i in range(depth)
    }
    with pytest.raises(ProvenanceError, match="cycle"):
        resolve(["R0"], nodes, {})


# ---------------------------------------------------------------------------- property tests

CONTROLLERS = (MPS, KENT)
# (person_id, name, date_of_birth). Named entries match across controllers by name + date of
# birth; nameless ones only within one controller by id. Ids and names are unique per entry,
# so "same person" is an equivalence relation over appearances.
POOL = (
    ("P0", "Maria Silva", "1991-04-12"),
    ("P1", "Ahmed Nouri", "1979-02-02"),
    ("P2", "Ion Popescu", "1995-07-07"),
    ("P3", None, None),
    ("P4", None, None),
)


def _variants(name: str) -> list[str]:
    return [name, name.upper(), "  " + name.lower().replace(" ", "   ") + " ", name.replace(" ", "\t")]


@st.composite
def dags(draw: st.DrawFn, min_persons: int = 0, max_records: int = 9) -> list[Record]:
    n = draw(st.integers(1, max_records))
    records: list[Record] = []
    for i in range(n):
        controller = draw(st.sampled_from(CONTROLLERS))
        picks = draw(st.lists(st.integers(0, len(POOL) - 1), unique=True, min_size=min_persons, max_size=4))
        persons = []
        for k in picks:
            pid, name, dob = POOL[k]
            role = draw(st.sampled_from(list(Capacity)))
            data: dict[str, str] = {}
            if name is not None and dob is not None:
                data = {"name": draw(st.sampled_from(_variants(name))), "date_of_birth": dob}
            persons.append(Person(pid, role, data))
        sources = draw(st.lists(st.integers(0, i - 1), unique=True, max_size=3)) if i else []
        records.append(
            Record(controller, f"R{i}", "k", CREATED, tuple(persons), "", tuple(f"R{j}" for j in sources))
        )
    return records


def _same(a: Person, a_ctrl: str, b: Person, b_ctrl: str) -> bool:
    if a_ctrl == b_ctrl and a.person_id == b.person_id:
        return True
    an, bn = a.data.get("name"), b.data.get("name")
    ad, bd = a.data.get("date_of_birth"), b.data.get("date_of_birth")
    return (
        an is not None
        and ad is not None
        and bn is not None
        and normalise_name(an) == normalise_name(bn)
        and ad == bd
    )


def _reach(rid: str, by_id: dict[str, Record]) -> set[str]:
    """Every record on any derivation path from `rid`, itself included (naive recursion)."""
    out = {rid}
    for source in by_id[rid].derived_from:
        out |= _reach(source, by_id)
    return out


def _ref_any_path(record: Record, p: Person, by_id: dict[str, Record]) -> bool:
    return any(
        q.role.protected and _same(p, record.controller, q, by_id[s].controller)
        for s in _reach(record.record_id, by_id)
        for q in by_id[s].persons
    )


def _ref_narrative(record: Record, by_id: dict[str, Record]) -> bool:
    return any(
        not by_id[s].persons or any(q.role.protected for q in by_id[s].persons)
        for s in _reach(record.record_id, by_id)
    )


def _resolve_shuffled(records: list[Record], seed: int) -> dict[str, Resolved]:
    nodes = {r.record_id: node_of(r) for r in records}
    targets = list(nodes)
    random.Random(seed).shuffle(targets)
    out = resolve(targets, nodes, {})
    assert set(out) == set(nodes)
    return out


_PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_PROPS
@given(dags(), st.integers(0, 2**32))
def test_resolved_protected_only_if_protected_on_some_path(records: list[Record], seed: int) -> None:
    by_id = {r.record_id: r for r in records}
    out = _resolve_shuffled(records, seed)
    for record in records:
        for p, capacity in zip(record.persons, out[record.record_id].capacities, strict=True):
            if capacity.protected:
                assert _ref_any_path(record, p, by_id), (record.record_id, p.person_id)
            # an unprotected result is one of the unprotected roles the person was collected in
            if not capacity.protected:
                assert not p.role.protected


@_PROPS
@given(dags(), st.integers(0, 2**32))
@example(
    records=[
        rec("R0", person("P0", V, "Maria Silva", "1991-04-12")),
        rec("R1", person("P3", S), derived=("R0",)),
        rec("R2", person("P0", S, "Maria Silva", "1991-04-12"), derived=("R1",)),
    ],
    seed=0,
)
def test_resolved_protected_iff_protected_on_any_path(records: list[Record], seed: int) -> None:
    by_id = {r.record_id: r for r in records}
    out = _resolve_shuffled(records, seed)
    for record in records:
        for p, capacity in zip(record.persons, out[record.record_id].capacities, strict=True):
            assert capacity.protected == _ref_any_path(record, p, by_id), (record.record_id, p.person_id)


@_PROPS
@given(dags(min_persons=1), st.integers(0, 2**32))
def test_narrative_protected_iff_anyone_on_any_path_is(records: list[Record], seed: int) -> None:
    by_id = {r.record_id: r for r in records}
    out = _resolve_shuffled(records, seed)
    for record in records:
        assert out[record.record_id].narrative_capacity.protected == _ref_narrative(record, by_id)
        # and it is at least as protective as any person in the record
        if any(c.protected for c in out[record.record_id].capacities):
            assert out[record.record_id].narrative_capacity.protected


@_PROPS
@given(dags(), st.integers(0, 2**32), st.integers(0, 2**32))
def test_resolution_is_independent_of_target_order_and_subsets(records: list[Record], a: int, b: int) -> None:
    whole = _resolve_shuffled(records, a)
    assert whole == _resolve_shuffled(records, b)
    # Resolving one record alone, its sources settled from the whole run, gives the same answer.
    nodes = {r.record_id: node_of(r) for r in records}
    last = records[-1].record_id
    settled = {rid: res for rid, res in whole.items() if rid != last}
    assert resolve([last], {last: nodes[last]}, settled)[last] == whole[last]


@_PROPS
@given(dags(max_records=6), st.data())
def test_adding_a_back_edge_gives_a_cycle_error(records: list[Record], data: st.DataObject) -> None:
    by_id = {r.record_id: r for r in records}
    # pick a record with an ancestor, and make that ancestor derive from it
    candidates = [
        (r.record_id, a) for r in records for a in sorted(_reach(r.record_id, by_id)) if a != r.record_id
    ]
    if not candidates:
        return
    child, ancestor = data.draw(st.sampled_from(candidates))
    old = by_id[ancestor]
    by_id[ancestor] = Record(
        old.controller,
        old.record_id,
        old.kind,
        old.created,
        old.persons,
        old.narrative,
        (*old.derived_from, child),
    )
    nodes = {rid: node_of(r) for rid, r in by_id.items()}
    with pytest.raises(ProvenanceError, match="cycle"):
        resolve(list(nodes), nodes, {})
