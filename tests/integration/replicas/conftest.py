"""A primary and a streaming replica of our own (tests/pg_servers.py), and apps reading from it.

The pair is made once per run (on free ports) and stopped after; each test finds both
running and the replica replaying (a test that stops or pauses one restores it).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from api.app import create_app
from ledger.access.clients import create_client
from ledger.db.engine import make_engine, make_session_factory
from ledger.schema import upgrade_database
from tests.factories import city_source
from tests.pg_servers import (
    Cluster,
    free_port,
    make_primary,
    make_replica,
    owned_tmpdir,
    wait_streaming,
)

DATABASE = "cehours"


@dataclass
class Pair:
    primary: Cluster
    replica: Cluster
    archive: Path
    base: Path

    def urls(self) -> tuple[str, str]:
        return self.primary.url(DATABASE), self.replica.url(DATABASE)


def stop_all(*clusters: Cluster | None) -> None:
    for cluster in clusters:
        if cluster is not None and cluster.running():
            cluster.stop("immediate")


def new_pair(prefix: str) -> Iterator[Pair]:
    """A primary of our own with a migrated database and a city source, and its streaming
    replica, on free ports in a new directory; both stopped and removed after."""
    base = owned_tmpdir(prefix)
    primary = replica = None
    try:
        primary, archive = make_primary(base, free_port())
        primary.sql(f"CREATE DATABASE {DATABASE}")
        upgrade_database(primary.url(DATABASE))
        engine = make_engine(primary.url(DATABASE))
        with make_session_factory(engine)() as session:
            city_source(session)
        engine.dispose()
        replica = make_replica(primary, base, free_port())
        yield Pair(primary, replica, archive, base)
    finally:
        stop_all(replica, primary)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def streaming_pair() -> Iterator[Pair]:
    yield from new_pair("cehours-replica-")


@pytest.fixture
def pair(streaming_pair: Pair) -> Pair:
    """The pair, both running and the replica replaying."""
    for cluster in (streaming_pair.primary, streaming_pair.replica):
        if not cluster.running():
            cluster.start()
    streaming_pair.replica.sql("SELECT pg_wal_replay_resume()")
    wait_streaming(streaming_pair.replica)
    return streaming_pair


@pytest.fixture
def make_app(pair: Pair) -> Iterator[Callable[..., Flask]]:
    """Build an app on the pair's primary that reads from its replica (options override)."""
    made: list[Flask] = []

    def make(**config: Any) -> Flask:
        primary_url, replica_url = pair.urls()
        app = create_app(
            {
                "DATABASE_URL": primary_url,
                "READ_DATABASE_URL": replica_url,
                "READ_MAX_LAG_SECONDS": 1.5,
                "READ_CHECK_SECONDS": 0.1,
                "TESTING": True,
                **config,
            }
        )
        made.append(app)
        return app

    yield make
    for app in made:
        dispose(app)


def dispose(app: Flask) -> None:
    """Close the app's pooled connections, the replicas' too."""
    app.extensions["cehours"].engine.dispose()
    app.extensions["cehours"].probe.dispose()
    replicas = app.extensions.get("cehours_replicas")
    if replicas is not None:
        replicas.router.dispose()


@pytest.fixture
def primary_session(pair: Pair) -> Iterator[Session]:
    engine = make_engine(pair.primary.url(DATABASE))
    with make_session_factory(engine)() as session:
        yield session
    engine.dispose()


@pytest.fixture
def key_for(primary_session: Session) -> Callable[[str], str]:
    """A new API key of ``role`` (platform keys for the city source)."""

    def make(role: str) -> str:
        source = "quzhou-city" if role == "platform" else None
        _, key = create_client(primary_session, name=f"{role} key", role=role, source_id=source)
        return key

    return make
