"""The oversight and subject views in a real browser: Playwright driving Debian's chromium
(`scripts/install-chromium`), with JavaScript switched off, against `safereport serve` on a
store filled with the demo's synthetic workload. Screenshots go to test-output/screenshots/.

A machine without /usr/bin/chromium fails these tests, unless SAFEREPORT_TEST_BROWSER=skip.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from safereport.oversight import SUPPRESSED
from safereport.subjects import subject_history
from safereport.web import labels
from tests.http_server import RunningServer, auth, start_server
from tests.web_support import SCREENSHOTS, Site, build_site, expected_cells, leaked

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        if os.environ.get("SAFEREPORT_TEST_BROWSER") == "skip":
            pytest.skip("browser tests skipped (SAFEREPORT_TEST_BROWSER=skip)")
        pytest.fail(
            f"no browser for the browser tests: {CHROMIUM} is missing. Run scripts/install-chromium "
            "(apt-get install chromium), or set SAFEREPORT_TEST_BROWSER=skip to skip them."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return build_site(tmp_path_factory.mktemp("web-browser"), seed=2026, records=3_000, requests=1_000)


@pytest.fixture(scope="module")
def server(site: Site) -> Iterator[RunningServer]:
    with start_server(site.db_url, site.home, {"SAFEREPORT_SUBJECT_RATE_LIMIT": "0"}) as running:
        yield running


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    made = browser.new_context(
        java_script_enabled=False,  # the pages must work without it
        viewport={"width": 1280, "height": 900},
        accept_downloads=True,
    )
    yield made
    made.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Page, server: RunningServer, key: str) -> None:
    page.goto(server.base_url + "/oversight")
    assert page.url.endswith("/oversight/sign-in")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def statistics(server: RunningServer, site: Site) -> dict[str, Any]:
    response = httpx.get(server.base_url + "/v1/oversight/statistics", headers=auth(site.oversight_key))
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


# ---------------------------------------------------------------------------------- oversight


def test_oversight_numbers_equal_the_api(page: Page, server: RunningServer, site: Site) -> None:
    page.goto(server.base_url + "/oversight")
    screenshot(page, "oversight-sign-in")
    sign_in(page, server, site.oversight_key)
    assert page.url.endswith("/oversight")
    assert page.get_by_role("heading", name="The national picture").is_visible()
    screenshot(page, "oversight")

    shown = page.eval_on_selector_all(
        "td[data-table]", "cells => cells.map(c => [c.dataset.table, c.dataset.key, c.textContent])"
    )
    cells = {(table, key): " ".join(text.split()) for table, key, text in shown}
    document = statistics(server, site)
    assert cells == expected_cells(document)

    # Suppression: small counts read "fewer than 10" on the page exactly where the API has them.
    suppressed = [k for k, v in cells.items() if v == SUPPRESSED]
    assert suppressed and len(suppressed) < len(cells)
    totals = page.locator("#totals")
    assert totals.get_by_role("row", name=labels.total("requests")).inner_text().split()[-1] == "1,000"
    assert document["totals"]["requests"] == 1000

    # Every force is in the baseline table, and all run the national baseline.
    rows = page.locator("#policy-sets tbody tr")
    assert rows.count() == len(document["controllers"]) >= 43
    assert page.locator("#policy-sets tr.differs").count() == 0
    assert document["national_baseline"]["sha256"] in page.locator("#policy-heading + p").inner_text()
    checkpoint = page.locator("#checkpoint")
    assert document["checkpoint"]["root"] in checkpoint.inner_text()
    assert page.locator('[data-field="checkpoint-verified"]').inner_text().startswith("Yes")
    assert page.locator("figure.chart svg").count() >= 2
    assert leaked(page.content(), site.personal_values) == []


def test_csv_download_equals_the_api(page: Page, server: RunningServer, site: Site) -> None:
    sign_in(page, server, site.oversight_key)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download these figures as CSV").click()
    text = Path(download.value.path()).read_text("utf-8")
    assert download.value.suggested_filename.startswith("safereport-oversight-")
    document = statistics(server, site)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(document["totals"]) + sum(len(t["rows"]) for t in document["tables"].values())
    for row in rows:
        if row["table"].startswith("total:"):
            assert row["count"] == str(document["totals"][row["table"].removeprefix("total:")])
            continue
        table = document["tables"][row["table"]]
        keys = [c for c in table["columns"] if c != "count"]
        (match,) = [r for r in table["rows"] if all(str(r[c]) == row[c] for c in keys)]
        assert row["count"] == str(match["count"])
    assert any(r["count"] == SUPPRESSED for r in rows)
    assert all(r["count"] == SUPPRESSED or int(r["count"]) >= 10 for r in rows)


def test_a_refused_sign_in_stays_on_the_form(page: Page, server: RunningServer, site: Site) -> None:
    sign_in(page, server, site.requester_key)
    assert page.url.endswith("/oversight/sign-in")
    assert "Sign-in refused" in page.locator("#sign-in-error").inner_text()
    screenshot(page, "oversight-sign-in-refused")
    page.goto(server.base_url + "/oversight")
    assert page.url.endswith("/oversight/sign-in")


def test_sign_out(page: Page, server: RunningServer, site: Site) -> None:
    sign_in(page, server, site.admin_key)
    assert page.url.endswith("/oversight")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()
    assert page.url.endswith("/oversight/sign-in")
    page.goto(server.base_url + "/oversight")
    assert page.url.endswith("/oversight/sign-in")


# ---------------------------------------------------------------------------------- the subject


def look_up(page: Page, server: RunningServer, reference: str, code: str) -> None:
    page.goto(server.base_url + "/subject")
    page.get_by_label("Reference").fill(reference)
    page.get_by_label("Access code").fill(code)
    page.get_by_role("button", name="Show the requests").click()
    page.wait_for_load_state()


def test_subject_sees_exactly_their_history(page: Page, server: RunningServer, site: Site) -> None:
    look_up(page, server, site.access.reference.lower(), site.access.code.replace("-", " "))
    with site.firewall() as fw:
        history = subject_history(fw, site.access.reference, site.access.code)
    assert history.entries
    screenshot(page, "subject-history")
    assert page.locator("#reference-shown").inner_text() == site.access.reference
    assert page.locator("#controller-shown").inner_text() == history.controller_name
    rows = page.locator("#history tbody tr")
    assert rows.count() == len(history.entries)
    for i, entry in enumerate(history.entries):
        row = rows.nth(i)
        assert row.get_attribute("data-log-index") == str(entry.index)
        assert row.locator('[data-field="requester"]').inner_text() == entry.requester_name
        assert row.locator('[data-field="purpose"]').inner_text() == labels.purpose(entry.purpose)
        outcome = row.locator('[data-field="outcome"]').inner_text()
        if entry.outcome == "disclosed":
            assert outcome.startswith("Disclosed:")
            assert all(labels.category(c) in outcome for c in entry.categories_disclosed)
        else:
            assert outcome == "Refused: nothing disclosed"
        direction = row.locator('[data-field="direction"]').inner_text()
        assert direction.startswith("A check" if entry.direction == "outbound" else "A request")
    assert site.access.code not in page.content()
    assert page.context.cookies() == []  # the subject view sets no cookie


def test_wrong_code_reads_like_an_unknown_reference(page: Page, server: RunningServer, site: Site) -> None:
    look_up(page, server, site.access.reference, site.other_access.code)
    wrong = page.locator("#subject-error").inner_text()
    screenshot(page, "subject-refused")
    assert page.locator("#history").count() == 0
    look_up(page, server, "SR-0000-0000", site.access.code)
    unknown = page.locator("#subject-error").inner_text()
    look_up(page, server, site.revoked_access.reference, site.revoked_access.code)
    revoked = page.locator("#subject-error").inner_text()
    assert wrong == unknown == revoked
    assert "could not show a history" in wrong
    # The form comes back empty: neither the code nor the reference is echoed.
    assert page.get_by_label("Reference").input_value() == ""
    assert page.get_by_label("Access code").input_value() == ""
