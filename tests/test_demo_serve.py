"""`safereport demo --serve` (what `make demo-serve` runs): the demo, then the service on its store,
with an oversight key and a subject's access code that really sign in."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_demo_serve_prints_working_sign_in_material(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "SAFEREPORT_HOME": str(tmp_path / "home"),
        "SAFEREPORT_DB": f"sqlite:///{tmp_path / 'demo.db'}",
    }
    command = [sys.executable, "-m", "safereport.cli", "demo", "--records", "3000", "--requests", "600"]
    command += ["--serve", "--port", str(port), "--workers", "1"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "HTTP API" in line:
                break
        text = "".join(lines)
        key = re.search(r"^\s+(sr_\S+)$", text, re.MULTILINE)
        subject = re.search(r"reference (\S+)\s+access code (\S+)", text)
        assert key and subject, text[-2000:]
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        stats = httpx.get(f"{base}/v1/oversight/statistics", headers={"Authorization": f"Bearer {key[1]}"})
        assert stats.status_code == 200
        history = httpx.post(f"{base}/v1/subject/history", json={"reference": subject[1], "code": subject[2]})
        assert history.status_code == 200
        assert history.json()["entries"], history.json()
    finally:
        process.terminate()
        process.wait(timeout=30)
