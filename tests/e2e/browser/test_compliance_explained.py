"""The compliance page in Chromium, on a phone and a desktop: the explanation is listed, the
chart is drawn (bars and the rule's line) and nothing is wider than the screen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.pages.site import ME, Site

pytestmark = pytest.mark.browser
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}


@pytest.mark.parametrize("device", list(VIEWPORTS))
def test_the_compliance_page_explains_the_shortfall_and_fits_the_screen(
    browser: Any, site: Site, artifacts: Path, device: str
) -> None:
    viewport = VIEWPORTS[device]
    context = browser.new_context(viewport=viewport, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(f"{site.base}/dev/sign-in")
        page.fill("#id_number", ME)
        page.fill("#name", "张三")
        page.click("text=登录 Sign in >> nth=-1")
        page.wait_for_url(f"{site.base}/me")
        page.click("#to-compliance")
        page.select_option("#profile", "quzhou-annual-90")
        page.fill("#as_of", "2024-12-31")
        page.click("#check")
        page.wait_for_selector("#explanation")
        # Under R6 the industry platform's hours prevail (seed 002_3f11e0b9a6581793.txt): the
        # city's two courses are not of record and its copy of the shared course counts once.
        assert page.locator("#explanation [data-reason='not_authoritative']").count() == 2
        duplicate = page.locator("#explanation [data-reason='duplicate']")
        assert duplicate.count() == 1
        assert "只计一次" in duplicate.inner_text()
        assert "年度学时合计" in duplicate.inner_text()
        assert "相差 30.5 学时" in page.inner_text("#reconcile")
        svg = page.locator("#chart figure[data-rule='total'] svg")
        assert svg.count() == 1
        assert svg.locator("rect.bar").count() == 1  # 2024: 40 specialised hours
        assert svg.locator("line.rule-line").count() == 1
        box = svg.bounding_box()
        assert box is not None
        assert box["width"] <= viewport["width"]
        assert box["height"] > 40
        # The line is drawn at 90 of the panel's 90: at the bars' right end, beyond the bar.
        bar = svg.locator("rect.bar").bounding_box()
        line = svg.locator("line.rule-line").bounding_box()
        assert bar is not None
        assert line is not None
        assert line["x"] > bar["x"] + bar["width"]
        width, inner = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        assert width <= inner
        page.screenshot(path=str(artifacts / f"compliance-explained-{device}.png"), full_page=True)
    finally:
        context.close()
