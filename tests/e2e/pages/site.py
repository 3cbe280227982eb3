"""A running service on 127.0.0.1 with two people's hours, for the page and browser tests."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from api.app import create_app
from ledger.access.clients import create_client
from ledger.access.dev_identity import DevIdentityProvider
from ledger.attestations import key_encryption, signing_keys
from ledger.entries.append import append_records
from ledger.entries.people import find_person_id
from tests.factories import city_source, id_number, province_source, record

ISSUER = "https://cehours.e2e/"
ME = id_number(1)
OTHER = id_number(2)
COURSE = {"code": "ZY1907", "title": "BIM技术应用", "provider": "衢州市建设学院"}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Site:
    """The base URL, the database session, the dev identity provider and API keys."""

    base: str
    session: Session
    idp: DevIdentityProvider
    keys: dict[str, str]
    me: str
    other: str

    def token(self, number: str = ME, name: str = "张三") -> str:
        return self.idp.mint(number, name)

    def bearer(self, number: str = ME) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(number)}"}

    def signed_in(self) -> requests.Session:
        """A browser-like client signed in as the first person through /sign-in."""
        browser = requests.Session()
        form = browser.get(f"{self.base}/sign-in", timeout=10)
        answer = browser.post(
            f"{self.base}/sign-in",
            data={"csrf_token": csrf(form.text), "token": self.token()},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        return browser


def csrf(html: str) -> str:
    """The CSRF token of the first form in a page."""
    found = _CSRF.search(html)
    assert found is not None, "no CSRF token in the page"
    return found.group(1)


def seed(session: Session) -> tuple[str, str]:
    """Person 1: 2024 hours on two platforms (one course on both); person 2: other hours."""
    city = city_source(session)
    province = province_source(session)
    append_records(
        session,
        city,
        [
            record("c1", hours="40", completed_on="2024-03-01", course=COURSE),
            record("c2", category="general_public", hours="18", completed_on="2024-04-02"),
            record("c3", category="industry_public", hours="12.5", completed_on="2024-05-03"),
            record("x1", person=2, name="李四", hours="77.5", completed_on="2024-02-02"),
        ],
        actor="test",
    )
    append_records(
        session,
        province,
        [record("p1", hours="40", completed_on="2024-03-01", course=COURSE)],
        actor="test",
    )
    return find_person_id(session, ME), find_person_id(session, OTHER)


@contextmanager
def running_site(
    db_url: str, var: Path, monkeypatch: pytest.MonkeyPatch, **config: Any
) -> Iterator[Site]:
    """Serve the app on a free loopback port until the block ends."""
    kek_text = key_encryption.new_kek_text()
    monkeypatch.setenv(key_encryption.KEK_ENV, kek_text)
    monkeypatch.setenv("CEHOURS_ISSUER", ISSUER)
    settings = {
        "DATABASE_URL": db_url,
        "DEV_IDP": True,
        "VAR_DIR": str(var),
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "COOKIE_SECURE": False,
        **config,
    }
    app = create_app(settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with app.extensions["cehours"].sessions() as session:
            signing_keys.create_key(session, key_encryption.parse_kek(kek_text), actor="test")
            me, other = seed(session)
            keys = {
                role: create_client(
                    session,
                    name=role,
                    role=role,
                    source_id="quzhou-city" if role == "platform" else None,
                )[1]
                for role in ("platform", "filing")
            }
            yield Site(
                base=f"http://127.0.0.1:{server.server_port}",
                session=session,
                idp=DevIdentityProvider.from_directory(var),
                keys=keys,
                me=me,
                other=other,
            )
    finally:
        server.shutdown()
        thread.join(5)
        app.extensions["cehours"].engine.dispose()
