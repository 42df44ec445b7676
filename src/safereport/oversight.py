"""The national picture for oversight bodies, computed from the audit log alone.

Audit entries hold no personal data (subjects are keyed hashes), and these statistics read
only their organisation, purpose, direction, decision, time and policy version fields.

Small counts are suppressed in everything that can be published: any count under 10,
including 0, is shown as "fewer than 10". Zero is suppressed too because showing it exactly
would make "fewer than 10" mean "at least one", which confirms that something happened (for
example an immigration-enforcement request at one force on one day); neither confirm nor deny.

The tallies are kept per store and advanced incrementally: a call reads only the entries
appended since the last one, and returns the same object while the log, the local policies
and the latest checkpoint are unchanged.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import threading
import weakref
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection, select

from safereport.audit import merkle
from safereport.audit.checkpoint import open_signed
from safereport.errors import AuditError, PolicyError, SafereportError
from safereport.model import Decision, Function, OrgKind, Purpose
from safereport.orgs import registry
from safereport.policy import LocalPolicy, PolicyEngine
from safereport.policy.engine import load_baseline
from safereport.store import Store, tables
from safereport.store import auditlog as rows

if TYPE_CHECKING:
    from safereport.firewall import Firewall

__all__ = [
    "SUPPRESSED",
    "SUPPRESSION_THRESHOLD",
    "BaselineInfo",
    "CheckpointStatus",
    "ControllerPolicy",
    "CountTable",
    "NationalStatistics",
    "national_statistics",
    "publish_count",
]

SUPPRESSION_THRESHOLD = 10
SUPPRESSED = "fewer than 10"
UNREGISTERED = "unregistered"
# The HTTP service logs a refused impersonation (a caller speaking for another body) as a deny
# decided by a policy id with this prefix.
IMPERSONATION_PREFIX = "authn-"
CHEAP_CHECK = (
    "cheap check: the latest checkpoint's signature under the log's key, and the root of the "
    "stored tree at its size; `safereport audit verify` re-checks every entry, tile and checkpoint"
)
FULL_CHECK = "full check: every entry, leaf, tile and signed checkpoint (`safereport audit verify`)"

PURPOSES = tuple(p.value for p in Purpose)
DECISIONS = tuple(d.value for d in Decision)

# The tallied cube's dimensions, and each published table: (name, title, its dimensions).
_CUBE = ("day", "requester_function", "purpose", "decision")
_TABLES = (
    ("requests_by_day_purpose_decision", "Requests per day, by purpose and decision",
     ("day", "purpose", "decision")),
    ("requests_by_day_function_decision", "Requests per day, by requester function and decision",
     ("day", "requester_function", "decision")),
    ("requests_by_function_purpose_decision", "Requests by requester function, purpose and decision (whole period)",
     ("requester_function", "purpose", "decision")),
    ("immigration_enforcement_attempts", "Immigration-enforcement attempts per controller, by decision",
     ("controller", "decision")),
    ("outbound_checks", "Outbound checks per controller, by decision", ("controller", "decision")),
)  # fmt: skip

# The CSV export's columns; a table leaves empty the dimensions it does not have.
CSV_COLUMNS = ("table", "day", "controller", "controller_name", "requester_function", "purpose", "decision")


def publish_count(count: int) -> int | str:
    """A count as it may be published: exact from 10 upwards, otherwise "fewer than 10"."""
    return count if count >= SUPPRESSION_THRESHOLD else SUPPRESSED


def function_label(org_id: str) -> str:
    org = registry().get(org_id)
    if org is None:
        return UNREGISTERED
    return "+".join(sorted(f.value for f in org.functions))


def function_labels() -> tuple[str, ...]:
    """Every requester-function label the registry can produce, in a fixed order."""
    return tuple(sorted({function_label(org_id) for org_id in registry()}))


# ---------------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class CountTable:
    """Counts over a complete grid of its dimensions (so a missing row never hints at a zero)."""

    name: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[tuple[str, ...], int], ...]

    def rows_as_documents(self, published: bool) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for keys, count in self.rows:
            row: dict[str, Any] = dict(zip(self.columns, keys, strict=True))
            if "controller" in row:
                row["controller_name"] = _org_name(row["controller"])
            row["count"] = publish_count(count) if published else count
            out.append(row)
        return out

    def count(self, *keys: str) -> int:
        for row_keys, value in self.rows:
            if row_keys == keys:
                return value
        raise KeyError(keys)


@dataclass(frozen=True, slots=True)
class BaselineInfo:
    name: str
    version: str
    sha256: str

    def to_document(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "sha256": self.sha256}


@dataclass(frozen=True, slots=True)
class ControllerPolicy:
    """What one controller runs, and what its latest logged decision ran."""

    controller: str
    name: str
    kind: str
    baseline: BaselineInfo | None
    policy_set_version: str | None
    local_policies: int
    decisions: int
    latest_decision_day: date | None
    latest_decision_policy_version: str | None
    national_sha256: str
    error: str | None = None

    @property
    def baseline_matches_national(self) -> bool:
        return self.baseline is not None and self.baseline.sha256 == self.national_sha256

    @property
    def latest_decision_matches(self) -> bool | None:
        """Whether its latest decision ran its current policy set; None before any decision."""
        if self.latest_decision_policy_version is None:
            return None
        return self.latest_decision_policy_version == self.policy_set_version

    @property
    def consistent(self) -> bool:
        return (
            self.error is None
            and self.baseline_matches_national
            and self.latest_decision_matches is not False
        )

    def to_document(self, published: bool) -> dict[str, Any]:
        return {
            "controller": self.controller,
            "name": self.name,
            "kind": self.kind,
            "baseline": self.baseline.to_document() if self.baseline else None,
            "policy_set_version": self.policy_set_version,
            "local_policies": self.local_policies,
            "decisions": publish_count(self.decisions) if published else self.decisions,
            "latest_decision_day": self.latest_decision_day.isoformat() if self.latest_decision_day else None,
            "latest_decision_policy_version": self.latest_decision_policy_version,
            "baseline_matches_national": self.baseline_matches_national,
            "latest_decision_matches": self.latest_decision_matches,
            "consistent": self.consistent,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class CheckpointStatus:
    size: int
    root: str
    issued_at: datetime
    verified: bool
    method: str
    detail: str
    entries_after: int

    def to_document(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "root": self.root,
            "issued_at": _iso(self.issued_at),
            "verified": self.verified,
            "method": self.method,
            "detail": self.detail,
            "entries_after": self.entries_after,
        }


@dataclass(frozen=True, slots=True)
class NationalStatistics:
    computed_at: datetime
    log_size: int
    unreadable_entries: int
    first_day: date | None
    last_day: date | None
    totals: tuple[tuple[str, int], ...]
    tables: tuple[CountTable, ...]
    controllers: tuple[ControllerPolicy, ...]
    national_baseline: BaselineInfo
    checkpoint: CheckpointStatus | None
    cache_key: tuple[object, ...] = field(default=(), compare=False, repr=False)

    def table(self, name: str) -> CountTable:
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(name)

    def total(self, name: str) -> int:
        return dict(self.totals)[name]

    def to_document(self, published: bool = True) -> dict[str, Any]:
        """JSON-ready. Published (the default) unless asked otherwise: counts under 10 suppressed."""
        return {
            "published": published,
            "suppression": {
                "threshold": SUPPRESSION_THRESHOLD,
                "shown_as": SUPPRESSED,
                "applies_to": "every count under the threshold, zero included"
                if published
                else "nothing: exact counts, not for publication",
            },
            "computed_at": _iso(self.computed_at),
            "log_size": self.log_size,
            "unreadable_entries": self.unreadable_entries,
            "period": {
                "first_day": self.first_day.isoformat() if self.first_day else None,
                "last_day": self.last_day.isoformat() if self.last_day else None,
            },
            "totals": {name: (publish_count(n) if published else n) for name, n in self.totals},
            "tables": {
                t.name: {
                    "title": t.title,
                    "columns": [*t.columns, "count"],
                    "rows": t.rows_as_documents(published),
                }
                for t in self.tables
            },
            "national_baseline": self.national_baseline.to_document(),
            "controllers": [c.to_document(published) for c in self.controllers],
            "checkpoint": self.checkpoint.to_document() if self.checkpoint else None,
        }

    def to_csv(self) -> str:
        """Every table as published (counts under 10 suppressed), one row per cell, then the totals."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow([*CSV_COLUMNS, "count"])
        for table in self.tables:
            for row in table.rows_as_documents(published=True):
                writer.writerow(
                    [table.name, *(row.get(column, "") for column in CSV_COLUMNS[1:]), row["count"]]
                )
        for name, count in self.totals:
            writer.writerow([f"total:{name}", *([""] * (len(CSV_COLUMNS) - 1)), publish_count(count)])
        return buffer.getvalue()


# ---------------------------------------------------------------------------------- tallies


@dataclass(slots=True)
class _Tally:
    """Running counts over the log's entries [0, cursor). Guarded by `lock`."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    cursor: int = 0
    last_leaf: str = ""
    unreadable: int = 0
    impersonations: int = 0
    cube: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)  # day, fn, purpose, decision
    ie: Counter[tuple[str, ...]] = field(default_factory=Counter)  # controller, decision
    outbound: Counter[tuple[str, ...]] = field(default_factory=Counter)
    decisions: Counter[str] = field(default_factory=Counter)
    latest: dict[str, tuple[str, str]] = field(default_factory=dict)  # controller: (day, policy version)
    functions: dict[str, str] = field(default_factory=dict)
    snapshot: NationalStatistics | None = None

    def reset(self) -> None:
        self.cursor, self.last_leaf, self.unreadable, self.impersonations = 0, "", 0, 0
        for counter in (self.cube, self.ie, self.outbound, self.decisions):
            counter.clear()
        self.latest.clear()
        self.snapshot = None

    def advance(self, conn: Connection) -> None:
        size = rows.size(conn)
        if self.cursor:
            last = rows.entry_at(conn, self.cursor - 1)
            if size < self.cursor or last is None or last.leaf_hash != self.last_leaf:
                self.reset()  # the log was rewritten or truncated under us: count it afresh
        if size == self.cursor:
            return
        ie_function = Function.IMMIGRATION_ENFORCEMENT.value
        for row in rows.scan(conn, self.cursor):
            self._count(row.entry, ie_function)
            self.cursor = row.index + 1
            self.last_leaf = row.leaf_hash

    def _count(self, text: str, ie_function: str) -> None:
        try:
            doc = orjson.loads(text)
            day = _day(doc["time"])
            requester, controller = str(doc["requester"]), str(doc["controller"])
            purpose, decision, direction = str(doc["purpose"]), str(doc["decision"]), str(doc["direction"])
            policy_version = str(doc["policy_version"])
            policies = doc.get("policies") or ()
            impersonation = any(isinstance(p, str) and p.startswith(IMPERSONATION_PREFIX) for p in policies)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            self.unreadable += 1
            return
        fn = self.functions.get(requester)
        if fn is None:
            fn = self.functions[requester] = function_label(requester)
        self.cube[(day, fn, purpose, decision)] += 1
        self.decisions[controller] += 1
        self.latest[controller] = (day, policy_version)
        self.impersonations += impersonation
        if direction == "outbound":
            self.outbound[(controller, decision)] += 1
        elif ie_function in fn.split("+") or purpose == Purpose.IMMIGRATION_ENFORCEMENT.value:
            self.ie[(controller, decision)] += 1


_TALLIES: weakref.WeakKeyDictionary[Store, _Tally] = weakref.WeakKeyDictionary()
_TALLIES_LOCK = threading.Lock()
_ENGINES: dict[
    tuple[str, tuple[tuple[str, str], ...]], tuple[BaselineInfo | None, str | None, str | None]
] = {}


def _tally_for(store: Store) -> _Tally:
    with _TALLIES_LOCK:
        tally = _TALLIES.get(store)
        if tally is None:
            tally = _TALLIES[store] = _Tally()
        return tally


# ---------------------------------------------------------------------------------- entry point


def national_statistics(fw: Firewall, *, full_verify: bool = False) -> NationalStatistics:
    """The national picture from `fw`'s audit log.

    Cheap to call again: only entries appended since the last call are read, and while the
    log, the local policies and the latest checkpoint (and its check) are unchanged the same
    object is returned. `full_verify` re-checks the whole log (expensive) instead of the latest
    checkpoint's signature and tree root.
    """
    tally = _tally_for(fw.store)
    with tally.lock, fw.store.read() as conn:
        tally.advance(conn)
        local = _local_policies(conn)
        latest = rows.latest_checkpoint(conn)
        policy_mark = tuple(
            (c, tuple((p.policy_id, p.sha256) for p in ps)) for c, ps in sorted(local.items())
        )
        key: tuple[object, ...] = (
            tally.cursor,
            tally.last_leaf,
            policy_mark,
            (latest.size, latest.note) if latest else None,
            full_verify,
        )
        # Checked on every call (a signature and a few tile reads): the tree can be tampered
        # with while the entries, and so the counts, stay as they were.
        checkpoint = _checkpoint_status(fw, conn, latest, tally.cursor, full_verify)
        cached = tally.snapshot
        if cached is not None and cached.cache_key == key:
            if cached.checkpoint == checkpoint:
                return cached
            snapshot = dataclasses.replace(cached, checkpoint=checkpoint)
        else:
            snapshot = _snapshot(tally, local, checkpoint, key, fw.clock())
        tally.snapshot = snapshot
        return snapshot


def _local_policies(conn: Connection) -> dict[str, list[LocalPolicy]]:
    lp = tables.local_policies
    found: dict[str, list[LocalPolicy]] = {}
    query = select(lp.c.controller, lp.c.policy_id, lp.c.text).order_by(lp.c.controller, lp.c.policy_id)
    for controller, policy_id, text in conn.execute(query):
        found.setdefault(controller, []).append(LocalPolicy(controller, policy_id, text))
    return found


def _checkpoint_status(
    fw: Firewall, conn: Connection, latest: rows.StoredCheckpoint | None, log_size: int, full_verify: bool
) -> CheckpointStatus | None:
    if latest is None:
        return None
    verified, detail = False, ""
    try:
        signed = open_signed(latest.note, fw.log.verifier, origin=fw.log.origin)
        tree_root = (
            merkle.root_hash(rows.ConnectionTiles(conn), signed.size) if signed.size else merkle.EMPTY_ROOT
        )
        if signed.size != latest.size or signed.root.hex() != latest.root:
            detail = "the signed checkpoint does not match the size and root stored beside it"
        elif tree_root != signed.root:
            detail = "the stored tree's root at the checkpoint's size differs from the signed root"
        else:
            verified, detail = True, "signature and tree root verified"
    except (AuditError, ValueError) as exc:
        detail = f"the latest checkpoint does not verify: {exc.__class__.__name__}"
    if full_verify:
        report = fw.verify_audit()
        verified = verified and report.ok
        detail = report.detail
    return CheckpointStatus(
        size=latest.size,
        root=latest.root,
        issued_at=latest.issued_at,
        verified=verified,
        method=FULL_CHECK if full_verify else CHEAP_CHECK,
        detail=detail,
        entries_after=max(0, log_size - latest.size),
    )


def _snapshot(
    tally: _Tally,
    local: Mapping[str, list[LocalPolicy]],
    checkpoint: CheckpointStatus | None,
    key: tuple[object, ...],
    now: datetime,
) -> NationalStatistics:
    baseline = load_baseline()
    national = BaselineInfo(baseline.name, baseline.version, baseline.sha256)
    days = _days({day for day, _, _, _ in tally.cube})
    fns = tuple(sorted(set(function_labels()) | {fn for _, fn, _, _ in tally.cube}))
    purposes = tuple(sorted(set(PURPOSES) | {p for _, _, p, _ in tally.cube}, key=_purpose_order))
    decisions = tuple(sorted(set(DECISIONS) | {d for *_, d in tally.cube}, key=_decision_order))
    controllers = _controllers(tally, local)
    axes = {
        "day": days,
        "requester_function": fns,
        "purpose": purposes,
        "decision": decisions,
        "controller": tuple(c.controller for c in controllers),
    }
    by_controller = {"immigration_enforcement_attempts": tally.ie, "outbound_checks": tally.outbound}
    count_tables = []
    for name, title, columns in _TABLES:
        if name in by_controller:
            counts = by_controller[name]
        else:
            at = [_CUBE.index(c) for c in columns]
            counts = Counter()
            for keys, n in tally.cube.items():
                counts[tuple(keys[i] for i in at)] += n
        cells = itertools.product(*(axes[c] for c in columns))
        count_tables.append(CountTable(name, title, columns, tuple((k, counts.get(k, 0)) for k in cells)))
    deny = Decision.DENY.value
    permit = Decision.PERMIT.value
    totals = (
        ("requests", sum(tally.cube.values())),
        ("permitted", sum(n for k, n in tally.cube.items() if k[3] == permit)),
        ("refused", sum(n for k, n in tally.cube.items() if k[3] == deny)),
        ("immigration_enforcement_attempts", sum(tally.ie.values())),
        ("immigration_enforcement_refused", sum(n for k, n in tally.ie.items() if k[1] == deny)),
        ("outbound_checks", sum(tally.outbound.values())),
        ("outbound_refused", sum(n for k, n in tally.outbound.items() if k[1] == deny)),
        ("impersonations_refused", tally.impersonations),
    )
    return NationalStatistics(
        computed_at=now,
        log_size=tally.cursor,
        unreadable_entries=tally.unreadable,
        first_day=date.fromisoformat(days[0]) if days else None,
        last_day=date.fromisoformat(days[-1]) if days else None,
        totals=totals,
        tables=tuple(count_tables),
        controllers=controllers,
        national_baseline=national,
        checkpoint=checkpoint,
        cache_key=key,
    )


def _controllers(tally: _Tally, local: Mapping[str, list[LocalPolicy]]) -> tuple[ControllerPolicy, ...]:
    """Every police force, and every other organisation that decided or holds local policies."""
    reg = registry()
    national = load_baseline().sha256
    ids = {o.id for o in reg.of_kind(OrgKind.POLICE_FORCE)} | set(tally.decisions) | set(local)
    out: list[ControllerPolicy] = []
    for controller in ids:
        org = reg.get(controller)
        policies = local.get(controller, [])
        baseline, version, error = _policy_set(controller, policies)
        latest = tally.latest.get(controller)
        out.append(
            ControllerPolicy(
                controller=controller,
                name=org.name if org else controller,
                kind=org.kind.value if org else UNREGISTERED,
                baseline=baseline,
                policy_set_version=version,
                local_policies=len(policies),
                decisions=tally.decisions.get(controller, 0),
                latest_decision_day=date.fromisoformat(latest[0]) if latest else None,
                latest_decision_policy_version=latest[1] if latest else None,
                national_sha256=national,
                error=error,
            )
        )
    out.sort(key=lambda c: (c.kind != OrgKind.POLICE_FORCE.value, c.name.casefold()))
    return tuple(out)


def _policy_set(
    controller: str, policies: Iterable[LocalPolicy]
) -> tuple[BaselineInfo | None, str | None, str | None]:
    """(baseline, policy set version, error) for a controller's stored local policies; memoised."""
    fingerprint = tuple((p.policy_id, p.sha256) for p in policies)
    # The policy set version is a hash of the baseline and the local policies alone, so every
    # registered controller without local policies shares one (and one engine to compute it).
    cache_key = (controller if fingerprint or controller not in registry() else "", fingerprint)
    known = _ENGINES.get(cache_key)
    if known is None:
        try:
            engine = PolicyEngine(controller, list(policies))  # a registered controller when shared
            b = engine.baseline
            known = (BaselineInfo(b.name, b.version, b.sha256), engine.version, None)
        except PolicyError as exc:
            known = (None, None, f"its policies do not load ({exc.code})")
        except SafereportError as exc:  # e.g. a controller missing from the registry
            known = (None, None, f"its policy set cannot be built ({exc.code})")
        except KeyError:
            known = (None, None, "its policy set cannot be built (unregistered controller)")
        _ENGINES[cache_key] = known
    return known


# ---------------------------------------------------------------------------------- helpers


def _day(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("time")
    if value.endswith("Z") and len(value) >= 10 and value[4] == "-" and value[7] == "-":
        return value[:10]
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("naive time")
    return parsed.astimezone(UTC).date().isoformat()


def _days(present: set[str]) -> tuple[str, ...]:
    """Every day from the first to the last present, so that a quiet day is a row of its own."""
    if not present:
        return ()
    first, last = date.fromisoformat(min(present)), date.fromisoformat(max(present))
    return tuple((first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1))


def _purpose_order(purpose: str) -> tuple[int, str]:
    return (PURPOSES.index(purpose), "") if purpose in PURPOSES else (len(PURPOSES), purpose)


def _decision_order(decision: str) -> tuple[int, str]:
    return (DECISIONS.index(decision), "") if decision in DECISIONS else (len(DECISIONS), decision)


def _org_name(org_id: str) -> str:
    org = registry().get(org_id)
    return org.name if org else org_id


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")
