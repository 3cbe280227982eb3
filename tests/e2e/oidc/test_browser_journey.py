"""A person in headless Chromium, on a phone and on a desktop: 登录 at the real provider, the
transcript, compliance, the proof PDF and its QR code, and signing out through the provider."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.oidc.conftest import OidcSite
from tests.e2e.pages.site import ME
from tests.e2e.paper import qr_on_first_page

pytestmark = pytest.mark.browser
TOOLS = ("pdftoppm", "zbarimg")
MISSING = [t for t in TOOLS if shutil.which(t) is None]
if MISSING and os.environ.get("CI", "").lower() == "true":
    pytest.fail(f"CI=true but {MISSING} are missing: run scripts/system-deps.sh")
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}
MASKED = ME[:6] + "********" + ME[-4:]


def _sign_in_at_the_provider(page: Any, oidc_site: OidcSite, shot: Path | None = None) -> None:
    page.goto(f"{oidc_site.base}/")
    page.click("#sign-in")
    page.wait_for_url(f"{oidc_site.op.issuer}/interaction/**")
    if shot is not None:
        page.screenshot(path=str(shot))
    page.fill("input[name=login]", "zhangsan")
    page.fill("input[name=password]", "any password")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Continue")
    page.click("text=Continue")
    page.wait_for_url(f"{oidc_site.base}/me")


@pytest.mark.skipif(bool(MISSING), reason=f"missing {MISSING} (scripts/system-deps.sh)")
@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_sign_in_at_the_provider_transcript_compliance_proof_and_sign_out(
    browser: Any, oidc_site: OidcSite, artifacts: Path, tmp_path: Path, device: str
) -> None:
    context = browser.new_context(viewport=VIEWPORTS[device], locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    try:
        _sign_in_at_the_provider(page, oidc_site, artifacts / f"oidc-provider-login-{device}.png")
        assert page.inner_text("#person-name") == "张三"
        assert page.inner_text("#person-id") == MASKED
        assert ME not in page.content()
        page.screenshot(path=str(artifacts / f"oidc-transcript-{device}.png"), full_page=True)

        page.click("#to-compliance")
        page.select_option("#profile", "quzhou-annual-90")
        page.fill("#as_of", "2024-12-31")
        page.click("#check")
        page.wait_for_selector("#verdict")
        assert "未达要求" in page.inner_text("#verdict")
        page.screenshot(path=str(artifacts / f"oidc-compliance-{device}.png"), full_page=True)

        with page.expect_download() as download_info:
            page.click("#download-proof")
        saved = tmp_path / "proof.pdf"
        download_info.value.save_as(saved)
        assert saved.read_bytes().startswith(b"%PDF")
        url = qr_on_first_page(saved, tmp_path)
        assert url.startswith(f"{oidc_site.base}/verify/att_")
        page.goto(url)
        assert page.locator("[data-status='valid']").count() >= 1
        page.screenshot(path=str(artifacts / f"oidc-verify-{device}.png"), full_page=True)

        old_cookies = context.cookies(oidc_site.base)
        page.goto(f"{oidc_site.base}/me")
        page.click("text=退出 Sign out")
        # Our page POSTs the logout to the provider's end_session_endpoint; it asks to confirm.
        page.wait_for_url(f"{oidc_site.op.issuer}/session/end**")
        page.screenshot(path=str(artifacts / f"oidc-provider-sign-out-{device}.png"))
        page.click("button[name=logout][value=yes]")
        page.wait_for_url(f"{oidc_site.base}/signed-out")
        assert "您已安全退出" in page.inner_text("#signed-out")
        page.screenshot(path=str(artifacts / f"oidc-signed-out-{device}.png"), full_page=True)
        page.goto(f"{oidc_site.base}/me")
        assert page.url == f"{oidc_site.base}/sign-in"

        # The cookie from before the sign-out, replayed in a fresh browser, signs nobody in.
        replay = browser.new_context(viewport=VIEWPORTS[device])
        try:
            replay.add_cookies(old_cookies)
            stale = replay.new_page()
            stale.goto(f"{oidc_site.base}/me")
            assert stale.url == f"{oidc_site.base}/sign-in"
        finally:
            replay.close()
    finally:
        context.close()


def test_a_forged_callback_in_the_browser_is_a_chinese_page_not_an_error(
    browser: Any, oidc_site: OidcSite, artifacts: Path
) -> None:
    context = browser.new_context(viewport=VIEWPORTS["phone"], locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(f"{oidc_site.base}/sign-in")
        page.click("#sign-in-provider")
        page.wait_for_url(f"{oidc_site.op.issuer}/interaction/**")
        answer = page.goto(f"{oidc_site.base}/sign-in/callback?code=stolen&state=forged")
        assert answer is not None
        assert answer.status == 400
        assert page.inner_text("h1").startswith("登录未成功")
        assert "登录请求已失效" in page.inner_text("#sign-in-error")
        page.screenshot(path=str(artifacts / "oidc-sign-in-failed-phone.png"), full_page=True)
        page.goto(f"{oidc_site.base}/me")
        assert page.url == f"{oidc_site.base}/sign-in"
    finally:
        context.close()
