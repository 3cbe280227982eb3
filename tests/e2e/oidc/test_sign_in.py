"""Signing in through a real OpenID Provider (oidc-provider on loopback), and what is refused."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urljoin

import requests
from flask import Flask

from tests.e2e.oidc.conftest import OidcSite
from tests.e2e.oidc.flow import follow_until, sign_in, submit, to_callback
from tests.e2e.oidc.provider import signing_key
from tests.e2e.pages.site import ME, csrf

MASKED = ME[:6] + "********" + ME[-4:]
SECRET_KEY = "test-secret-key-" + "x" * 32  # running_site's


def _signed_in(answer: requests.Response) -> bool:
    return answer.url.endswith("/me") and 'id="person-id"' in answer.text


def test_signing_in_at_the_provider_shows_my_transcript_with_my_masked_number(
    oidc_site: OidcSite,
) -> None:
    browser = requests.Session()
    callback = to_callback(browser, oidc_site.base)
    assert callback.startswith(f"{oidc_site.base}/sign-in/callback?code=")
    assert ME not in callback
    page = browser.get(callback, timeout=10)
    assert page.status_code == 200, page.text[:500]
    assert _signed_in(page)
    assert "张三" in page.text
    assert MASKED in page.text
    assert ME not in page.text
    # The session cookie holds neither the number nor a readable ID token (which carries it):
    # the ID token kept for the logout is encrypted.
    held = json.dumps(_session_data(browser))
    assert MASKED in held
    assert ME not in held
    assert "eyJ" not in held


def test_a_forged_state_is_refused_with_a_page(oidc_site: OidcSite) -> None:
    browser = requests.Session()
    callback = to_callback(browser, oidc_site.base)
    forged = re.sub(r"state=[^&]+", "state=forged-by-someone", callback)
    answer = browser.get(forged, timeout=10)
    assert answer.status_code == 400
    assert answer.headers["Content-Type"].startswith("text/html")
    assert "登录请求已失效" in answer.text
    assert not _signed_in(browser.get(f"{oidc_site.base}/me", timeout=10))


def test_a_replayed_code_is_refused(oidc_site: OidcSite) -> None:
    browser = requests.Session()
    callback = to_callback(browser, oidc_site.base)
    assert _signed_in(browser.get(callback, timeout=10))
    # The same answer again: its state was used up.
    again = requests.Session()
    assert again.get(callback, timeout=10).status_code == 400
    # The old code with a fresh state of this browser's own: the provider refuses the code.
    fresh = to_callback(again, oidc_site.base)
    state = re.search(r"state=([^&]+)", fresh)
    assert state is not None
    replay = re.sub(r"state=[^&]+", f"state={state.group(1)}", callback)
    answer = again.get(replay, timeout=10)
    assert answer.status_code == 400, answer.text[:500]
    assert "拒绝" in answer.text
    assert not _signed_in(again.get(f"{oidc_site.base}/me", timeout=10))


def _signer() -> Any:
    """The serializer of running_site's session cookies (the test knows its secret key)."""
    app = Flask(__name__)
    app.secret_key = SECRET_KEY
    return app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]


def _session_data(browser: requests.Session) -> dict[str, Any]:
    cookie = next(c for c in browser.cookies if c.name == "cehours_session")
    return dict(_signer().loads(cookie.value))


def _tamper_nonce(browser: requests.Session) -> None:
    """Change the nonce this browser's session expects (as if the ID token were another's)."""
    signer = _signer()
    cookie = next(c for c in browser.cookies if c.name == "cehours_session")
    data = signer.loads(cookie.value)
    states = [k for k in data if k.startswith("_state_")]
    assert len(states) == 1
    data[states[0]]["data"]["nonce"] = "another-nonce"
    browser.cookies.set(
        "cehours_session", signer.dumps(data), domain=cookie.domain, path=cookie.path
    )


def test_an_id_token_with_another_nonce_is_refused(oidc_site: OidcSite) -> None:
    browser = requests.Session()
    answer = browser.get(f"{oidc_site.base}/sign-in/oidc", allow_redirects=False, timeout=10)
    _tamper_nonce(browser)
    login = follow_until(browser, answer, f"{oidc_site.base}/")
    assert isinstance(login, requests.Response)
    consent = follow_until(browser, submit(browser, login, {"login": "zhangsan"}), "http://x/")
    assert isinstance(consent, requests.Response)
    callback = follow_until(browser, submit(browser, consent, {}), f"{oidc_site.base}/")
    assert isinstance(callback, str)
    refused = browser.get(callback, timeout=10)
    assert refused.status_code == 401
    assert "身份令牌无法验证" in refused.text
    assert not _signed_in(browser.get(f"{oidc_site.base}/me", timeout=10))


def test_declining_at_the_provider_is_a_page_saying_so(oidc_site: OidcSite) -> None:
    browser = requests.Session()
    answer = browser.get(f"{oidc_site.base}/sign-in/oidc", allow_redirects=False, timeout=10)
    login = follow_until(browser, answer, f"{oidc_site.base}/")
    assert isinstance(login, requests.Response)
    cancel = re.search(r'href="([^"]*/abort)"', login.text)
    assert cancel is not None, "the provider's login page offers [ Cancel ]"
    aborted = browser.get(urljoin(login.url, cancel.group(1)), allow_redirects=False, timeout=10)
    callback = follow_until(browser, aborted, f"{oidc_site.base}/")
    assert isinstance(callback, str)
    assert "error=access_denied" in callback
    page = browser.get(callback, timeout=10)
    assert page.status_code == 401
    assert "您已取消登录" in page.text
    assert not _signed_in(browser.get(f"{oidc_site.base}/me", timeout=10))


def test_a_provider_that_cannot_be_reached_is_a_503_page(oidc_site: OidcSite) -> None:
    # Down before anyone signed in: its discovery document cannot be read.
    oidc_site.op.stop()
    answer = requests.get(f"{oidc_site.base}/sign-in/oidc", allow_redirects=False, timeout=20)
    assert answer.status_code == 503
    assert answer.headers["Retry-After"]
    assert answer.headers["Content-Type"].startswith("text/html")
    assert "统一身份认证暂时无法访问" in answer.text
    # Down between the login and the callback: the code cannot be exchanged.
    oidc_site.op.start([signing_key("k1")])
    browser = requests.Session()
    callback = to_callback(browser, oidc_site.base)
    oidc_site.op.stop()
    answer = browser.get(callback, timeout=20)
    assert answer.status_code == 503, answer.text[:500]
    assert "统一身份认证暂时无法访问" in answer.text


def test_a_new_signing_key_at_the_provider_is_fetched_and_sign_in_still_works(
    oidc_site: OidcSite,
) -> None:
    assert _signed_in(sign_in(requests.Session(), oidc_site.base))
    # The provider rotates: k2 signs from now on, k1 is gone. Our cached JWKS knows only k1.
    oidc_site.op.restart([signing_key("k2")])
    jwks = requests.get(f"{oidc_site.op.issuer}/jwks", timeout=5).json()
    assert [k["kid"] for k in jwks["keys"]] == ["k2"]
    assert _signed_in(sign_in(requests.Session(), oidc_site.base))


def test_a_provider_vouching_for_an_invalid_id_number_signs_nobody_in(
    oidc_site: OidcSite,
) -> None:
    browser = requests.Session()
    answer = sign_in(browser, oidc_site.base, login="mistyped")
    assert answer.status_code == 401
    assert "未提供有效的公民身份号码" in answer.text
    assert ME[:-1] not in answer.text
    assert not _signed_in(browser.get(f"{oidc_site.base}/me", timeout=10))


def test_signing_out_goes_through_the_provider_and_ends_the_session(
    oidc_site: OidcSite,
) -> None:
    browser = requests.Session()
    me = sign_in(browser, oidc_site.base)
    assert _signed_in(me)
    old_cookie = browser.cookies.get("cehours_session")
    out = browser.post(f"{oidc_site.base}/sign-out", data={"csrf_token": csrf(me.text)}, timeout=10)
    assert out.status_code == 200
    end_session = f"{oidc_site.op.issuer}/session/end"
    assert f'action="{end_session}"' in out.text
    assert 'name="id_token_hint"' in out.text
    assert f"form-action 'self' {oidc_site.op.issuer}" in out.headers["Content-Security-Policy"]
    confirm = submit(browser, out, {})
    confirm_page = follow_until(browser, confirm, f"{oidc_site.base}/")
    assert isinstance(confirm_page, requests.Response), "the provider asks to confirm"
    back = follow_until(browser, submit(browser, confirm_page, {"logout": "yes"}), "x://")
    assert isinstance(back, requests.Response)
    assert back.url == f"{oidc_site.base}/signed-out", back.url
    assert "您已安全退出" in back.text
    # A copy of the old cookie signs nobody in.
    stale = requests.Session()
    stale.cookies.set("cehours_session", old_cookie)
    assert stale.get(f"{oidc_site.base}/me", allow_redirects=False, timeout=10).status_code == 303


def test_a_provider_that_gives_the_id_number_by_userinfo_only_signs_people_in(
    oidc_site: OidcSite,
) -> None:
    oidc_site.op.userinfo_only = True
    oidc_site.op.restart([signing_key("k1")])
    browser = requests.Session()
    callback = to_callback(browser, oidc_site.base)
    page = browser.get(callback, timeout=10)
    assert _signed_in(page), page.text[:500]
    assert MASKED in page.text
    assert "张三" in page.text
