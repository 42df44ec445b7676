"""Shared by the web tests: a populated store, API keys, and reading figures off a page."""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from safereport import Firewall, apikeys
from safereport.config import load_settings
from safereport.demo import generate_workload, run_demo
from safereport.model import SubjectById
from safereport.subjects import IssuedAccess, issue_access, revoke_access

OVERSIGHT_ORG = "hm-courts-tribunals-service"  # the registry has no inspectorate; any body will do
REQUESTER_ORG = "crown-prosecution-service"
SCREENSHOTS = Path(__file__).resolve().parents[1] / "test-output" / "screenshots"


@dataclass(frozen=True)
class Site:
    """A store filled with a synthetic workload, with keys and a subject's access issued."""

    db_url: str
    home: Path
    oversight_key: str
    admin_key: str
    requester_key: str
    revoked_oversight_key: str
    revoked_oversight_key_id: str
    requester_key_id: str
    access: IssuedAccess
    other_access: IssuedAccess
    revoked_access: IssuedAccess
    personal_values: frozenset[str]

    def firewall(self) -> Firewall:
        return Firewall.open(settings=load_settings(db=self.db_url, home=self.home))


def build_site(folder: Path, *, seed: int, records: int, requests: int) -> Site:
    db_url = f"sqlite:///{folder / 'site.db'}"
    home = folder / "home"
    workload = generate_workload(seed, records, requests)
    with Firewall.open(settings=load_settings(db=db_url, home=home)) as fw:
        run_demo(fw, workload, io.StringIO(), progress=False)
        asked = Counter(
            (lr.request.controller, lr.request.subject.person_id)
            for lr in workload.requests
            if isinstance(lr.request.subject, SubjectById)
        )
        (top, _), (second, _) = asked.most_common(2)
        access = issue_access(fw, *top)
        other = issue_access(fw, *second)
        revoked = issue_access(fw, *top)
        revoke_access(fw, revoked.reference)
        keys = {
            role: apikeys.create_key(fw.store, org, role)
            for role, org in (
                ("oversight", OVERSIGHT_ORG),
                ("admin", OVERSIGHT_ORG),
                ("requester", REQUESTER_ORG),
            )
        }
        gone = apikeys.create_key(fw.store, OVERSIGHT_ORG, "oversight")
        apikeys.revoke_key(fw.store, gone.key.key_id)
    # Names, ids and contact details: nationality and status are vocabulary words, and a
    # synthetic date of birth could fall on a day the log covers.
    fields = ("name", "address", "phone", "email")
    values = {
        value
        for record in workload.records
        for person in record.persons
        for value in (person.person_id, *(person.data.get(f, "") for f in fields))
        if len(value) >= 6
    }
    return Site(
        db_url=db_url,
        home=home,
        oversight_key=keys["oversight"].token,
        admin_key=keys["admin"].token,
        requester_key=keys["requester"].token,
        revoked_oversight_key=gone.token,
        revoked_oversight_key_id=gone.key.key_id,
        requester_key_id=keys["requester"].key.key_id,
        access=access,
        other_access=other,
        revoked_access=revoked,
        personal_values=frozenset(values),
    )


class _Cells(HTMLParser):
    """Collects (data-table, data-key) -> text of every figure cell on a page."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[tuple[str, str], str] = {}
        self._open: tuple[str, str] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "td" and found.get("data-table"):
            self._open = (found["data-table"] or "", found.get("data-key") or "")
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._open is not None:
            self.cells[self._open] = " ".join("".join(self._text).split())
            self._open = None


def figure_cells(html: str) -> dict[tuple[str, str], str]:
    parser = _Cells()
    parser.feed(html)
    return parser.cells


def shown(value: object) -> str:
    """A published count as the page writes it."""
    return f"{value:,}" if isinstance(value, int) else str(value)


def expected_cells(document: dict[str, Any], days_shown: int = 31) -> dict[tuple[str, str], str]:
    """Every figure the oversight page should show for a published statistics document."""
    out: dict[tuple[str, str], str] = {("totals", k): shown(v) for k, v in document["totals"].items()}
    all_days = sorted({r["day"] for r in document["tables"]["requests_by_day_purpose_decision"]["rows"]})
    days = set(all_days[-days_shown:])
    for name, table in document["tables"].items():
        columns = [c for c in table["columns"] if c != "count"]
        for row in table["rows"]:
            if "day" in row and row["day"] not in days:
                continue
            out[(name, "|".join(str(row[c]) for c in columns))] = shown(row["count"])
    for c in document["controllers"]:
        out[("controller_decisions", c["controller"])] = shown(c["decisions"])
    return out


def leaked(text: str, values: frozenset[str]) -> list[str]:
    return sorted(v for v in values if v in text)
