"""Provenance: the capacity in which each datum was first collected, through `derived_from`.

A person listed in a derived record keeps the capacity in which a source collected their data,
through any number of copies. Protection is sticky: where the chain holds a protected capacity
anywhere for that person, the datum is protected, even if a later record lists them as a
suspect. A person in a derived record is the same person as one in a source when they share
the controller and person id, or the normalised name and date of birth (a false match can
only add protection, never remove it).

Protection also passes through records that do not list the person: an intelligence entry that
copies a victim statement's narrative but lists nobody may itself be copied into a record that
names the victim again. So every resolved record carries the identities of everyone held in a
protected capacity anywhere in its ancestry, and a person matching any of them is protected.

A record's narrative is about everyone in it and is copied along with it, so it takes the most
protective capacity of all its persons and all its sources; a record with nobody in it has a
protected narrative.

Pure functions of their inputs: the store loads the nodes, this module decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

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


# An identity by which a person is matched across records: ("id", controller, person_id) or
# ("name", normalised name, date of birth).
Identity = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class Resolved:
    """The resolved capacities of one record: one per person (in order) and the narrative's."""

    record_id: str
    controller: str
    persons: tuple[PersonNode, ...]
    capacities: tuple[Capacity, ...]
    narrative_capacity: Capacity
    # Every identity held in a protected capacity in this record or any record it derives from.
    protected: Mapping[Identity, Capacity] = field(default_factory=dict)


def identities(person: PersonNode, controller: str) -> list[Identity]:
    found: list[Identity] = [("id", controller, person.person_id)]
    if person.name_norm is not None and person.date_of_birth is not None:
        found.append(("name", person.name_norm, person.date_of_birth))
    return found


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
    # The protected identities are left out: a record is always resolved afresh, ancestry and
    # all, whenever a record derived from it is.
    roles = tuple(p.role for p in node.persons)
    narrative = strongest(roles) if roles else None
    return Resolved(
        node.record_id, node.controller, node.persons, roles, narrative or UNKNOWN_NARRATIVE_CAPACITY
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
    inherited: dict[Identity, Capacity] = {}
    for source in sources:
        for identity, capacity in source.protected.items():
            inherited.setdefault(identity, capacity)
    direct: dict[Identity, list[Capacity]] = {}
    for source in sources:
        for other, capacity in zip(source.persons, source.capacities, strict=True):
            for identity in identities(other, source.controller):
                direct.setdefault(identity, []).append(capacity)
    capacities: list[Capacity] = []
    protected = dict(inherited)
    for person in node.persons:
        keys = identities(person, node.controller)
        # First collected first: the sources' own capacities, then anything protected further
        # up the chain, then the role given here.
        chain = [c for key in keys for c in direct.get(key, ())]
        chain += [inherited[key] for key in keys if key in inherited]
        chain.append(person.role)
        resolved = strongest(chain)
        assert resolved is not None
        capacities.append(resolved)
        if resolved.protected:
            for key in keys:
                protected.setdefault(key, resolved)
    # A narrative with nobody in it is treated as protected, whatever its sources.
    narrative = strongest([*(s.narrative_capacity for s in sources), *capacities]) if node.persons else None
    return Resolved(
        node.record_id,
        node.controller,
        node.persons,
        tuple(capacities),
        narrative or UNKNOWN_NARRATIVE_CAPACITY,
        # Shared, not copied, when this record adds nothing: long chains stay linear in memory.
        protected if len(protected) != len(inherited) or len(sources) != 1 else sources[0].protected,
    )
