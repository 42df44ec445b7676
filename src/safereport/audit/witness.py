"""The witness: the independent verifier an oversight body runs beside a log.

It keeps the last checkpoint it accepted, takes the log's newest one with a consistency proof,
verifies the signature and the proof, and only then cosigns (C2SP tlog-cosignature). A log that
shrank (rollback) or that no longer contains the checkpoint it showed before (fork) is refused
and reported, and the witness's state is left as it was.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from safereport.audit import merkle
from safereport.audit.checkpoint import Checkpoint, cosign, open_signed
from safereport.audit.notes import Verifier, load_or_create_cosigner
from safereport.errors import AuditError


class LogSource(Protocol):
    def latest_checkpoint(self) -> str: ...
    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]: ...
    def add_cosignature(self, size: int, witness: str, line: str) -> None: ...


@dataclass(frozen=True, slots=True)
class WitnessResult:
    origin: str
    previous_size: int | None
    size: int
    root: str
    cosignature: str


class WitnessRefused(AuditError):
    """The log showed a fork or a rollback: it was not cosigned."""

    code = "witness_refused"


class Witness:
    def __init__(
        self, state_dir: Path, name: str, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.state_dir = state_dir
        self.name = name
        self.clock = clock
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.cosigner = load_or_create_cosigner(state_dir / "witness.key", name)

    def verifier_key(self) -> str:
        return self.cosigner.verifier_key()

    def _state_file(self, log_key: Verifier) -> Path:
        # One state per log key: a checkpoint under any other origin line is refused below, so
        # a key holder cannot start a second history beside the one this witness follows.
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", log_key.name)[:80]
        digest = hashlib.sha256(log_key.vkey().encode("utf-8")).hexdigest()[:16]
        return self.state_dir / f"{name}-{digest}.checkpoint"

    def accepted(self, log_key: Verifier) -> Checkpoint | None:
        path = self._state_file(log_key)
        if not path.exists():
            return None
        return open_signed(path.read_text("utf-8"), log_key, origin=log_key.name)

    def witness(self, log: LogSource, log_vkey: str) -> WitnessResult:
        verifier = Verifier.from_vkey(log_vkey)
        note = log.latest_checkpoint()
        try:
            latest = open_signed(note, verifier, origin=verifier.name)
        except AuditError as exc:
            raise WitnessRefused(f"the log's checkpoint does not verify: {exc.message}") from None
        previous = self.accepted(verifier)
        if previous is not None:
            if latest.size < previous.size:
                raise WitnessRefused(
                    f"rollback: the log shows {latest.size} entries, but this witness accepted "
                    f"{previous.size} before; expected a tree at least as large"
                )
            if latest.size == previous.size and latest.root != previous.root:
                raise WitnessRefused(
                    f"fork: the log shows another tree of the same size {latest.size}; expected root "
                    f"{previous.root.hex()}, got {latest.root.hex()}"
                )
            if latest.size > previous.size and previous.size > 0:
                proof: Sequence[bytes] = log.consistency_proof(previous.size, latest.size)
                if not merkle.verify_consistency(
                    previous.size, latest.size, previous.root, latest.root, proof
                ):
                    raise WitnessRefused(
                        f"fork: the tree of {latest.size} entries does not extend the tree of "
                        f"{previous.size} this witness accepted (the consistency proof fails)"
                    )
        line = cosign(latest, self.cosigner, self.clock())
        self._save(verifier, note)
        log.add_cosignature(latest.size, self.name, line)
        return WitnessResult(
            latest.origin, previous.size if previous else None, latest.size, latest.root.hex(), line
        )

    def _save(self, log_key: Verifier, note: str) -> None:
        path = self._state_file(log_key)
        temporary = path.with_suffix(".tmp")
        with temporary.open("w", encoding="utf-8") as handle:
            handle.write(note)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)
