"""A reviewing office checks proofs in a browser, on a phone and at a desk: valid, revoked,
expired, stale and forged proofs each say so in their headline, text and colour; a code typed
from paper leads to the same page as the QR code."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from ledger.access.clients import create_client
from ledger.attestations.issuance import issue_attestation
from ledger.compliance.catalogue import catalogue
from tests.e2e.pages.site import ME, Site, csrf
from tests.e2e.paper import pdf_text, qr_on_first_page

pytestmark = pytest.mark.browser
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}
PROFILE = "quzhou-annual-90"
# The card's left border: green, amber, red (pages.css .ok, .warn, .bad).
COLOURS = {"ok": "rgb(46, 139, 79)", "warn": "rgb(212, 138, 0)", "bad": "rgb(198, 40, 40)"}


@pytest.fixture(params=sorted(VIEWPORTS))
def page(request: pytest.FixtureRequest, browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORTS[request.param], locale="zh-CN")
    tab = context.new_page()
    tab.viewport_name = request.param
    try:
        yield tab
    finally:
        context.close()


def _issue(site: Site, as_of: str = "2024-12-31") -> dict[str, Any]:
    answer = requests.post(
        f"{site.base}/v1/me/attestations",
        json={"profile": PROFILE, "as_of": as_of},
        headers=site.bearer(),
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _check(page: Any, artifacts: Path, state: str, tone: str, words: list[str]) -> str:
    """The outcome card says ``state`` in its colour, with ``words``; the page fits the phone."""
    # After a form's POST the outcome can be in the DOM before the stylesheet has loaded (a
    # loaded machine): its colour is read once the page has loaded, stylesheet included.
    page.wait_for_load_state("load")
    outcome = page.locator("#outcome")
    assert outcome.get_attribute("data-status") == state
    border = outcome.evaluate("e => getComputedStyle(e).borderLeftColor")
    assert border == COLOURS[tone]
    text = outcome.inner_text()
    for word in words:
        assert word in text, text
    if state != "valid":
        assert "有效" not in page.inner_text("#status-line")
        assert "当前有效" not in text
    body = page.inner_text("main")
    for english_status in ("stale", "revoked", "expired", "genuine", "live"):
        assert not re.search(rf"\b{english_status}\b", body), (english_status, body)
    assert ME not in page.content()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"]
    page.screenshot(
        path=str(artifacts / f"verify-{state}-{page.viewport_name}.png"), full_page=True
    )
    return text


def test_a_valid_proof_says_valid_with_the_profile_dates_and_issuer(
    page: Any, site: Site, artifacts: Path
) -> None:
    issued = _issue(site)
    page.goto(f"{site.base}/verify/{issued['jti']}")
    text = _check(page, artifacts, "valid", "ok", ["有效", "继续教育学时登记服务(演示)"])
    assert "请核对" in text
    assert page.inner_text("#claimed-name") == "张三"
    title = catalogue().get(PROFILE).title_zh
    assert page.inner_text("#profile-title").startswith(title)  # the profile's Chinese title
    issued_at = page.inner_text("#issued-at")
    expires_at = page.inner_text("#expires-at")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", issued_at)  # Asia/Shanghai, minutes
    expires = dt.datetime.fromisoformat(issued["expires_at"]).astimezone(
        dt.timezone(dt.timedelta(hours=8))
    )
    assert expires_at == expires.strftime("%Y-%m-%d %H:%M")
    assert page.locator("#not-current").count() == 0


def test_a_revoked_proof_says_revoked_and_to_contact_the_issuer(
    page: Any, site: Site, artifacts: Path
) -> None:
    issued = _issue(site)
    _, admin = create_client(site.session, name="auditor", role="admin")
    revoked = requests.post(
        f"{site.base}/v1/attestations/{issued['jti']}/revocation",
        json={"reason": "材料弄虚作假"},
        headers={"Authorization": f"Bearer {admin}"},
        timeout=10,
    )
    assert revoked.status_code == 200, revoked.text
    page.goto(f"{site.base}/verify/{issued['jti']}")
    text = _check(page, artifacts, "revoked", "bad", ["已撤销", "请勿采信", "联系签发单位"])
    assert "继续教育学时登记服务(演示)" in text
    assert "弄虚作假" not in page.content()  # the operator's reason stays in the audit trail
    assert page.locator("#not-current").count() == 1


def test_an_expired_proof_says_expired_and_to_re_issue_it(
    page: Any, site: Site, artifacts: Path
) -> None:
    # Issued 100 days ago (the issuance's clock), so its 90 days ran out 10 days ago.
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=100)
    issued = issue_attestation(
        site.session,
        site.me,
        PROFILE,
        dt.date(2024, 12, 31),
        None,
        "test",
        status_base=site.base,
        clock=lambda: long_ago,
    )
    page.goto(f"{site.base}/verify/{issued.jti}")
    text = _check(page, artifacts, "expired", "warn", ["已过期", "重新开具"])
    assert "已过期" in page.inner_text("#expires-at")
    assert "签名真实" in text


def test_a_stale_proof_says_no_longer_current_and_to_re_issue_it(
    page: Any, site: Site, artifacts: Path
) -> None:
    issued = _issue(site)
    _, key = create_client(site.session, name="zj", role="platform", source_id="zj-industry")
    reversal = requests.post(
        f"{site.base}/v1/records/p1/reversal",
        json={"reason": "课程未完成考核"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert reversal.status_code in (200, 201), reversal.text
    page.goto(f"{site.base}/verify/{issued['jti']}")
    _check(page, artifacts, "stale", "warn", ["已失效", "撤销或更正", "重新开具"])
    assert "不代表当前结果" in page.inner_text("#not-current")


def test_a_tampered_token_says_the_signature_is_not_valid_and_shows_nothing_it_claims(
    page: Any, site: Site, artifacts: Path
) -> None:
    token = _issue(site)["token"]
    header, payload, signature = token.split(".")
    # Another person's name in the payload, the old signature kept: a forgery.
    page.goto(f"{site.base}/verify")
    page.fill("#token", f"{header}.{payload[:-6]}AAAAAA.{signature}")
    page.click("text=核验令牌 Verify token")
    page.wait_for_selector("#outcome")
    _check(page, artifacts, "bad-signature", "bad", ["签名无效", "请勿采信", "联系签发单位"])
    assert page.locator("#claimed-name").count() == 0
    assert "张三" not in page.content()


TOOLS = ("pdftoppm", "pdftotext", "zbarimg")


def test_a_code_typed_from_the_printed_proof_opens_the_qr_codes_page(
    page: Any, site: Site, artifacts: Path, tmp_path: Path
) -> None:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        pytest.fail(f"{missing} are missing: run scripts/system-deps.sh")
    browser = site.signed_in()
    form = browser.get(f"{site.base}/me", timeout=10)
    answer = browser.post(
        f"{site.base}/me/proof",
        data={"csrf_token": csrf(form.text), "profile": PROFILE, "as_of": "2024-12-31"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text[:300]
    pdf = tmp_path / "proof.pdf"
    pdf.write_bytes(answer.content)
    text = pdf_text(pdf)
    found = re.search(r"([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})", text)
    assert found is not None, text
    code = found.group(1)
    qr = qr_on_first_page(pdf, artifacts, "proof-page-1", dpi=110)
    assert qr.startswith(f"{site.base}/verify/att_")

    page.goto(f"{site.base}/verify")
    page.fill("#code", code.lower().replace("-", " "))
    page.screenshot(path=str(artifacts / f"verify-code-form-{page.viewport_name}.png"))
    page.click("#check-code")
    page.wait_for_selector("#outcome")
    assert page.url == qr
    _check(page, artifacts, "valid", "ok", ["有效"])

    # A mistyped character: the form says so, next to the field.
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    page.goto(f"{site.base}/verify")
    page.fill("#code", wrong)
    page.click("#check-code")
    assert "核验码有误" in page.inner_text("#code-error")
    page.screenshot(path=str(artifacts / f"verify-code-wrong-{page.viewport_name}.png"))


def test_a_mistyped_address_in_the_browser_is_a_page_of_the_site(
    page: Any, site: Site, artifacts: Path
) -> None:
    answer = page.goto(f"{site.base}/verfy/att_123")
    assert answer.status == 404
    assert page.inner_text("h1").startswith("页面不存在")
    assert page.locator("header.top").count() == 1  # the site's layout
    assert "{" not in page.inner_text("main")  # no JSON
    page.screenshot(path=str(artifacts / f"error-404-{page.viewport_name}.png"), full_page=True)
