"""The oversight and subject pages over real HTTP: `safereport serve` in a subprocess, on a
store filled with a small synthetic workload."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from safereport import apikeys
from safereport.oversight import SUPPRESSED
from safereport.subjects import subject_history
from safereport.web import session
from tests.http_server import RunningServer, auth, start_server
from tests.web_support import Site, build_site, expected_cells, figure_cells, leaked


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return build_site(tmp_path_factory.mktemp("web-pages"), seed=11, records=1_500, requests=400)


@pytest.fixture(scope="module")
def server(site: Site) -> Iterator[RunningServer]:
    with start_server(site.db_url, site.home, {"SAFEREPORT_SUBJECT_RATE_LIMIT": "0"}) as running:
        yield running


@pytest.fixture
def client(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as c:
        yield c


def signed_in(client: httpx.Client, key: str) -> httpx.Client:
    response = client.post("/oversight/sign-in", data={"api_key": key})
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/oversight"
    return client


def cookie_for(site: Site, key_id: str, expires: int) -> str:
    secret = bytes.fromhex((site.home / "keys" / session.SECRET_FILE).read_text().strip())
    message = f"safereport-oversight-session-v1\x00{key_id}\x00{expires}".encode()
    return f"{key_id}.{expires}.{hmac.new(secret, message, hashlib.sha256).hexdigest()}"


# ---------------------------------------------------------------------------------- signing in


def test_oversight_needs_sign_in(client: httpx.Client) -> None:
    page = client.get("/oversight")
    assert page.status_code == 303 and page.headers["location"] == "/oversight/sign-in"
    form = client.get("/oversight/sign-in")
    assert form.status_code == 200
    assert '<label for="api_key">' in form.text and 'id="api_key"' in form.text
    assert "The national picture" not in form.text
    csv_export = client.get("/oversight/export.csv")
    assert csv_export.status_code == 401
    assert csv_export.json()["error"]["code"] == "not_authenticated"


def test_wrong_keys_are_refused_alike(client: httpx.Client, site: Site) -> None:
    refusals = [
        client.post("/oversight/sign-in", data={"api_key": key})
        for key in (
            "sr_0123456789abcdef_not-a-real-secret",
            site.requester_key,  # live, but not an oversight role
            site.revoked_oversight_key,
            site.oversight_key[:-2] + "xx",
            "",
        )
    ]
    assert {r.status_code for r in refusals} == {401}
    assert len({r.text for r in refusals}) == 1
    assert all("set-cookie" not in r.headers for r in refusals)
    assert "Sign-in refused" in refusals[0].text


def test_sign_in_sets_a_signed_strict_httponly_cookie(client: httpx.Client, site: Site) -> None:
    response = client.post("/oversight/sign-in", data={"api_key": site.oversight_key})
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "samesite", "path", "max-age"} <= attributes
    assert "samesite=strict" in cookie.lower() and "path=/oversight" in cookie.lower()
    value = cookie.split(";")[0].split("=", 1)[1]
    key_id, expires, signature = value.split(".")
    assert site.oversight_key.startswith(f"sr_{key_id}_")
    assert site.oversight_key.split("_", 2)[2] not in cookie
    assert 0 < int(expires) - datetime.now(UTC).timestamp() <= session.LIFETIME.total_seconds()
    assert len(signature) == 64
    assert client.get("/oversight").status_code == 200


def test_admin_may_sign_in_too(client: httpx.Client, site: Site) -> None:
    assert signed_in(client, site.admin_key).get("/oversight").status_code == 200


def test_forged_expired_and_revoked_sessions_are_refused(
    client: httpx.Client, site: Site, server: RunningServer
) -> None:
    signed_in(client, site.oversight_key)
    genuine = client.cookies.get(session.COOKIE)
    assert genuine
    later = int((datetime.now(UTC) + timedelta(minutes=30)).timestamp())
    past = int((datetime.now(UTC) - timedelta(minutes=1)).timestamp())
    too_far = int((datetime.now(UTC) + timedelta(days=30)).timestamp())
    key_id = genuine.split(".")[0]
    forged = [
        genuine[:-1] + ("0" if genuine[-1] != "0" else "1"),  # signature altered
        f"{key_id}.{later}.{genuine.split('.')[2]}",  # expiry extended, old signature
        cookie_for(site, key_id, past),  # genuinely signed, expired
        cookie_for(site, key_id, too_far),  # genuinely signed, beyond any session's lifetime
        cookie_for(site, site.requester_key_id, later),  # a live key without an oversight role
        cookie_for(site, site.revoked_oversight_key_id, later),  # a revoked key
        "garbage",
    ]
    with httpx.Client(base_url=server.base_url) as fresh:
        for value in forged:
            fresh.cookies.set(session.COOKIE, value, path="/oversight")
            page = fresh.get("/oversight")
            assert page.status_code == 303, value
            assert fresh.get("/oversight/export.csv").status_code == 401
        fresh.cookies.set(session.COOKIE, cookie_for(site, key_id, later), path="/oversight")
        assert fresh.get("/oversight").status_code == 200  # the control: a good forgery needs the secret


def test_revoking_the_key_ends_its_session(client: httpx.Client, site: Site) -> None:
    with site.firewall() as fw:
        made = apikeys.create_key(fw.store, "hm-courts-tribunals-service", "oversight")
    signed_in(client, made.token)
    assert client.get("/oversight").status_code == 200
    with site.firewall() as fw:
        apikeys.revoke_key(fw.store, made.key.key_id)
    assert client.get("/oversight").status_code == 303


def test_sign_out_clears_the_cookie(client: httpx.Client, site: Site) -> None:
    signed_in(client, site.oversight_key)
    out = client.post("/oversight/sign-out")
    assert out.status_code == 303 and out.headers["location"] == "/oversight/sign-in"
    assert session.COOKIE not in client.cookies
    assert client.get("/oversight").status_code == 303


# ---------------------------------------------------------------------------------- the figures


def test_page_shows_the_published_statistics(client: httpx.Client, site: Site) -> None:
    document = client.get("/v1/oversight/statistics", headers=auth(site.oversight_key)).json()
    assert document["published"] is True
    page = signed_in(client, site.oversight_key).get("/oversight")
    assert page.status_code == 200
    cells = figure_cells(page.text)
    expected = expected_cells(document)
    assert cells == expected
    assert any(v == SUPPRESSED for v in cells.values())
    assert any(v != SUPPRESSED for v in cells.values())
    for value in cells.values():
        assert value == SUPPRESSED or int(value.replace(",", "")) >= 10
    for controller in document["controllers"]:
        assert f'data-controller="{controller["controller"]}"' in page.text
    assert document["checkpoint"]["root"] in page.text
    assert "<svg" in page.text and "<script" not in page.text
    assert leaked(page.text, site.personal_values) == []


def test_csv_export(client: httpx.Client, site: Site) -> None:
    document = client.get("/v1/oversight/statistics", headers=auth(site.oversight_key)).json()
    by_session = signed_in(client, site.oversight_key).get("/oversight/export.csv")
    assert by_session.status_code == 200
    assert by_session.headers["content-type"].startswith("text/csv")
    assert "attachment" in by_session.headers["content-disposition"]
    by_key = httpx.get(client.base_url.join("/oversight/export.csv"), headers=auth(site.oversight_key))
    assert by_key.status_code == 200 and by_key.text == by_session.text
    forbidden = httpx.get(client.base_url.join("/oversight/export.csv"), headers=auth(site.requester_key))
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "not_permitted"
    rows = list(csv.DictReader(io.StringIO(by_session.text)))
    for row in rows:
        if row["table"].startswith("total:"):
            assert row["count"] == str(document["totals"][row["table"].removeprefix("total:")])
            continue
        table = document["tables"][row["table"]]
        keys = [c for c in table["columns"] if c != "count"]
        (match,) = [r for r in table["rows"] if all(str(r[c]) == row[c] for c in keys)]
        assert row["count"] == str(match["count"])
        assert row["count"] == SUPPRESSED or int(row["count"]) >= 10
    assert len(rows) == len(document["totals"]) + sum(len(t["rows"]) for t in document["tables"].values())
    assert leaked(by_session.text, site.personal_values) == []


# ---------------------------------------------------------------------------------- the subject view


def test_subject_form_and_history(client: httpx.Client, site: Site) -> None:
    form = client.get("/subject")
    assert form.status_code == 200
    assert '<label for="reference">' in form.text and '<label for="code">' in form.text
    page = client.post("/subject", data={"reference": site.access.reference, "code": site.access.code})
    assert page.status_code == 200
    assert "set-cookie" not in page.headers
    with site.firewall() as fw:
        history = subject_history(fw, site.access.reference, site.access.code)
    assert history.entries
    assert page.text.count("<tr data-log-index=") == len(history.entries)
    for entry in history.entries:
        assert f'<tr data-log-index="{entry.index}">' in page.text
    assert site.access.code not in page.text
    other = client.post(
        "/subject", data={"reference": site.other_access.reference, "code": site.other_access.code}
    )
    with site.firewall() as fw:
        theirs = {
            e.index for e in subject_history(fw, site.other_access.reference, site.other_access.code).entries
        }
    assert not theirs & {e.index for e in history.entries}
    for index in theirs:
        assert f'data-log-index="{index}"' not in page.text
        assert f'data-log-index="{index}"' in other.text


def test_subject_refusals_are_identical(client: httpx.Client, site: Site) -> None:
    attempts = [
        {"reference": site.access.reference, "code": site.other_access.code},  # wrong code
        {"reference": "SR-0000-0000", "code": site.access.code},  # unknown reference
        {"reference": site.revoked_access.reference, "code": site.revoked_access.code},  # revoked
        {"reference": "nonsense", "code": "x"},  # malformed
        {"reference": "", "code": ""},
    ]
    refusals = [client.post("/subject", data=form) for form in attempts]
    assert {r.status_code for r in refusals} == {401}
    assert len({r.text for r in refusals}) == 1
    assert "could not show a history" in refusals[0].text
    assert "data-log-index" not in refusals[0].text


def test_forms_must_be_forms(client: httpx.Client, site: Site) -> None:
    as_json = client.post("/subject", json={"reference": site.access.reference, "code": site.access.code})
    assert as_json.status_code == 400 and "data-log-index" not in as_json.text
    too_big = client.post("/subject", data={"reference": "x" * 10_000, "code": "y"})
    assert too_big.status_code == 400


def test_pages_carry_security_headers_and_no_script(client: httpx.Client, site: Site) -> None:
    pages = [
        client.get("/oversight/sign-in"),
        client.get("/subject"),
        client.post("/subject", data={"reference": site.access.reference, "code": site.access.code}),
        signed_in(client, site.oversight_key).get("/oversight"),
    ]
    for page in pages:
        assert page.status_code == 200
        assert "default-src 'none'" in page.headers["content-security-policy"]
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["cache-control"] == "no-store"
        assert "<script" not in page.text
        assert '<html lang="en-GB">' in page.text
    css = client.get("/web/safereport.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_pages_are_not_in_the_openapi_document(client: httpx.Client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith(("/oversight", "/subject", "/web"))]


def test_store_failure_means_503_and_nothing_shown(tmp_path: Path, site: Site) -> None:
    # A server whose store is destroyed under it answers 503 pages, not figures.
    copy = tmp_path / "copy"
    shutil.copytree(Path(site.db_url.removeprefix("sqlite:///")).parent, copy)
    url = f"sqlite:///{copy / 'site.db'}"
    with start_server(url, copy / "home") as running, httpx.Client(base_url=running.base_url) as c:
        c.post("/oversight/sign-in", data={"api_key": site.oversight_key})
        assert c.get("/oversight").status_code == 200
        # Overwritten in place (the server's open connections see it): no longer a database.
        for name in ("site.db", "site.db-wal", "site.db-shm"):
            target = copy / name
            if target.exists():
                with target.open("r+b") as handle:
                    handle.write(b"\xff" * target.stat().st_size)
        for response in (
            c.get("/oversight"),
            c.post("/subject", data={"reference": site.access.reference, "code": site.access.code}),
        ):
            assert response.status_code == 503, response.text
            assert "Nothing was disclosed" in response.text
            assert "data-table" not in response.text and "data-log-index" not in response.text


def test_subject_look_ups_are_rate_limited_per_address(site: Site) -> None:
    # The service's defaults: a burst of 5 look-ups, then one every 5 seconds.
    with start_server(site.db_url, site.home) as running, httpx.Client(base_url=running.base_url) as c:
        statuses = [
            c.post("/subject", data={"reference": "SR-0000-0000", "code": "x"}).status_code for _ in range(8)
        ]
        assert statuses[0] == 401 and statuses[-1] == 429
        limited = c.post("/subject", data={"reference": site.access.reference, "code": site.access.code})
        assert limited.status_code == 429 and "data-log-index" not in limited.text
        assert c.post("/oversight/sign-in", data={"api_key": site.oversight_key}).status_code == 303
