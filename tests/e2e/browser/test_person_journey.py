"""A person on a phone: sign in, read the transcript, check a profile, download the proof."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.pages.site import ME, Site

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def test_sign_in_see_transcript_check_a_profile_and_download_the_proof(
    browser: Any, site: Site, artifacts: Path, tmp_path: Path
) -> None:
    context = browser.new_context(viewport=PHONE, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    try:
        page.goto(f"{site.base}/")
        page.click("text=开发用登录 Dev sign-in")
        page.fill("#id_number", ME)
        page.fill("#name", "张三")
        page.click("text=登录 Sign in >> nth=-1")
        page.wait_for_url(f"{site.base}/me")
        totals = page.locator("#totals tr[data-year='2024']")
        assert "70.5" in totals.inner_text()
        assert page.locator(".entry[data-status='duplicate']").count() == 1
        page.screenshot(path=str(artifacts / "transcript-phone.png"), full_page=True)
        assert ME not in page.content()

        page.click("#to-compliance")
        page.select_option("#profile", "quzhou-annual-90")
        page.fill("#as_of", "2024-12-31")
        page.click("#check")
        page.wait_for_selector("#verdict")
        assert "未达要求" in page.inner_text("#verdict")
        assert page.inner_text("#rules .shortfall") == "50.0"
        page.screenshot(path=str(artifacts / "compliance-phone.png"), full_page=True)

        with page.expect_download() as download_info:
            page.click("#download-proof")
        download = download_info.value
        saved = tmp_path / "proof.pdf"
        download.save_as(saved)
        assert saved.read_bytes().startswith(b"%PDF")
        assert download.suggested_filename.endswith(".pdf")
    finally:
        context.close()


def test_the_verification_page_reads_well_on_a_phone(
    browser: Any, site: Site, artifacts: Path
) -> None:
    import requests

    issued = requests.post(
        f"{site.base}/v1/me/attestations",
        json={"profile": "quzhou-annual-90", "as_of": "2024-12-31"},
        headers=site.bearer(),
        timeout=10,
    ).json()
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(f"{site.base}/verify/{issued['jti']}")
        assert "有效" in page.inner_text("#status-line")
        # Nothing wider than the phone: no sideways scrolling of the page itself.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"]
        page.screenshot(path=str(artifacts / "verify-phone.png"), full_page=True)
    finally:
        context.close()
