"""Outside development mode the token box is gone: the provider's button, or "not configured"."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from tests.e2e.pages.site import csrf, running_site


def test_without_a_provider_or_dev_mode_the_sign_in_page_says_it_is_not_configured(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_site(sqlite_url, tmp_path / "var", monkeypatch, DEV_IDP=False) as site:
        page = requests.get(f"{site.base}/sign-in", timeout=10)
        assert page.status_code == 200
        assert 'id="sign-in-not-configured"' in page.text
        assert "尚未配置统一身份认证登录" in page.text
        assert "<textarea" not in page.text
        assert "/dev/sign-in" not in page.text
        assert requests.get(f"{site.base}/sign-in/oidc", timeout=10).status_code == 404
        assert requests.get(f"{site.base}/dev/sign-in", timeout=10).status_code == 404
        # Nor does a pasted token sign anyone in (even with a valid form token).
        browser = requests.Session()
        form = browser.get(f"{site.base}/verify", timeout=10)
        answer = browser.post(
            f"{site.base}/sign-in",
            data={"csrf_token": csrf(form.text), "token": site.token()},
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code == 404
        assert browser.get(f"{site.base}/me", allow_redirects=False, timeout=10).status_code == 303


def test_with_a_provider_the_buttons_go_there_and_no_token_box_is_offered(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_site(
        sqlite_url,
        tmp_path / "var",
        monkeypatch,
        DEV_IDP=False,
        OIDC_ISSUER="http://127.0.0.1:9/",
        OIDC_CLIENT_ID="cehours",
    ) as site:
        home = requests.get(f"{site.base}/", timeout=10)
        assert 'id="sign-in" href="/sign-in/oidc"' in home.text
        page = requests.get(f"{site.base}/sign-in", timeout=10)
        assert 'id="sign-in-provider" href="/sign-in/oidc"' in page.text
        assert "<textarea" not in page.text
        assert "sign-in-not-configured" not in page.text
