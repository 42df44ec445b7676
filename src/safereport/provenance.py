"""Provenance: the capacity in which each datum was first collected, through `derived_from`.

A person listed in a derived record keeps the capacity in which a source collected their data,
through any number of copies. Protection is sticky: where the chain holds a protected capacity
anywhere for that person, the datum is protected, even if a later record lists them as a
suspect. A person in a derived record is the same person as one in a source when they share
the controller and person id, or the normalised name and date of birth (a false match can
only add protection, never remove it).

A record's narrative is about everyone in it and is copied along with it, so it takes the most
protective capacity of all its persons and all its sources.

Pure functions of their inputs: the store loads the nodes, this module decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from safereport.errors import ProvenanceError
from safereport.model import Capacity, Record
from safereport.wire import normalise_name

# A narrative with nobody in it is treated as collected in a protected capacity.
UNKNOWN_NARRATIVE_CAPACITY = Capacity.VICTIM


@dataclass(frozen=True, slots=True)
class PersonNode:
    person_id: str
    role: Capacity
    name_norm: str | None
    date_of_birth: str | None


@dataclass(frozen=True, slots=True)
class RecordNode:
    record_id: str
    controller: str
    derived_from: tuple[str, ...]
    persons: tuple[PersonNode, ...]


@dataclass(frozen=True, slots=True)
class Resolved:
    """The resolved capacities of one record: one per person (in order) and the narrative's."""

    record_id: str
    controller: str
    persons: tuple[PersonNode, ...]
    capacities: tuple[Capacity, ...]
    narrative_capacity: Capacity


def strongest(capacities: Iterable[Capacity]) -> Capacity | None:
    """The first protected capacity, else the first; None for none. Order: first collected first."""
    first: Capacity | None = None
    for capacity in capacities:
        if capacity.protected:
            return capacity
        if first is None:
            first = capacity
    return first


def node_of(record: Record) -> RecordNode:
    return RecordNode(
        record_id=record.record_id,
        controller=record.controller,
        derived_from=record.derived_from,
        persons=tuple(
            PersonNode(
                person_id=p.person_id,
                role=p.role,
                name_norm=normalise_name(p.data["name"]) if p.data.get("name") else None,
                date_of_birth=p.data.get("date_of_birth"),
            )
            for p in record.persons
        ),
    )


def resolve_standalone(node: RecordNode) -> Resolved:
    """A record derived from nothing: every datum's capacity is the role it was collected in."""
    if node.derived_from:
        raise ValueError("resolve_standalone is for records with no derived_from")
    roles = tuple(p.role for p in node.persons)
    return Resolved(
        node.record_id, node.controller, node.persons, roles, strongest(roles) or UNKNOWN_NARRATIVE_CAPACITY
    )


def _same_person(a: PersonNode, a_controller: str, b: PersonNode, b_controller: str) -> bool:
    if a_controller == b_controller and a.person_id == b.person_id:
        return True
    return (
        a.name_norm is not None
        and a.date_of_birth is not None
        and a.name_norm == b.name_norm
        and a.date_of_birth == b.date_of_birth
    )


def resolve(
    targets: Iterable[str],
    nodes: Mapping[str, RecordNode],
    settled: Mapping[str, Resolved],
) -> dict[str, Resolved]:
    """Resolve every record in `targets`.

    `nodes` holds the records to resolve (targets, and any record between them); `settled`
    holds already-resolved records that sources may point at. A source in neither is a dangling
    reference; a record reachable from itself is a cycle. Both are errors naming the record.
    """
    done: dict[str, Resolved] = {}
    for target in targets:
        if target in done:
            continue
        # Iterative depth-first walk: chains may be far deeper than Python's recursion limit.
        stack: list[tuple[str, int]] = [(target, 0)]
        on_path: dict[str, None] = {target: None}
        while stack:
            record_id, next_source = stack[-1]
            node = nodes[record_id]
            if next_source < len(node.derived_from):
                stack[-1] = (record_id, next_source + 1)
                source = node.derived_from[next_source]
                if source in done or (source in settled and source not in nodes):
                    continue
                if source in on_path:
                    cycle = [*list(on_path)[list(on_path).index(source) :], source]
                    raise ProvenanceError(
                        f"derived_from forms a cycle: {' -> '.join(cycle)}; a record cannot be derived from itself",
                        field=f"{record_id}.derived_from",
                    )
                if source not in nodes:
                    raise ProvenanceError(
                        f"derived_from names {source!r}, which no record in the store or this file holds",
                        field=f"{record_id}.derived_from",
                    )
                on_path[source] = None
                stack.append((source, 0))
                continue
            done[record_id] = _resolve_one(node, [done.get(s) or settled[s] for s in node.derived_from])
            stack.pop()
            on_path.pop(record_id, None)
    return {t: done[t] for t in targets}


def _resolve_one(node: RecordNode, sources: list[Resolved]) -> Resolved:
    capacities: list[Capacity] = []
    for person in node.persons:
        chain: list[Capacity] = []
        for source in sources:
            for other, capacity in zip(source.persons, source.capacities, strict=True):
                if _same_person(person, node.controller, other, source.controller):
                    chain.append(capacity)
        chain.append(person.role)
        resolved = strongest(chain)
        assert resolved is not None
        capacities.append(resolved)
    narrative = strongest([*(s.narrative_capacity for s in sources), *capacities])
    return Resolved(
        node.record_id,
        node.controller,
        node.persons,
        tuple(capacities),
        narrative or UNKNOWN_NARRATIVE_CAPACITY,
    )
