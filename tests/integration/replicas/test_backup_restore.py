"""Backup and restore as docs/operations.md says: a base backup (``pg_basebackup``) plus the
WAL archived since, restored to a cluster of its own that holds every entry and verifies."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.db.engine import make_engine, make_session_factory
from ledger.entries.append import append_records
from ledger.entries.audit import verify_ledger
from ledger.schema import upgrade_database
from tests.factories import city_source, record
from tests.integration.replicas.conftest import DATABASE, stop_all
from tests.pg_servers import (
    PG_BIN,
    Cluster,
    _chown_tree,
    free_port,
    make_primary,
    owned_tmpdir,
    run,
)


@pytest.fixture
def base() -> Iterator[Path]:
    path = owned_tmpdir("cehours-backup-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _append(url: str, first: int, count: int) -> None:
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        records = [record(f"b{n}", person=n % 7, hours="1.5") for n in range(first, first + count)]
        results = append_records(session, "quzhou-city", records, actor="test")
        assert {r.status for r in results} == {"created"}
    engine.dispose()


def _entries(url: str) -> tuple[int, bool, list[str]]:
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        report = verify_ledger(session)
    engine.dispose()
    return report.entries, report.ok, report.problems


def test_a_base_backup_and_the_archived_wal_restore_every_entry(base: Path) -> None:
    primary, archive = make_primary(base, free_port())
    restored: Cluster | None = None
    try:
        primary.sql(f"CREATE DATABASE {DATABASE}")
        url = primary.url(DATABASE)
        upgrade_database(url)
        engine = make_engine(url)
        with make_session_factory(engine)() as session:
            city_source(session)
        engine.dispose()
        _append(url, 0, 40)
        # The base backup, without WAL of its own (-X none): the archive must supply it.
        backup = base / "base-backup"
        run(
            [str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port),
             "-U", "postgres", "-D", str(backup), "-X", "none", "-c", "fast"]
        )  # fmt: skip
        _append(url, 40, 25)  # after the backup: only in the WAL
        segment = primary.sql("SELECT pg_walfile_name(pg_current_wal_lsn())")[0][0]
        primary.sql("SELECT pg_switch_wal()")
        deadline = time.monotonic() + 30
        archived = "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver"
        while str(primary.sql(archived)[0][0]) < str(segment):
            assert time.monotonic() < deadline, "the WAL segment was not archived"
            time.sleep(0.1)
        primary.stop("immediate")  # the primary is lost

        data, restored_port = base / "restored", free_port()
        shutil.copytree(backup, data)
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nport = {restored_port}\narchive_mode = off\n"
                f"restore_command = 'cp {archive}/%f %p'\n"
            )
        (data / "recovery.signal").touch()
        _chown_tree(data)
        restored = Cluster(data, restored_port)
        restored.start()
        deadline = time.monotonic() + 60
        while restored.sql("SELECT pg_is_in_recovery()")[0][0]:
            assert time.monotonic() < deadline, f"recovery did not end: see {restored.log}"
            time.sleep(0.2)
        entries, ok, problems = _entries(restored.url(DATABASE))
        assert ok, problems
        assert entries == 65
    finally:
        stop_all(restored, primary)
