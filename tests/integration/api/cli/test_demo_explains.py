"""The demo person's compliance page explains their shortfall: checked against 2019-2020
(quzhou-2020-intermediate, seed 002_3f11e0b9a6581793.txt: R2 and R6) they have 174.5 of 180,
and the page lists the course counted once, the one not of record, the corrected and the
reversed one, in Chinese."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api.app import create_app
from api.demo import load_demo
from tests.e2e.pages.reading import english_sentences, marked

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def test_the_demo_persons_page_explains_174_5_of_180(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CEHOURS_KEY_ENCRYPTION_KEY", raising=False)
    monkeypatch.delenv("CEHOURS_KEY_ENCRYPTION_KEY_FILE", raising=False)
    app = create_app(
        {
            "DATABASE_URL": sqlite_url,
            "DEV_IDP": True,
            "VAR_DIR": str(tmp_path),
            "SECRET_KEY": "demo-test-secret-" + "x" * 32,
            "COOKIE_SECURE": False,
        }
    )
    try:
        with app.extensions["cehours"].sessions() as session:
            load_demo(session, tmp_path)
        client = app.test_client()
        form = client.get("/dev/sign-in").get_data(as_text=True)
        token = _CSRF.search(form)
        assert token is not None
        signed = client.post("/dev/sign-in", data={"csrf_token": token.group(1), "who": "demo"})
        assert signed.status_code in (302, 303), signed.get_data(as_text=True)
        page = client.get(
            "/me/compliance",
            query_string={"profile": "quzhou-2020-intermediate", "as_of": "2020-12-31"},
        ).get_data(as_text=True)
    finally:
        app.extensions["cehours"].engine.dispose()
    assert 'class="shortfall">5.5<' in page
    cards = dict(marked(page, "data-reason"))
    assert set(cards) >= {"duplicate", "not_authoritative", "superseded", "reversed"}
    assert "BIM技术应用" in cards["duplicate"]
    assert "工业和信息化领域政策解读" in cards["not_authoritative"]
    assert "8.0 学时" in cards["not_authoritative"]
    assert "更正为 20.5 学时" in cards["superseded"]
    assert "未参加结业考试" in cards["reversed"]
    (reconcile,) = [text for mark, text in marked(page, "id") if mark == "reconcile"]
    assert "计入 182.5 学时,本项要求计入 174.5 学时,相差 8.0 学时" in reconcile
    assert english_sentences(page) == []
