"""The printable proof: rendered, read back as text, its QR code decoded and followed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from ledger.access.clients import create_client
from tests.e2e.pages.site import ME, Site, csrf

TOOLS = ("pdftoppm", "pdftotext", "zbarimg")
MISSING = [t for t in TOOLS if shutil.which(t) is None]
if MISSING and os.environ.get("CI", "").lower() == "true":
    pytest.fail(f"CI=true but {MISSING} are missing: run scripts/system-deps.sh")
pytestmark = pytest.mark.skipif(bool(MISSING), reason=f"missing {MISSING} (scripts/system-deps.sh)")


def _download_proof(site: Site, browser: requests.Session, tmp_path: Path) -> Path:
    page = browser.get(f"{site.base}/me", timeout=10)
    answer = browser.post(
        f"{site.base}/me/proof",
        data={"csrf_token": csrf(page.text), "profile": "quzhou-annual-90", "as_of": "2024-12-31"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text[:500]
    assert answer.headers["Content-Type"] == "application/pdf"
    assert answer.headers["Content-Disposition"].startswith("attachment;")
    path = tmp_path / "proof.pdf"
    path.write_bytes(answer.content)
    return path


def _text(pdf: Path) -> str:
    done = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True)
    return done.stdout.decode()


def _qr_url(pdf: Path, tmp_path: Path) -> str:
    subprocess.run(
        ["pdftoppm", "-png", "-r", "150", "-singlefile", str(pdf), str(tmp_path / "page")],
        check=True,
    )
    done = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(tmp_path / "page.png")],
        capture_output=True,
        check=True,
    )
    return done.stdout.decode().strip()


def test_the_proof_states_name_masked_id_period_totals_and_result(
    site: Site, tmp_path: Path
) -> None:
    text = _text(_download_proof(site, site.signed_in(), tmp_path))
    assert "继续教育学时证明" in text
    assert "张三" in text
    assert ME[:6] + "********" + ME[-4:] in text
    assert ME not in text
    assert "2024年度" in text
    # R6: this person's industry is on the provincial platform, whose 40 hours count.
    assert re.search(r"2024\s+40\.0\s+0\.0\s+0\.0\s+40\.0", text), text
    assert "不符合" in text
    assert "/verify/att_" in text


def test_the_qr_code_leads_to_a_page_saying_valid_then_stale_after_a_reversal(
    site: Site, tmp_path: Path
) -> None:
    url = _qr_url(_download_proof(site, site.signed_in(), tmp_path), tmp_path)
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
