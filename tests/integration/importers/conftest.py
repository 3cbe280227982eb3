"""Fixtures for the importer tests: a fake platform on loopback, a pull source configured for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from ledger.db.engine import make_engine, make_session_factory
from ledger.entries.sources import add_source
from tests.integration.importers.fake_platform import TOKEN, TOKEN_ENV, FakePlatform, served
from tests.integration.importers.helpers import SOURCE, seed


@pytest.fixture(autouse=True)
def platform_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


@pytest.fixture(params=["cursor", "updated_since"])
def platform(request: pytest.FixtureRequest) -> Iterator[FakePlatform]:
    """A platform holding 25 valid records, in each of the two paging styles."""
    fake = FakePlatform(style=request.param)
    seed(fake, 25)
    yield from served(fake)


@pytest.fixture
def cursor_platform() -> Iterator[FakePlatform]:
    fake = FakePlatform(style="cursor")
    seed(fake, 25)
    yield from served(fake)


def make_source(session: Session, fake: FakePlatform, **overrides: object) -> str:
    add_source(
        session,
        SOURCE,
        kind="city",
        region_code="330800",
        display_name="衢州市专业技术人员继续教育学习平台",
        config=fake.config(**overrides),
    )
    return SOURCE


@pytest.fixture
def source(session: Session, platform: FakePlatform) -> str:
    return make_source(session, platform)


@pytest.fixture
def lite_session(sqlite_url: str) -> Iterator[Session]:
    """A session on SQLite only, for tests whose subject is HTTP behaviour, not the database."""
    engine = make_engine(sqlite_url)
    with make_session_factory(engine)() as s:
        yield s
    engine.dispose()


@pytest.fixture
def lite_source(lite_session: Session, platform: FakePlatform) -> str:
    return make_source(lite_session, platform)


@pytest.fixture
def cursor_source(session: Session, cursor_platform: FakePlatform) -> str:
    return make_source(session, cursor_platform)


@pytest.fixture
def sqlite_session(lite_session: Session) -> Session:
    return lite_session
