"""SQLite faults: the database file made read-only, held locked by another process, on a full
disk. Read-only and full use real file systems the test mounts (a read-only bind mount over the
file, a small tmpfs), so they need root; as another user the file is made read-only with its
mode instead, and the full disk is skipped."""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.conftest import (
    IS_ROOT,
    MakeApp,
    assert_unavailable,
    can_mount,
    client_key,
    ledger_state,
    mount,
    post_records,
    umount,
)


@pytest.fixture
def db_dir(tmp_path: Path, sqlite_template: Path) -> Path:
    """A directory holding only a freshly migrated database, ``ledger.sqlite3``."""
    directory = tmp_path / "db"
    directory.mkdir()
    shutil.copyfile(sqlite_template, directory / "ledger.sqlite3")
    return directory


def url_of(directory: Path) -> str:
    return f"sqlite:///{directory / 'ledger.sqlite3'}"


class ReadOnly:
    """Make the database file read-only for whoever opens it from now on, and writable again:
    a read-only bind mount over the file (as root), else its mode. (Its directory stays
    writable, so SQLite still opens it, read-only, and reads through its write-ahead log.)"""

    def __init__(self, path: Path, use_mount: bool) -> None:
        self.path = path
        self.use_mount = use_mount

    def __enter__(self) -> ReadOnly:
        if self.use_mount:
            mount("--bind", str(self.path), str(self.path))
            mount("-o", "remount,bind,ro", str(self.path))
        else:
            self.path.chmod(0o444)
        return self

    def __exit__(self, *_: object) -> None:
        if self.use_mount:
            umount(self.path)
        else:
            self.path.chmod(0o644)


def test_a_read_only_file_is_503_and_not_ready_and_writes_resume_when_it_is_writable(
    make_app: MakeApp, db_dir: Path, tmp_path: Path
) -> None:
    use_mount = can_mount(tmp_path)
    if IS_ROOT and not use_mount:
        pytest.skip("running as root without the right to mount: a file mode would not stop us")
    app = make_app(url_of(db_dir))
    key = client_key(app, "platform")
    app.extensions["cehours"].engine.dispose()  # what follows opens its connections anew
    http = app.test_client()
    with ReadOnly(db_dir / "ledger.sqlite3", use_mount):
        # Connections opened now are read-only: every write is refused, never half-done, and
        # reading goes on (the key is read: the refusal is the write's).
        for _ in range(2):
            refused = post_records(http, key, "ro1")
            assert_unavailable(refused)
            assert refused.get_json()["type"].endswith(":database-unavailable")
        ready = http.get("/readyz")
        assert_unavailable(ready)
        assert "read-only" in ready.get_json()["detail"]
    # The file is writable again: the connections SQLite opened read-only are gone, new ones
    # write, without a restart.
    answer = post_records(http, key, "ro1", "ro2")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert [r["status"] for r in answer.get_json()["results"]] == ["created", "created"]
    assert http.get("/readyz").status_code == 200
    assert ledger_state(app) == (True, 2, ["ro1", "ro2"])


def test_a_file_locked_by_another_process_is_503_busy_within_the_lock_timeout(
    make_app: MakeApp, db_dir: Path
) -> None:
    app = make_app(url_of(db_dir), DB_LOCK_TIMEOUT_SECONDS=0.3)
    http = app.test_client()
    key = client_key(app, "platform")
    assert post_records(http, key, "l1").status_code == 200
    other = sqlite3.connect(db_dir / "ledger.sqlite3", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        answer = post_records(http, key, "l2")
        assert_unavailable(answer)
        assert answer.get_json()["type"].endswith(":busy")
        ready = http.get("/readyz")
        assert_unavailable(ready)
        assert "locked" in ready.get_json()["detail"]
        # Reading goes on: in WAL mode a writer's lock does not stop readers.
        assert http.get("/healthz").status_code == 200
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert [r["status"] for r in post_records(http, key, "l2").get_json()["results"]] == ["created"]
    assert http.get("/readyz").status_code == 200
    assert ledger_state(app) == (True, 2, ["l1", "l2"])


@pytest.fixture
def small_disk(tmp_path: Path, sqlite_template: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs holding a freshly migrated database."""
    if not can_mount(tmp_path):
        pytest.skip("a full disk needs a file system of its own: root, with the right to mount")
    directory = tmp_path / "small"
    directory.mkdir()
    mount("-t", "tmpfs", "-o", "size=4m", "tmpfs", str(directory))
    try:
        shutil.copyfile(sqlite_template, directory / "ledger.sqlite3")
        yield directory
    finally:
        umount(directory)


def fill(directory: Path) -> Path:
    """Fill the file system of ``directory`` to the last byte; return the filler."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 1):
            while True:
                try:
                    os.write(fd, b"\0" * size)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)
    assert shutil.disk_usage(directory).free < 4096
    return filler


def test_a_full_disk_is_503_and_not_ready_and_writes_resume_once_there_is_room(
    make_app: MakeApp, small_disk: Path
) -> None:
    app = make_app(url_of(small_disk))
    http = app.test_client()
    key = client_key(app, "platform")
    assert post_records(http, key, "f1").status_code == 200
    filler = fill(small_disk)
    try:
        many = [f"f{n}" for n in range(2, 400)]  # more pages than the write-ahead log has free
        assert_unavailable(post_records(http, key, *many))
        ready = http.get("/readyz")
        assert_unavailable(ready)
        assert "full" in ready.get_json()["detail"]
    finally:
        os.unlink(filler)
    answer = post_records(http, key, *many)
    assert answer.status_code == 200
    assert {r["status"] for r in answer.get_json()["results"]} == {"created"}
    assert http.get("/readyz").status_code == 200
    assert ledger_state(app) == (True, 1 + len(many), sorted(["f1", *many]))
