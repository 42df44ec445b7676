"""The demo end to end on a real store: the firewall holds and the log's checkpoint is shown."""

from __future__ import annotations

import io

from safereport import Firewall
from safereport.audit import merkle
from safereport.audit.checkpoint import open_signed
from safereport.demo.run import generate_and_run


def test_demo_holds_and_prints_the_signed_checkpoint(firewall: Firewall) -> None:
    out = io.StringIO()
    summary = generate_and_run(firewall, out, seed=7, n_records=2_500, n_requests=400, progress=False)
    text = out.getvalue()
    assert summary.held
    assert summary.protected_released_to_ie == 0 and summary.protected_status_released == 0
    assert summary.permits > 0 and summary.denies > 0
    assert "PROTECTED DATA ITEMS RELEASED TO IMMIGRATION ENFORCEMENT: 0" in text
    note = firewall.log.checkpoint()
    checkpoint = open_signed(note, firewall.log.verifier)
    assert checkpoint.size == 400
    for line in note.rstrip("\n").split("\n"):
        assert line in text
    with firewall.store.read() as conn:
        from safereport.store import auditlog

        assert merkle.root_hash(auditlog.ConnectionTiles(conn), 400) == checkpoint.root
