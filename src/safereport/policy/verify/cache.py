"""The proof cache: a proven policy set is proven once, then looked up by its hashes.

The key names everything a proof depends on: the baseline's sha256 (recomputed from its text), the sorted sha256 of each
local policy, the controller the set runs for, safereport's version, the hash of the property
file, the hash of the verifier's own code (the encoding) and the hash of the organisation
registry. Changing any of them changes the key, so a stale proof is never found. Only proven
reports are stored, as small JSON files under `HOME/proofs/`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path

from safereport.policy.engine import Baseline, LocalPolicy, digest_baseline
from safereport.policy.verify._report import ProofReport

KEY_VERSION = "safereport-proof-v1"


@cache
def _source_hash(*names: str) -> str:
    h = hashlib.sha256()
    folder = resources.files("safereport.policy.verify")
    for name in names:
        h.update(name.encode() + b"\x00" + folder.joinpath(name).read_bytes() + b"\x00")
    return h.hexdigest()


def property_hash() -> str:
    return _source_hash("property.py")


def verifier_hash() -> str:
    return _source_hash("_domain.py", "_compile.py", "prove.py", "_report.py", "cache.py")


@cache
def registry_hash() -> str:
    raw = resources.files("safereport.data").joinpath("organisations.json").read_bytes()
    return hashlib.sha256(raw).hexdigest()


def _safereport_version() -> str:
    from safereport import __version__

    return __version__


def content_digest(baseline: Baseline) -> str:
    """The baseline's hash recomputed from its text (never the hash it claims to have)."""
    return digest_baseline(baseline.policies, baseline.schema, baseline.name, baseline.version)


def proof_key(baseline: Baseline, local: Sequence[LocalPolicy], controller: str | None) -> str:
    material = {
        "v": KEY_VERSION,
        "baseline": content_digest(baseline),
        "local": sorted(p.sha256 for p in local),
        "controller": controller,
        "safereport": _safereport_version(),
        "property": property_hash(),
        "verifier": verifier_hash(),
        "registry": registry_hash(),
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


class ProofCache:
    """Proven reports by key, as JSON files in one directory (created on first write)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, key: str) -> Path:
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise ValueError("a proof key is 64 lower-case hex digits")
        return self.directory / f"{key}.json"

    def get(self, key: str) -> ProofReport | None:
        """The proven report stored under `key`, or None (absent, unreadable or not a proof)."""
        try:
            raw = json.loads(self._path(key).read_text("utf-8"))
            report = ProofReport.from_dict(raw)
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if report.key != key or not report.proven:
            return None
        return ProofReport(
            report.controller,
            report.baseline,
            report.baseline_sha256,
            report.local,
            report.policy_version,
            report.results,
            report.elapsed_seconds,
            report.key,
            cached=True,
        )

    def put(self, report: ProofReport) -> None:
        """Store a proven report (atomically: a reader sees all of it or none)."""
        if not report.proven:
            raise ValueError("only proven policy sets are cached")
        path = self._path(report.key)
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".proof-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(report.to_json())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
