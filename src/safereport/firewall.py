"""The library's front door: one object per store, used by the CLI, the HTTP API and the demo."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Connection

from safereport import ingest as ingesting
from safereport.audit import AuditLog, AuditReport
from safereport.audit.keys import key_id, load_or_create_subject_key
from safereport.audit.notes import load_or_create_signer
from safereport.config import Settings, load_settings
from safereport.decide import Decider
from safereport.errors import AuditError, LocalPolicyRejected, PolicyError
from safereport.model import Consent, DisclosureRequest, Record, Response
from safereport.policy import Baseline, LocalPolicy, PolicyEngine, load_baseline
from safereport.policy.local import check_local_policy
from safereport.policy.verify import ProofCache
from safereport.policy.verify.gate import require_proven
from safereport.store import Store
from safereport.store import consents as consent_store
from safereport.wire import iter_records_jsonl, open_records

IngestReport = ingesting.IngestReport


_POLICY_GENERATION = "policy_generation"


def _bump_policy_generation(conn: Connection) -> None:
    current = Store._meta(conn, _POLICY_GENERATION)
    Store._set_meta(conn, _POLICY_GENERATION, str(int(current or 0) + 1))


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Firewall:
    """safereport on one store.

    >>> fw = Firewall.open("sqlite:///example.db")        # doctest: +SKIP
    >>> fw.ingest_file(Path("records.jsonl"))              # doctest: +SKIP
    >>> fw.decide(request)                                 # doctest: +SKIP
    """

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = _utcnow,
        baseline: Baseline | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        # Every policy set is proven (issue 4) before it decides; proofs are cached by their hashes.
        self.baseline = baseline or load_baseline()
        self.proofs = ProofCache(settings.home / "proofs")
        subject_key = load_or_create_subject_key(settings.keys_path)
        bound = store.ensure_meta("subject_key_id", key_id(subject_key))
        if bound != key_id(subject_key):
            raise AuditError(
                f"the subject key in {settings.keys_path} is not the key this store was created with "
                f"(expected key id {bound}, got {key_id(subject_key)}); refusing to log under another key"
            )
        origin = settings.log_origin or f"safereport.localhost/{store.meta('deployment_id')}"
        key_file = settings.keys_path / f"log-{hashlib.sha256(origin.encode()).hexdigest()[:16]}.key"
        signer = load_or_create_signer(key_file, origin)
        bound_log_key = store.ensure_meta("log_key", signer.verifier_key())
        if bound_log_key != signer.verifier_key():
            raise AuditError(
                f"the log signing key in {key_file} is not the key this store's log was created with "
                f"(expected {bound_log_key}); refusing to sign checkpoints with another key"
            )
        self.log = AuditLog(
            store,
            origin,
            signer,
            checkpoint_every=settings.checkpoint_every,
            checkpoint_ms=settings.checkpoint_ms,
            clock=clock,
        )
        if store.meta("checkpoint_due") == "1":
            self.log.ensure_checkpoint()
            store.set_meta("checkpoint_due", "0")
        self._engines: dict[str, PolicyEngine] = {}
        self._policy_generation = store.meta(_POLICY_GENERATION)
        self._decider = Decider(store, self.log, subject_key, self.engine_for, clock)

    @classmethod
    def open(
        cls, db: str | None = None, *, settings: Settings | None = None, **overrides: object
    ) -> Firewall:
        """Open (creating and migrating if need be) the store named by `db` or SAFEREPORT_DB."""
        if settings is None:
            settings = load_settings(**({"db": db} if db else {}), **overrides)
        store = Store.open(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
        return cls(store, settings)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Firewall:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ---------------------------------------------------------------- records and consent

    def ingest(self, records: Iterable[Record]) -> IngestReport:
        """Store records atomically: all of them, or (on any error) none."""
        require_proven(self.baseline, (), None, self.proofs)
        return ingesting.ingest(self.store, enumerate(records, start=1), self.clock())

    def ingest_file(self, path: Path) -> IngestReport:
        """Ingest a JSON Lines file; an error names its line and nothing of the file is stored."""
        require_proven(self.baseline, (), None, self.proofs)
        with open_records(path) as stream:
            return ingesting.ingest(self.store, iter_records_jsonl(stream), self.clock())

    def grant_consent(self, consent: Consent) -> bool:
        with self.store.write() as conn:
            return consent_store.grant(conn, consent, self.clock())

    def revoke_consent(self, consent_id: str) -> bool:
        with self.store.write() as conn:
            return consent_store.revoke(conn, consent_id, self.clock())

    def consents(self, controller: str | None = None) -> list[Consent]:
        with self.store.read() as conn:
            return consent_store.list_consents(conn, controller)

    # ---------------------------------------------------------------- policy

    def engine_for(self, controller: str) -> PolicyEngine:
        """The engine of `controller`'s policy set; PolicyUnproven if the set has no proof."""
        engine = self._engines.get(controller)
        if engine is None:
            with self.store.read() as conn:
                local = consent_store.local_policies_of(conn, controller)
            require_proven(self.baseline, local, controller, self.proofs)
            engine = PolicyEngine(controller, local, baseline=self.baseline)
            self._engines[controller] = engine
        return engine

    def add_local_policy(self, policy: LocalPolicy) -> None:
        """Add or replace a controller's local policy; refused if it could weaken the baseline,
        or if the controller's whole policy set with it cannot be proven."""
        check_local_policy(policy, self.baseline)
        with self.store.write() as conn:
            others = [
                p
                for p in consent_store.local_policies_of(conn, policy.controller)
                if p.policy_id != policy.policy_id
            ]
            try:
                PolicyEngine(policy.controller, [*others, policy], baseline=self.baseline)  # ids unique
                require_proven(self.baseline, [*others, policy], policy.controller, self.proofs)
            except PolicyError as exc:
                raise LocalPolicyRejected(
                    f"local policy {policy.policy_id!r} cannot join {policy.controller}'s policies: {exc.message}",
                    field=policy.policy_id,
                ) from None
            consent_store.put_local_policy(conn, policy, self.clock())
            _bump_policy_generation(conn)
        self._engines.pop(policy.controller, None)

    def remove_local_policy(self, controller: str, policy_id: str) -> bool:
        with self.store.write() as conn:
            removed = consent_store.remove_local_policy(conn, controller, policy_id)
            if removed:
                _bump_policy_generation(conn)
        self._engines.pop(controller, None)
        return removed

    def _refresh_policies(self) -> None:
        """Forget cached engines when another process (another `serve` worker, the CLI) has
        changed any local policy since: one read of one meta row."""
        generation = self.store.meta(_POLICY_GENERATION)
        if generation != self._policy_generation:
            self._engines.clear()
            self._policy_generation = generation

    def local_policies(self, controller: str) -> list[LocalPolicy]:
        with self.store.read() as conn:
            return consent_store.local_policies_of(conn, controller)

    # ---------------------------------------------------------------- decisions and audit

    def decide(self, request: DisclosureRequest, *, explain: bool = False) -> Response:
        """Decide one request; its audit entry is durable before this returns."""
        self._refresh_policies()
        return self._decider.decide(request, explain=explain)

    def decide_many(
        self, requests: Iterable[DisclosureRequest], *, explain: bool = False
    ) -> Iterator[Response]:
        """Decide many, committing the audit log in groups; each response follows its commit."""
        self._refresh_policies()
        return self._decider.decide_many(requests, explain=explain, commit_batch=self.settings.commit_batch)

    def verify_audit(self, witness_keys: Sequence[str] = ()) -> AuditReport:
        """Check the whole log from scratch; with witness keys, their cosignatures too."""
        return self.log.verify(witness_keys)
