"""Decide: the one path from a request to released data, and the only place that knows the order.

    resolve subject -> gather data items -> provenance (resolved at ingest) -> authorise each
    datum -> minimise -> append to the audit log, durably -> shape the response

Neither confirm nor deny: a subject the controller does not hold, and a subject of whom nothing
may be released, give responses that differ only in `request_id` and `receipt`.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from safereport.audit import AuditEntry, AuditLog, person_key, query_key, request_digest
from safereport.audit.entry import scrub
from safereport.model import (
    FIELD_CATEGORIES,
    Category,
    Decision,
    DisclosedItem,
    DisclosureRequest,
    Explanation,
    NarrativeRemoval,
    Receipt,
    Response,
    SubjectById,
)
from safereport.orgs import registry
from safereport.policy import PolicyEngine
from safereport.redact import Removal, minimise
from safereport.store import Store
from safereport.store import consents as consent_store
from safereport.store import records as record_store
from safereport.wire import normalise_name


@dataclass(frozen=True, slots=True)
class Outcome:
    """A decision before it is logged: what would be released, and its audit entry."""

    request: DisclosureRequest
    disclosed: tuple[DisclosedItem, ...]
    entry: AuditEntry
    explanation: Explanation


class Decider:
    def __init__(
        self,
        store: Store,
        log: AuditLog,
        subject_key: bytes,
        engine_for: Callable[[str], PolicyEngine],
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.log = log
        self.subject_key = subject_key
        self.engine_for = engine_for
        self.clock = clock

    def decide(self, request: DisclosureRequest, *, explain: bool = False) -> Response:
        with self.store.read() as conn:
            outcome = self.evaluate(conn, request)
        (receipt,) = self.log.append([outcome.entry.to_bytes()])
        return self.shape(outcome, receipt, explain)

    def decide_many(
        self, requests: Iterable[DisclosureRequest], *, explain: bool = False, commit_batch: int = 256
    ) -> Iterator[Response]:
        """Decide in groups: one durable commit per group, and no response before its commit."""
        pending = iter(requests)
        while True:
            group: list[Outcome] = []
            with self.store.read() as conn:
                for request in pending:
                    group.append(self.evaluate(conn, request))
                    if len(group) >= commit_batch:
                        break
            if not group:
                return
            yield from self._commit(group, explain)

    def _commit(self, group: list[Outcome], explain: bool) -> Iterator[Response]:
        receipts = self.log.append([o.entry.to_bytes() for o in group])
        for outcome, receipt in zip(group, receipts, strict=True):
            yield self.shape(outcome, receipt, explain)

    def evaluate(self, conn: Connection, request: DisclosureRequest) -> Outcome:
        """Everything but logging: what would be released, and the entry that records it."""
        now = self.clock()
        requester = registry().require(request.requester, field="requester")
        engine = self.engine_for(request.controller)
        subject = request.subject
        if isinstance(subject, SubjectById):
            rows = record_store.find_subject(
                conn, request.controller, person_id=subject.person_id, record_id=request.record_id
            )
        else:
            rows = record_store.find_subject(
                conn,
                request.controller,
                name_norm=normalise_name(subject.name),
                date_of_birth=subject.date_of_birth,
                record_id=request.record_id,
            )
        consent = consent_store.get_consent(conn, request.consent_id) if request.consent_id else None

        def covered(person_id: str, category: Category) -> bool:
            return consent is not None and consent.covers(
                controller=request.controller,
                person_id=person_id,
                recipient=request.requester,
                purpose=request.purpose,
                category=category,
                at=now,
            )

        disclosed: list[DisclosedItem] = []
        fired: set[str] = set()
        released: Counter[str] = Counter()
        withheld: set[Category] = set()
        considered = removed_sentences = 0
        narrative_removals: list[NarrativeRemoval] = []
        consent_applied = False
        for row in rows:
            present = {FIELD_CATEGORIES[k] for k in row.data}
            if row.narrative:
                present.add(Category.NARRATIVE)
            permitted: set[Category] = set()
            narrative: str | None = None
            for category in request.categories:
                if category not in present:
                    continue
                considered += 1
                consented = covered(row.person_id, category)
                capacity = row.narrative_capacity if category is Category.NARRATIVE else row.capacity
                verdict = engine.authorise(
                    requester, capacity, category, request.purpose, request.direction, consented
                )
                fired.update(verdict.policies)
                if not verdict.allowed:
                    withheld.add(category)
                    continue
                consent_applied = consent_applied or consented
                if category is Category.NARRATIVE:
                    names = [row.data.get("name", "")]
                    if not isinstance(subject, SubjectById):
                        names.append(subject.name)
                    narrative, removals = _minimise_narrative(row.narrative, consented, names)
                    removed_sentences += sum(1 for r in removals if r.action == "sentence")
                    narrative_removals.extend(
                        NarrativeRemoval(row.record_id, r.category, r.start, r.end, r.action)
                        for r in removals
                    )
                    if narrative is None:
                        withheld.add(category)
                        continue
                permitted.add(category)
                released[category.value] += 1
            data = {k: v for k, v in row.data.items() if FIELD_CATEGORIES[k] in permitted}
            if data or narrative is not None:
                disclosed.append(DisclosedItem(row.record_id, row.person_id, data, narrative))

        decision = Decision.PERMIT if disclosed else Decision.DENY
        identifiers = _identifiers(request, rows)
        entry = AuditEntry(
            time=now,
            request_id=request.request_id,
            request_digest=request_digest(self.subject_key, request),
            requester=request.requester,
            controller=request.controller,
            direction=request.direction.value,
            purpose=request.purpose.value,
            legal_basis=scrub(request.legal_basis, identifiers),
            justification=scrub(request.justification, identifiers),
            subject=query_key(self.subject_key, request),
            subject_persons=tuple(
                sorted({person_key(self.subject_key, request.controller, r.person_id) for r in rows})
            ),
            record_scope=request.record_id,
            categories_requested=tuple(c.value for c in request.categories),
            decision=decision,
            policies=tuple(sorted(fired)),
            released=dict(released),
            withheld=tuple(sorted(c.value for c in withheld)),
            records_released=tuple(sorted({item.record_id for item in disclosed})),
            policy_version=engine.version,
            consent_id=request.consent_id,
            consent_applied=consent_applied,
        )
        explanation = Explanation(
            policies=tuple(sorted(fired)),
            withheld=tuple(sorted(withheld)),
            released=tuple(sorted(Category(c) for c in released)),
            policy_version=engine.version,
            items_considered=considered,
            narrative_sentences_removed=removed_sentences,
            consent_applied=consent_applied,
            narrative_removals=tuple(narrative_removals),
        )
        return Outcome(request, tuple(disclosed), entry, explanation)

    @staticmethod
    def shape(outcome: Outcome, receipt: Receipt, explain: bool) -> Response:
        return Response(
            request_id=outcome.request.request_id,
            decision=Decision.PERMIT if outcome.disclosed else Decision.DENY,
            disclosed=outcome.disclosed,
            receipt=receipt,
            explanation=outcome.explanation if explain else None,
        )


def _minimise_narrative(
    text: str, consented: bool, subject_names: list[str]
) -> tuple[str | None, tuple[Removal, ...]]:
    """The narrative as it may leave, and what was removed (categories and offsets, for the
    controller's explanation). None: nothing left.

    Under the subject's consent it leaves whole. Otherwise every sentence revealing
    immigration information goes and other people's identifiers are masked; the subject's own
    name stays. If minimising fails the narrative is withheld: an error here would answer
    differently for a subject the controller holds than for one it does not.
    """
    if consented:
        return text, ()
    try:
        minimised = minimise(text, subject_names=[n for n in subject_names if n])
    except Exception as exc:
        logging.getLogger("safereport.decide").error(
            "narrative withheld: minimisation failed (%s)", exc.__class__.__name__
        )
        return None, ()
    return (minimised.text if minimised.text.strip() else None), minimised.removals


def _identifiers(request: DisclosureRequest, rows: list[record_store.SubjectRow]) -> list[str]:
    subject = request.subject
    found = [subject.person_id] if isinstance(subject, SubjectById) else [subject.name, subject.date_of_birth]
    for row in rows:
        found.append(row.person_id)
        found.extend(row.data.values())
    return found
