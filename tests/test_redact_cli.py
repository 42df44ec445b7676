"""`safereport redact`, run as a real process: standard input in, the minimised text out, the
removals as JSON on standard error with --explain."""

from __future__ import annotations

import json
import subprocess
import sys

NARRATIVE = (
    "Victim Maria Silva was hit by her partner Tom Jones.\n"
    "She said her visa expired and he threatened to call the Home Office.\n"
    "Her friend rang 07700 900123."
)


def redact(*args: str, stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "safereport.cli", "redact", *args],
        input=stdin,
        capture_output=True,
        timeout=180,
        check=False,
    )


def test_sentence_mode_by_default_with_the_subject_kept_and_the_removals_explained() -> None:
    done = redact("--subject", "Maria Silva", "--explain", stdin=NARRATIVE.encode())
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode() == (
        "Victim Maria Silva was hit by her partner [person 1].\nHer friend rang [phone 1].\n"
    )
    explained = json.loads(done.stderr)
    assert explained["mode"] == "sentence"
    removals = explained["removals"]
    assert [(r["category"], r["action"]) for r in removals] == [
        ("person", "mask"),
        ("threat_to_report", "sentence"),
        ("phone", "mask"),
    ]
    for r in removals:
        assert set(r) == {"category", "start", "end", "action"}
        assert 0 <= r["start"] < r["end"] <= len(NARRATIVE)
    # The explanation holds offsets and categories, never the words removed.
    for words in ("Tom", "Jones", "visa", "Home Office", "07700"):
        assert words not in done.stderr.decode()


def test_mask_and_tag_modes() -> None:
    masked = redact("--mode", "mask", "--subject", "Maria Silva", stdin=NARRATIVE.encode())
    assert masked.returncode == 0, masked.stderr
    assert "She said her [removed] expired and he [removed]." in masked.stdout.decode()
    assert masked.stderr == b""
    tagged = redact("--mode", "tag", stdin=NARRATIVE.encode())
    assert tagged.returncode == 0, tagged.stderr
    out = tagged.stdout.decode()
    assert "her [immigration status] expired and he [threat to report]." in out
    assert "Victim [person 1] was hit by her partner [person 2]." in out


def test_bad_input_exits_2_with_one_line_naming_the_problem() -> None:
    bad_bytes = redact(stdin=b"caf\xe9 \xff")
    assert bad_bytes.returncode == 2
    assert bad_bytes.stdout == b""
    assert len(bad_bytes.stderr.decode().strip().splitlines()) == 1
    assert "stdin" in bad_bytes.stderr.decode()
    bad_mode = redact("--mode", "paraphrase", stdin=b"text")
    assert bad_mode.returncode == 2
    assert bad_mode.stdout == b""


def test_empty_input_gives_empty_output() -> None:
    done = redact("--explain", stdin=b"")
    assert done.returncode == 0
    assert done.stdout == b""
    assert json.loads(done.stderr) == {"mode": "sentence", "removals": []}
