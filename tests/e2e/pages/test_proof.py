"""The printable proof: rendered, read back as text, its QR code decoded and followed."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from pathlib import Path

import pytest
import requests

from ledger.access.clients import create_client
from ledger.attestations.codes import check_symbol, is_valid, normalise_code
from ledger.values.dates import BUSINESS_TZ
from tests.e2e.pages.site import ME, Site, csrf
from tests.e2e.paper import pdf_text, qr_on_first_page

TOOLS = ("pdftoppm", "pdftotext", "zbarimg")
MISSING = [t for t in TOOLS if shutil.which(t) is None]
if MISSING and os.environ.get("CI", "").lower() == "true":
    pytest.fail(f"CI=true but {MISSING} are missing: run scripts/system-deps.sh")
pytestmark = pytest.mark.skipif(bool(MISSING), reason=f"missing {MISSING} (scripts/system-deps.sh)")


def _download_proof(
    site: Site, browser: requests.Session, tmp_path: Path, as_of: str = "2024-12-31"
) -> Path:
    page = browser.get(f"{site.base}/me", timeout=10)
    answer = browser.post(
        f"{site.base}/me/proof",
        data={"csrf_token": csrf(page.text), "profile": "quzhou-annual-90", "as_of": as_of},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text[:500]
    assert answer.headers["Content-Type"] == "application/pdf"
    assert answer.headers["Content-Disposition"].startswith("attachment;")
    path = tmp_path / "proof.pdf"
    path.write_bytes(answer.content)
    return path


def test_the_proof_states_name_masked_id_period_totals_and_result(
    site: Site, tmp_path: Path
) -> None:
    text = pdf_text(_download_proof(site, site.signed_in(), tmp_path))
    assert "继续教育学时证明" in text
    assert "张三" in text
    assert ME[:6] + "********" + ME[-4:] in text
    assert ME not in text
    assert "2024年度" in text
    # R6: this person's industry is on the provincial platform, whose 40 hours count.
    assert re.search(r"2024\s+40\.0\s+0\.0\s+0\.0\s+40\.0", text), text
    assert "不符合" in text
    assert "/verify/att_" in text


def _code(text: str) -> str:
    found = re.search(r"核验码 Verification code\s+([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})", text)
    assert found is not None, text
    return found.group(1)


def test_the_proof_names_issuer_dates_platform_of_record_courses_and_code(
    site: Site, tmp_path: Path
) -> None:
    pdf = _download_proof(site, site.signed_in(), tmp_path)
    text = pdf_text(pdf)
    assert "开具单位 Issued by" in text
    assert "继续教育学时登记服务(演示)" in text  # the demo's issuing body (not configured)
    # Issue and expiry dates, in China Standard Time: issued today, live 90 days.
    today = dt.datetime.now(BUSINESS_TZ).date()
    issued = re.search(r"开具日期 Issued\s+(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2})\n", text)
    assert issued is not None, text
    assert dt.date.fromisoformat(issued.group(1)) in (today, today - dt.timedelta(days=1))
    until = re.search(r"有效期至 Valid until\s+(\d{4}-\d{2}-\d{2})", text)
    assert until is not None, text
    lifetime = dt.date.fromisoformat(until.group(1)) - dt.date.fromisoformat(issued.group(1))
    assert lifetime.days in (89, 90, 91)
    # R6: the person's industry is on the provincial industry platform, named.
    of_record = re.search(r"学时认定平台 Of record\s+(.+)", text)
    assert of_record is not None, text
    assert of_record.group(1).startswith("省行业平台(浙江省工业和信息化领域继续教育平台)")
    assert "衢州市继续教育平台" not in of_record.group(1)
    # The appendix: the one course counted (the province's p1), not the city's entries.
    appendix = text[text.index("附:计入的课程") :]
    assert "(1 项)" in appendix
    rows = [line.split() for line in appendix.splitlines() if "2024-" in line]
    assert rows == [
        ["2024-03-01", "BIM技术应用", "浙江省工业和信息化领域继续教育平台", "专业科目", "40.0"]
    ]
    assert "2024-04-02" not in appendix  # a city entry that did not count
    code = _code(text)
    assert is_valid(normalise_code(code))
    assert f"核验码 {code}" in text  # in the footer of the page as well


def test_the_typed_code_shows_the_same_page_as_the_qr_code(site: Site, tmp_path: Path) -> None:
    pdf = _download_proof(site, site.signed_in(), tmp_path)
    code = _code(pdf_text(pdf))
    url = qr_on_first_page(pdf, tmp_path)
    by_qr = requests.get(url, timeout=10)
    # As a person types it from paper: lower case, spaces for hyphens, O for 0 and l for 1.
    typed = code.lower().replace("-", " ").replace("0", "O").replace("1", "l")
    by_code = requests.get(f"{site.base}/verify/code", params={"code": typed}, timeout=10)
    assert by_code.status_code == 200
    assert by_code.url == url  # the same page, by redirect
    assert by_code.text == by_qr.text
    assert 'data-status="valid"' in by_code.text
    # One character wrong, or two swapped: refused with the reason, nothing looked up.
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    answer = requests.get(f"{site.base}/verify/code", params={"code": wrong}, timeout=10)
    assert answer.status_code == 422
    assert "核验码有误" in answer.text
    assert "张三" not in answer.text


def test_a_well_formed_code_no_proof_carries_is_a_404_page(site: Site) -> None:
    data = "0000000000"
    code = data + "0" + check_symbol(data + "0")
    answer = requests.get(f"{site.base}/verify/code", params={"code": code}, timeout=10)
    assert answer.status_code == 404
    assert 'data-status="not-found"' in answer.text
    assert "未找到这份证明" in answer.text


def test_a_second_proof_of_the_same_attestation_has_its_own_code(
    site: Site, tmp_path: Path
) -> None:
    first = _code(pdf_text(_download_proof(site, site.signed_in(), tmp_path)))
    second = _code(pdf_text(_download_proof(site, site.signed_in(), tmp_path, "2024-11-30")))
    assert first != second


def test_the_qr_code_leads_to_a_page_saying_valid_then_stale_after_a_reversal(
    site: Site, tmp_path: Path
) -> None:
    url = qr_on_first_page(_download_proof(site, site.signed_in(), tmp_path), tmp_path)
    assert url.startswith(f"{site.base}/verify/att_")
    page = requests.get(url, timeout=10)
    assert page.status_code == 200
    assert 'data-status="valid"' in page.text
    assert "张三" in page.text
    assert ME not in page.text

    _, key = create_client(site.session, name="zj", role="platform", source_id="zj-industry")
    reversal = requests.post(
        f"{site.base}/v1/records/p1/reversal",
        json={"reason": "课程未完成考核"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert reversal.status_code in (200, 201), reversal.text
    again = requests.get(url, timeout=10)
    assert 'data-status="stale"' in again.text
    assert 'data-status="valid"' not in again.text


def test_a_pasted_token_is_verified_and_a_tampered_one_is_not(site: Site) -> None:
    issued = requests.post(
        f"{site.base}/v1/me/attestations",
        json={"profile": "quzhou-annual-90", "as_of": "2024-12-31"},
        headers=site.bearer(),
        timeout=10,
    ).json()
    browser = requests.Session()
    form = browser.get(f"{site.base}/verify", timeout=10)
    good = browser.post(
        f"{site.base}/verify",
        data={"csrf_token": csrf(form.text), "token": issued["token"]},
        timeout=10,
    )
    assert 'data-status="valid"' in good.text
    header, payload, signature = issued["token"].split(".")
    tampered = f"{header}.{payload}.{signature[:-4]}AAAA"
    bad = browser.post(
        f"{site.base}/verify", data={"csrf_token": csrf(form.text), "token": tampered}, timeout=10
    )
    assert "签名无效" in bad.text
    assert "张三" not in bad.text


def test_an_unknown_attestation_number_is_a_404_page(site: Site) -> None:
    answer = requests.get(f"{site.base}/verify/att_0000", timeout=10)
    assert answer.status_code == 404
    assert answer.headers["Content-Type"].startswith("text/html")
