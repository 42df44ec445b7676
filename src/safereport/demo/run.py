"""Run a synthetic workload through a firewall and report, for a data protection officer, what
happened, with the one figure that matters counted independently of the policy engine: how
many protected data items reached immigration enforcement.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, TextIO

from safereport.demo.generate import SCENARIOS, LabelledRequest, Workload, generate_workload
from safereport.errors import ConsentError
from safereport.model import (
    FIELD_CATEGORIES,
    Category,
    Consent,
    Decision,
    DisclosureRequest,
    Function,
    OrgKind,
    Purpose,
    Record,
    Response,
)
from safereport.orgs import registry
from safereport.policy.verify.fleet import PolicyHolder, proof_lines, verify_all

DECIDE_PROGRESS_EVERY = 2_000
_STATUS_CATEGORIES = frozenset({Category.NATIONALITY, Category.IMMIGRATION_STATUS})


class _IngestReport(Protocol):
    @property
    def records(self) -> int: ...


class _AuditCheck(Protocol):
    @property
    def ok(self) -> bool: ...

    @property
    def entries(self) -> int: ...

    @property
    def detail(self) -> str: ...


class FirewallLike(PolicyHolder, Protocol):
    """The part of `safereport.Firewall` that the demo drives."""

    def ingest(self, records: Iterable[Record]) -> _IngestReport: ...

    def grant_consent(self, consent: Consent) -> object: ...

    def revoke_consent(self, consent_id: str) -> object: ...

    def decide_many(self, requests: Iterable[DisclosureRequest]) -> Iterator[Response]: ...

    def verify_audit(self) -> _AuditCheck: ...


@dataclass(frozen=True, slots=True)
class ScenarioTally:
    scenario: str
    requests: int
    permits: int
    denies: int
    protected_released_to_ie: int
    protected_status_released: int


@dataclass(frozen=True, slots=True)
class DemoSummary:
    decisions: int
    permits: int
    denies: int
    protected_released_to_ie: int
    protected_status_released: int
    audit_ok: bool
    audit_entries: int
    policy_sets_proven: int
    policy_sets: int
    records_ingested: int
    unmatched_responses: int
    scenarios: tuple[ScenarioTally, ...]
    generate_seconds: float | None
    ingest_seconds: float
    consent_seconds: float
    decide_seconds: float
    audit_seconds: float
    total_seconds: float

    @property
    def held(self) -> bool:
        """True when nothing protected leaked, every request was answered and the log verifies."""
        return (
            self.protected_released_to_ie == 0
            and self.protected_status_released == 0
            and self.unmatched_responses == 0
            and self.audit_ok
            and self.policy_sets_proven == self.policy_sets
        )


class ReleaseCounter:
    """Counts protected data items in responses from the generator's own truth, not from
    anything the policy engine says.

    For a request to a body with the `immigration_enforcement` function, or for the
    `immigration_enforcement` purpose, every released data key and narrative of a protected
    (record, person) counts as one item, unless the request named a consent that is valid and
    covers that item. Separately, every released `nationality` or `immigration_status` of a
    protected (record, person), to anyone, counts unless such a consent covers it.
    """

    def __init__(self, workload: Workload, now: datetime) -> None:
        revoked = set(workload.revocations)
        self._truth = workload.truth
        self._consents = {c.consent_id: c for c in workload.consents if c.consent_id not in revoked}
        self._ie = frozenset(o.id for o in registry().with_function(Function.IMMIGRATION_ENFORCEMENT))
        self._now = now

    def count(self, request: DisclosureRequest, response: Response) -> tuple[int, int]:
        """(protected items released to immigration enforcement, protected status items released)."""
        if not response.disclosed:
            return 0, 0
        to_ie = request.requester in self._ie or request.purpose is Purpose.IMMIGRATION_ENFORCEMENT
        consent = self._consents.get(request.consent_id) if request.consent_id else None
        ie_items = status_items = 0
        for item in response.disclosed:
            if (item.record_id, item.person_id) not in self._truth:
                continue
            categories: list[Category | None] = [FIELD_CATEGORIES.get(key) for key in item.data]
            if item.narrative is not None:
                categories.append(Category.NARRATIVE)
            for category in categories:
                if (
                    consent is not None
                    and category is not None
                    and self._covers(consent, request, item.person_id, category)
                ):
                    continue
                if to_ie:
                    ie_items += 1
                if category in _STATUS_CATEGORIES:
                    status_items += 1
        return ie_items, status_items

    def _covers(
        self, consent: Consent, request: DisclosureRequest, person_id: str, category: Category
    ) -> bool:
        return consent.covers(
            controller=request.controller,
            person_id=person_id,
            recipient=request.requester,
            purpose=request.purpose,
            category=category,
            at=self._now,
        )


def _n(value: int) -> str:
    return f"{value:,}"


def _table(out: TextIO, header: tuple[str, ...], rows: list[tuple[str, ...]], numeric_from: int) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]

    def line(cells: tuple[str, ...]) -> str:
        parts = [
            c.ljust(w) if i < numeric_from else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "   " + "  ".join(parts).rstrip()

    out.write(line(header) + "\n")
    out.write("   " + "-" * (sum(widths) + 2 * (len(widths) - 1)) + "\n")
    for row in rows:
        out.write(line(row) + "\n")


def _functions_label(org_id: str, cache: dict[str, str]) -> str:
    label = cache.get(org_id)
    if label is None:
        org = registry().get(org_id)
        label = "+".join(sorted(f.value for f in org.functions)) if org else f"unregistered ({org_id})"
        cache[org_id] = label
    return label


def run_demo(
    firewall: FirewallLike,
    workload: Workload,
    out: TextIO,
    progress: bool = True,
    *,
    generate_seconds: float | None = None,
    now: datetime | None = None,
    progress_to: TextIO | None = None,
) -> DemoSummary:
    """Ingest the workload, grant and revoke its consents, decide every request, verify the
    audit log, and print a report to `out`. Progress lines go to `progress_to` (default: `out`).
    `now` is the instant consents are judged at by the independent count (default: the present)."""
    started = time.perf_counter()
    at = now if now is not None else datetime.now(UTC)
    reg = registry()

    def say(text: str = "") -> None:
        out.write(text + "\n")

    notes = progress_to if progress_to is not None else out

    def note(text: str) -> None:
        if progress:
            notes.write(f"   ... {text}\n")
            notes.flush()

    kinds = Counter(reg[r.controller].kind for r in workload.records if r.controller in reg)
    controllers = len({r.controller for r in workload.records})
    title = f"safereport demo: a synthetic national workload (seed {workload.seed})"
    say(title)
    say("=" * len(title))
    say(
        f"{_n(len(workload.records))} records held by {controllers} controllers "
        f"({_n(kinds[OrgKind.POLICE_FORCE])} police, {_n(kinds[OrgKind.GP_PRACTICE])} GP, "
        f"{_n(kinds[OrgKind.LOCAL_AUTHORITY])} council records); {_n(len(workload.requests))} requests; "
        f"{_n(len(workload.consents))} consents, {_n(len(workload.revocations))} later revoked."
    )
    say("Every name, address and number is synthetic.")
    say()

    # ---- ingest --------------------------------------------------------------------------
    total = len(workload.records)
    step = max(1, total // 10)

    def counted() -> Iterator[Record]:
        for i, record in enumerate(workload.records, 1):
            yield record
            if i % step == 0 or i == total:
                note(f"ingest: {_n(i)} / {_n(total)} records read")

    t0 = time.perf_counter()
    report = firewall.ingest(counted())
    ingest_seconds = time.perf_counter() - t0
    say(f"Ingested {_n(report.records)} records in {ingest_seconds:.1f} s.")

    # ---- consents ------------------------------------------------------------------------
    t0 = time.perf_counter()
    revoked = set(workload.revocations)
    for consent in workload.consents:
        try:
            firewall.grant_consent(consent)
        except ConsentError:
            # The same demo already ran on this store and revoked it: it stays revoked.
            if consent.consent_id not in revoked:
                raise
    for consent_id in workload.revocations:
        firewall.revoke_consent(consent_id)
    consent_seconds = time.perf_counter() - t0
    say(f"Granted {_n(len(workload.consents))} consents and revoked {_n(len(workload.revocations))}.")

    # ---- decide --------------------------------------------------------------------------
    by_id: dict[str, LabelledRequest] = {lr.request.request_id: lr for lr in workload.requests}
    counter = ReleaseCounter(workload, at)
    fn_cache: dict[str, str] = {}
    table: Counter[tuple[str, str, Decision]] = Counter()
    per_scenario: dict[str, list[int]] = {}  # requests, permits, denies, to IE, status
    decisions = permits = unmatched = to_ie = status = 0
    n_requests = len(workload.requests)
    t0 = time.perf_counter()
    for response in firewall.decide_many(lr.request for lr in workload.requests):
        labelled = by_id.pop(response.request_id, None)
        if labelled is None:
            unmatched += 1
            continue
        request = labelled.request
        decisions += 1
        permitted = response.decision == Decision.PERMIT
        permits += permitted
        table[(_functions_label(request.requester, fn_cache), request.purpose.value, response.decision)] += 1
        ie_items, status_items = counter.count(request, response)
        to_ie += ie_items
        status += status_items
        counts = per_scenario.setdefault(labelled.scenario, [0, 0, 0, 0, 0])
        counts[0] += 1
        counts[1 if permitted else 2] += 1
        counts[3] += ie_items
        counts[4] += status_items
        if decisions % DECIDE_PROGRESS_EVERY == 0 or decisions == n_requests:
            rate = decisions / max(time.perf_counter() - t0, 1e-9)
            note(f"decide: {_n(decisions)} / {_n(n_requests)} requests ({rate:,.0f} a second)")
    decide_seconds = time.perf_counter() - t0
    unmatched += len(by_id)  # requests that never got an answer
    denies = decisions - permits
    say(f"Decided {_n(decisions)} requests: {_n(permits)} permitted, {_n(denies)} denied.")

    # ---- audit ---------------------------------------------------------------------------
    t0 = time.perf_counter()
    # The final signed checkpoint is what the log publishes to oversight bodies; the full check
    # after it covers every entry, tile and checkpoint, that one included.
    signed_checkpoint = getattr(getattr(firewall, "log", None), "checkpoint", lambda: "")()
    check = firewall.verify_audit()
    audit_seconds = time.perf_counter() - t0

    # ---- report --------------------------------------------------------------------------
    say()
    say("1. Decisions by requester function and purpose")
    rows: list[tuple[str, ...]] = []
    for fn, purpose in sorted({(f, p) for f, p, _ in table}):
        p, d = table[(fn, purpose, Decision.PERMIT)], table[(fn, purpose, Decision.DENY)]
        rows.append((fn, purpose, _n(p), _n(d), _n(p + d)))
    _table(out, ("requester function", "purpose", "permit", "deny", "total"), rows, 2)

    say()
    say("2. Decisions by scenario")
    rows = []
    scenarios: list[ScenarioTally] = []
    for label in [*SCENARIOS, *sorted(set(per_scenario) - set(SCENARIOS))]:
        if label not in per_scenario:
            continue
        c = per_scenario[label]
        scenarios.append(ScenarioTally(label, c[0], c[1], c[2], c[3], c[4]))
        rows.append((label, _n(c[0]), _n(c[1]), _n(c[2]), _n(c[3]), _n(c[4])))
    _table(out, ("scenario", "requests", "permit", "deny", "protected to IE", "status leaked"), rows, 1)
    say("   protected to IE: protected data items released to immigration enforcement (see 3).")
    say("   status leaked: nationality or immigration status from a protected record, released without")
    say("   the subject's valid consent, to anyone.")
    say()
    say("   What each scenario is:")
    for tally in scenarios:
        say(f"   {tally.scenario:<38} {SCENARIOS.get(tally.scenario, '')}")

    say()
    say("3. Protected data released to immigration enforcement")
    say("   Counted from the generator's own knowledge of who was a victim, witness, reporter, patient,")
    say("   pupil or service user (through every copy into intelligence), not from the policy engine.")
    verdict = "none: the firewall held" if to_ie == 0 else "THE FIREWALL LEAKED"
    say(f"   >>> PROTECTED DATA ITEMS RELEASED TO IMMIGRATION ENFORCEMENT: {_n(to_ie)} ({verdict})")
    status_line = "Nationality or immigration status from protected records, released without consent"
    say(f"   >>> {status_line}: {_n(status)}")
    if unmatched:
        say(f"   !!! {_n(unmatched)} requests or responses could not be paired: they were not counted.")

    say()
    say("4. Audit log")
    outcome = "verified" if check.ok else "FAILED VERIFICATION"
    say(f"   {outcome}: {_n(check.entries)} entries")
    if check.detail:
        say(f"   {check.detail}")
    if signed_checkpoint:
        say("   The final signed checkpoint (C2SP tlog-checkpoint; publish it, witnesses cosign it):")
        for line in signed_checkpoint.rstrip("\n").split("\n"):
            say(f"     {line}")
        verdict = "verifies" if check.ok else "DOES NOT VERIFY"
        say(
            f"   Its signature, and its root against every entry of the log, {verdict} (`safereport audit verify`)."
        )

    say()
    say("5. The firewall, proven with Z3 for every force's policy set")
    t0 = time.perf_counter()
    proofs = verify_all(firewall, fresh=True)
    prove_seconds = time.perf_counter() - t0
    for line in proof_lines(proofs):
        say(line)

    total_seconds = time.perf_counter() - started
    say()
    say("6. Wall time")
    phases = [("generate", generate_seconds)] if generate_seconds is not None else []
    phases += [
        ("ingest", ingest_seconds),
        ("consents", consent_seconds),
        ("decide", decide_seconds),
        ("audit verify", audit_seconds),
        ("prove policy sets", prove_seconds),
        ("total (without generate)", total_seconds),
    ]
    for name, seconds in phases:
        say(f"   {name:<26}{seconds:8.2f} s")
    if decisions:
        say(f"   {'decisions a second':<26}{decisions / max(decide_seconds, 1e-9):8,.0f}")
    out.flush()

    return DemoSummary(
        decisions=decisions,
        permits=permits,
        denies=denies,
        protected_released_to_ie=to_ie,
        protected_status_released=status,
        audit_ok=bool(check.ok),
        audit_entries=int(check.entries),
        policy_sets_proven=sum(1 for r in proofs if r.proven),
        policy_sets=len(proofs),
        records_ingested=int(report.records),
        unmatched_responses=unmatched,
        scenarios=tuple(scenarios),
        generate_seconds=generate_seconds,
        ingest_seconds=ingest_seconds,
        consent_seconds=consent_seconds,
        decide_seconds=decide_seconds,
        audit_seconds=audit_seconds,
        total_seconds=total_seconds,
    )


def generate_and_run(
    firewall: FirewallLike,
    out: TextIO,
    *,
    seed: int,
    n_records: int = 100_000,
    n_requests: int = 20_000,
    progress: bool = True,
    progress_to: TextIO | None = None,
) -> DemoSummary:
    """Generate the workload for `seed`, then `run_demo`, with generation timed as a phase."""
    if progress:
        notes = progress_to if progress_to is not None else out
        notes.write(f"   ... generating {n_records:,} records and {n_requests:,} requests (seed {seed})\n")
        notes.flush()
    t0 = time.perf_counter()
    workload = generate_workload(seed, n_records, n_requests)
    return run_demo(
        firewall, workload, out, progress, generate_seconds=time.perf_counter() - t0, progress_to=progress_to
    )
