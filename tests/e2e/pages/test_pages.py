"""Pages in a browser's shoes: sign-in and its cookie, CSRF, what pages show and never show."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import requests

from tests.e2e.pages.site import ME, OTHER, Site, csrf, running_site


def test_signing_in_sets_an_httponly_samesite_session_cookie_and_shows_my_transcript(
    site: Site,
) -> None:
    browser = requests.Session()
    form = browser.get(f"{site.base}/sign-in", timeout=10)
    answer = browser.post(
        f"{site.base}/sign-in",
        data={"csrf_token": csrf(form.text), "token": site.token()},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith("/me")
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    page = browser.get(f"{site.base}/me", timeout=10)
    assert page.status_code == 200
    assert "张三" in page.text
    assert ME[:6] + "********" + ME[-4:] in page.text
    assert "70.5" in page.text
    assert "重复登记" in page.text


def test_the_session_cookie_is_secure_unless_configured_off(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_site(sqlite_url, tmp_path / "var", monkeypatch, COOKIE_SECURE=None) as live:
        browser = requests.Session()
        form = browser.get(f"{live.base}/sign-in", timeout=10)
        assert "Secure" in form.headers["Set-Cookie"]


def test_a_forged_token_does_not_sign_in(site: Site) -> None:
    browser = requests.Session()
    form = browser.get(f"{site.base}/sign-in", timeout=10)
    header, payload, signature = site.token().split(".")
    answer = browser.post(
        f"{site.base}/sign-in",
        data={"csrf_token": csrf(form.text), "token": f"{header}.{payload}.x{signature[1:]}"},
        timeout=10,
    )
    assert answer.status_code == 401
    assert "登录失败" in answer.text
    me = browser.get(f"{site.base}/me", allow_redirects=False, timeout=10)
    assert me.status_code == 303
    assert me.headers["Location"].endswith("/sign-in")


def test_an_expired_token_does_not_sign_in(site: Site) -> None:
    browser = requests.Session()
    form = browser.get(f"{site.base}/sign-in", timeout=10)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
    token = site.idp.mint(ME, lifetime=dt.timedelta(minutes=10), now=old)
    answer = browser.post(
        f"{site.base}/sign-in", data={"csrf_token": csrf(form.text), "token": token}, timeout=10
    )
    assert answer.status_code == 401
    assert "expired" in answer.text


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/sign-in", {"token": "x.y.z"}),
        ("/me/proof", {"profile": "quzhou-annual-90"}),
        ("/sign-out", {}),
        ("/dev/sign-in", {"who": "demo"}),
        ("/verify", {"token": "x.y.z"}),
    ],
)
def test_every_form_post_without_the_csrf_token_is_refused(
    site: Site, path: str, data: dict[str, str]
) -> None:
    browser = site.signed_in()
    answer = browser.post(f"{site.base}{path}", data=data, timeout=10)
    assert answer.status_code == 403
    wrong = browser.post(
        f"{site.base}{path}", data={**data, "csrf_token": "not-the-token"}, timeout=10
    )
    assert wrong.status_code == 403


def test_a_session_call_to_the_api_that_changes_state_needs_the_csrf_header(site: Site) -> None:
    browser = site.signed_in()
    body = {"profile": "quzhou-annual-90", "as_of": "2024-12-31"}
    refused = browser.post(f"{site.base}/v1/me/attestations", json=body, timeout=10)
    assert refused.status_code == 403
    page = browser.get(f"{site.base}/me", timeout=10)
    allowed = browser.post(
        f"{site.base}/v1/me/attestations",
        json=body,
        headers={"X-CSRF-Token": csrf(page.text)},
        timeout=10,
    )
    assert allowed.status_code == 201, allowed.text
    mine = browser.get(f"{site.base}/v1/me/transcript", timeout=10)
    assert mine.json()["person_id"] == site.me


def test_signing_out_ends_the_session(site: Site) -> None:
    browser = site.signed_in()
    page = browser.get(f"{site.base}/me", timeout=10)
    browser.post(f"{site.base}/sign-out", data={"csrf_token": csrf(page.text)}, timeout=10)
    after = browser.get(f"{site.base}/me", allow_redirects=False, timeout=10)
    assert after.status_code == 303
    api = browser.get(f"{site.base}/v1/me/transcript", timeout=10)
    assert api.status_code == 401


def test_a_session_cookie_copied_before_sign_out_stops_working_at_once(site: Site) -> None:
    browser = site.signed_in()
    copy = requests.Session()
    copy.cookies.update(browser.cookies)
    assert copy.get(f"{site.base}/v1/me/transcript", timeout=10).status_code == 200
    page = browser.get(f"{site.base}/me", timeout=10)
    browser.post(f"{site.base}/sign-out", data={"csrf_token": csrf(page.text)}, timeout=10)
    # The copy still holds a cookie whose signature and expiry are good: the server refuses it.
    assert copy.get(f"{site.base}/v1/me/transcript", timeout=10).status_code == 401
    assert copy.get(f"{site.base}/me", allow_redirects=False, timeout=10).status_code == 303
    # Signing in again is a new session, which works; the ended one stays ended.
    again = site.signed_in()
    assert again.get(f"{site.base}/v1/me/transcript", timeout=10).status_code == 200
    assert copy.get(f"{site.base}/v1/me/transcript", timeout=10).status_code == 401


def test_the_compliance_page_shows_each_rule_and_its_shortfall(site: Site) -> None:
    browser = site.signed_in()
    page = browser.get(
        f"{site.base}/me/compliance",
        params={"profile": "quzhou-annual-90", "as_of": "2024-12-31"},
        timeout=10,
    )
    assert page.status_code == 200
    assert "未达要求" in page.text
    # The provincial platform's hours prevail for this person (R6): 40 of 90, 50 short.
    assert 'class="shortfall">50.0<' in page.text


def test_no_page_shows_a_full_id_number(site: Site) -> None:
    browser = site.signed_in()
    pages = [
        "/",
        "/me",
        "/me?year=2024&category=specialised",
        "/me/compliance",
        "/me/compliance?profile=quzhou-annual-90&as_of=2024-12-31",
        "/dev/sign-in",
        "/verify",
        "/sign-in",
    ]
    for path in pages:
        answer = browser.get(f"{site.base}{path}", timeout=10)
        assert answer.status_code == 200, path
        for number in (ME, OTHER):
            assert number not in answer.text, path
            assert number[:-1] not in answer.text, path


def test_the_dev_identity_provider_is_off_unless_enabled(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_site(sqlite_url, tmp_path / "var", monkeypatch, DEV_IDP=False) as live:
        assert requests.get(f"{live.base}/dev/sign-in", timeout=10).status_code == 404
        token = live.token()
        answer = requests.get(
            f"{live.base}/v1/me/transcript",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert answer.status_code == 401
        assert answer.json()["type"] == "urn:cehours:problem:identity-not-configured"


def test_the_dev_sign_in_page_signs_in_the_typed_person(site: Site) -> None:
    browser = requests.Session()
    form = browser.get(f"{site.base}/dev/sign-in", timeout=10)
    answer = browser.post(
        f"{site.base}/dev/sign-in",
        data={"csrf_token": csrf(form.text), "id_number": OTHER, "name": "李四"},
        timeout=10,
    )
    assert answer.status_code == 200
    assert "李四" in answer.text
    assert "77.5" in answer.text
    assert OTHER not in answer.text


def test_pages_send_a_strict_content_security_policy(site: Site) -> None:
    answer = requests.get(f"{site.base}/", timeout=10)
    assert "default-src 'none'" in answer.headers["Content-Security-Policy"]
    css = requests.get(f"{site.base}/assets/pages.css", timeout=10)
    assert css.status_code == 200
    assert "http" not in css.text


def test_verification_works_where_browser_sign_in_is_not_configured(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_site(sqlite_url, tmp_path / "var", monkeypatch, SECRET_KEY=None) as live:
        issued = requests.post(
            f"{live.base}/v1/attestations",
            json={"person_id": live.me, "profile": "quzhou-annual-90", "as_of": "2024-12-31"},
            headers={"Authorization": f"Bearer {live.keys['filing']}"},
            timeout=10,
        )
        assert issued.status_code == 201, issued.text
        page = requests.get(f"{live.base}/verify/{issued.json()['jti']}", timeout=10)
        assert page.status_code == 200
        assert 'data-status="valid"' in page.text
        assert requests.get(f"{live.base}/me", timeout=10).status_code == 503


def test_a_person_with_no_hours_yet_signs_in_to_an_empty_transcript(site: Site) -> None:
    from tests.factories import id_number

    browser = requests.Session()
    form = browser.get(f"{site.base}/sign-in", timeout=10)
    answer = browser.post(
        f"{site.base}/sign-in",
        data={"csrf_token": csrf(form.text), "token": site.token(id_number(3), "王五")},
        timeout=10,
    )
    assert answer.status_code == 200
    assert "尚无学时记录" in answer.text
    proof = browser.post(
        f"{site.base}/me/proof",
        data={"csrf_token": csrf(answer.text), "profile": "quzhou-annual-90"},
        timeout=10,
    )
    assert proof.status_code == 404
