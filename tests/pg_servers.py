"""PostgreSQL clusters and PgBouncer that tests start themselves, on loopback, and stop after.

A primary of our own (``initdb``: ``wal_level = replica``, WAL archived to a directory,
replication trusted from 127.0.0.1), a streaming replica made from it by ``pg_basebackup -R``,
and PgBouncer in transaction mode. The shared server at 5432 is never reconfigured: these are
other clusters, in temporary directories, on free loopback ports (:func:`free_port`), so that
two test runs on one machine do not meet. PostgreSQL and PgBouncer refuse to run as root, so as
root they run as the ``postgres`` user (``runuser``), in directories it owns.

Without the binaries tests using these skip with a reason; with ``CI=true`` they fail instead.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa

PG_BIN = Path(os.environ.get("CEHOURS_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
IN_CI = os.environ.get("CI", "").lower() == "true"
RUN_AS = "postgres"


def free_port() -> int:
    """A loopback TCP port nothing listens on now (the kernel's pick), for a server to take."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def require_binaries(*paths: str | Path) -> None:
    """Skip (or with ``CI=true`` fail) when a program the test needs is not installed."""
    missing = [str(p) for p in paths if not Path(p).exists()]
    if not missing:
        return
    message = f"not installed: {', '.join(missing)} (scripts/system-deps.sh installs them)"
    if IN_CI:
        pytest.fail(f"CI=true but {message}")
    pytest.skip(message)


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", RUN_AS, "--", *argv]


def run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run a server program as the server user; its output is in the error if it fails."""
    done = subprocess.run(
        _as_server_user(argv),
        capture_output=True,
        text=True,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({done.returncode}): {done.stdout}{done.stderr}")
    return done


def owned_tmpdir(prefix: str) -> Path:
    """A new directory the server user owns (pytest's own are private to root)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        user = pwd.getpwnam(RUN_AS)
        os.chown(path, user.pw_uid, user.pw_gid)
    path.chmod(0o700)
    return path


def _chown_tree(path: Path) -> None:
    if os.geteuid() == 0:
        user = pwd.getpwnam(RUN_AS)
        for root, dirs, files in os.walk(path):
            for name in [*dirs, *files]:
                os.chown(os.path.join(root, name), user.pw_uid, user.pw_gid)
        os.chown(path, user.pw_uid, user.pw_gid)


@dataclass
class Cluster:
    """One PostgreSQL cluster: its data directory, port and log."""

    data: Path
    port: int
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.data.parent / f"{self.data.name}.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        try:
            run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "start"])
        except RuntimeError as exc:
            tail = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"{exc}\n{self.log}:\n{tail}") from None

    def stop(self, mode: str = "fast") -> None:
        run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])

    def running(self) -> bool:
        status = subprocess.run(
            _as_server_user([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "status"]),
            capture_output=True,
            check=False,
        )
        return status.returncode == 0

    def promote(self) -> None:
        run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", "promote"])

    def sql(self, statement: str, database: str = "postgres") -> list[tuple[object, ...]]:
        """Run one statement in autocommit, return its rows (none for a command)."""
        engine = sa.create_engine(self.url(database), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                result = conn.exec_driver_sql(statement)
                return [tuple(row) for row in result] if result.returns_rows else []
        finally:
            engine.dispose()


def _configure(data: Path, port: int, extra: str = "") -> None:
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(
            f"\nport = {port}\nlisten_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{data.parent}'\n"
            "shared_buffers = 32MB\nmax_connections = 60\nfsync = off\n"
            "full_page_writes = on\nsynchronous_commit = on\n" + extra
        )


def make_primary(base: Path, port: int) -> tuple[Cluster, Path]:
    """``initdb`` a primary that streams to replicas and archives its WAL; started.

    Returns the cluster and its WAL archive directory.
    """
    require_binaries(PG_BIN / "initdb", PG_BIN / "pg_basebackup")
    data, archive = base / "primary", base / "wal-archive"
    archive.mkdir()
    _chown_tree(archive)
    run(
        [
            str(PG_BIN / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ]
    )
    _configure(
        data,
        port,
        "wal_level = replica\nmax_wal_senders = 8\nwal_keep_size = 128MB\nhot_standby = on\n"
        # Copied under a temporary name and renamed: a restore must never find half a segment.
        "archive_mode = on\narchive_command = "
        f"'test ! -f {archive}/%f && cp %p {archive}/%f.part"
        f" && mv {archive}/%f.part {archive}/%f'\n"
        "archive_timeout = 0\n",
    )
    cluster = Cluster(data, port)
    cluster.start()
    return cluster, archive


def make_replica(primary: Cluster, base: Path, port: int, name: str = "replica") -> Cluster:
    """A streaming replica of ``primary`` (``pg_basebackup -R``), started and streaming."""
    data = base / name
    run(
        [
            str(PG_BIN / "pg_basebackup"),
            "-h", "127.0.0.1",
            "-p", str(primary.port),
            "-U", "postgres",
            "-D", str(data),
            "-R",
            "-X", "stream",
            "-c", "fast",
            "--no-sync",
        ]
    )  # fmt: skip
    with (data / "postgresql.conf").open("a") as conf:
        # hot_standby_feedback: a long read on the replica is not cancelled by vacuum on the
        # primary (the setting docs/operations.md recommends).
        conf.write(f"\nport = {port}\nhot_standby_feedback = on\narchive_mode = off\n")
    replica = Cluster(data, port)
    replica.start()
    wait_streaming(replica)
    return replica


def wait_streaming(replica: Cluster, timeout: float = 30.0) -> None:
    """Wait until ``replica`` streams from its primary."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            rows = replica.sql("SELECT status FROM pg_stat_wal_receiver")
        except sa.exc.OperationalError:
            rows = []
        if rows and rows[0][0] == "streaming":
            return
        time.sleep(0.2)
    raise AssertionError(f"the replica on {replica.port} does not stream: see {replica.log}")


def wait_replayed(primary: Cluster, replica: Cluster, timeout: float = 30.0) -> None:
    """Wait until ``replica`` has replayed everything ``primary`` has written so far."""
    target = primary.sql("SELECT pg_current_wal_insert_lsn()::text")[0][0]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        behind = replica.sql(f"SELECT pg_wal_lsn_diff('{target}', pg_last_wal_replay_lsn()) > 0")[
            0
        ][0]
        if not behind:
            return
        time.sleep(0.05)
    raise AssertionError("the replica did not catch up")


@dataclass
class PgBouncer:
    """PgBouncer in transaction mode in front of one PostgreSQL, every database by its name."""

    port: int
    directory: Path
    process: subprocess.Popen[bytes]

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        pidfile = self.directory / "pgbouncer.pid"
        if pidfile.exists():  # PgBouncer itself, not runuser in front of it
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        shutil.rmtree(self.directory, ignore_errors=True)


PGBOUNCER_INI = """\
[databases]
* = host=127.0.0.1 port={server_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {directory}/userlist.txt
pool_mode = transaction
default_pool_size = 20
admin_users = postgres
max_client_conn = 400
server_reset_query =
ignore_startup_parameters = extra_float_digits
logfile = {directory}/pgbouncer.log
pidfile = {directory}/pgbouncer.pid
"""


def start_pgbouncer(server_port: int, port: int) -> PgBouncer:
    """Start PgBouncer (transaction pooling) on ``port`` in front of 127.0.0.1:``server_port``."""
    require_binaries(PGBOUNCER)
    directory = owned_tmpdir("cehours-pgbouncer-")
    (directory / "userlist.txt").write_text('"postgres" ""\n')
    ini = directory / "pgbouncer.ini"
    ini.write_text(PGBOUNCER_INI.format(server_port=server_port, port=port, directory=directory))
    _chown_tree(directory)
    process = subprocess.Popen(
        _as_server_user([PGBOUNCER, str(ini)]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    bouncer = PgBouncer(port, directory, process)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = (directory / "pgbouncer.log").read_text(errors="replace")
            raise RuntimeError(f"pgbouncer exited: {log[-2000:]}")
        try:
            engine = sa.create_engine(
                bouncer.url("postgres"), connect_args={"prepare_threshold": None}
            )
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            engine.dispose()
            return bouncer
        except sa.exc.OperationalError:
            time.sleep(0.2)
    bouncer.stop()
    raise RuntimeError("pgbouncer did not start listening")
