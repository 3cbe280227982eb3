"""Core commands: ``db``, ``ledger``, ``sources``."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from tqdm import tqdm

from api.cli import fail, open_session
from api.cli.output import echo_table, human_time
from ledger.db.engine import database_url, make_engine, make_session_factory, normalise_url
from ledger.entries.audit import verify_ledger
from ledger.entries.partitions import (
    YEARS_AHEAD,
    ensure_partitions,
    is_partitioned,
    list_partitions,
)
from ledger.entries.sources import SourceKind, add_source, list_sources
from ledger.errors import LedgerError
from ledger.log.audit import verify_log
from ledger.schema import current_revision, head_revision, upgrade_database


@click.group()
def db() -> None:
    """The database schema (Alembic migrations)."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations to the configured database."""
    url = normalise_url(database_url())
    upgrade_database(url, revision)
    engine = make_engine(url)
    click.echo(f"database at revision {current_revision(engine)}")
    with make_session_factory(engine)() as session:
        with session.begin():
            partitioned = is_partitioned(session.connection())
        if partitioned:
            # Partitions made when 0013 ran grow old: each upgrade looks a few years ahead again.
            made = ensure_partitions(session, YEARS_AHEAD)
            if made:
                click.echo(f"partitions created: {', '.join(made)}")
    engine.dispose()


@db.command("current")
def db_current() -> None:
    """Print the database's revision and the code's head revision."""
    engine = make_engine(database_url())
    click.echo(f"database: {current_revision(engine)}\ncode head: {head_revision()}")
    engine.dispose()


@db.group("partitions")
def db_partitions() -> None:
    """The yearly partitions of entries (PostgreSQL)."""


@db_partitions.command("ensure")
@click.option(
    "--years",
    type=click.IntRange(min=0, max=50),
    default=YEARS_AHEAD,
    show_default=True,
    help="years after the current (Asia/Shanghai) one to have a partition for",
)
@click.option(
    "--from-year",
    type=click.IntRange(min=1990, max=9999),
    default=None,
    help="reach back at least to this year (e.g. before loading a platform's history)",
)
def db_partitions_ensure(years: int, from_year: int | None) -> None:
    """Create the partitions entries needs: the current year and --years ahead, every year back
    to the earliest the data holds, and the default partition; rows of the default partition
    whose year gets a partition move into it. Running it again changes nothing."""
    with open_session() as session:
        try:
            made = ensure_partitions(session, years, first_year=from_year)
        except LedgerError as exc:
            fail(exc)
    click.echo(f"partitions created: {', '.join(made)}" if made else "partitions: none needed")


@db_partitions.command("list")
def db_partitions_list() -> None:
    """List the partitions of entries: years, estimated rows, size, refusing triggers."""
    with open_session() as session:
        try:
            parts = list_partitions(session)
        except LedgerError as exc:
            fail(exc)
    rows = []
    for p in parts:
        years = "default" if p.is_default else f"{p.first_year}-{p.last_year}"
        if not p.is_default and p.first_year == p.last_year:
            years = str(p.first_year)
        size = f"{p.bytes / 2**20:.1f} MiB"
        rows.append([p.name, years, str(p.estimated_rows), size, ",".join(p.triggers) or "NONE"])
    header = ["PARTITION", "YEARS", "ROWS (ESTIMATE)", "SIZE", "APPEND-ONLY TRIGGERS"]
    echo_table(header, rows, "no partitions (entries is not partitioned)")


@click.group("ledger")
def ledger_group() -> None:
    """The append-only ledger."""


class _Bar:
    """A progress bar on stderr with a total and an ETA (tqdm), for one phase of a verify."""

    def __init__(self, desc: str, unit: str, shown: bool) -> None:
        self.desc, self.unit, self.shown = desc, unit, shown
        self.bar: tqdm[None] | None = None

    def start(self, total: int) -> None:
        # Made once the total is known, so that the first line drawn already has it.
        self.bar = tqdm(
            desc=self.desc, unit=self.unit, total=total, disable=not self.shown, file=sys.stderr
        )

    def advance(self, done: int) -> None:
        if self.bar is not None:
            self.bar.update(done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@contextmanager
def _bar(desc: str, unit: str, shown: bool) -> Iterator[_Bar]:
    bar = _Bar(desc, unit, shown)
    try:
        yield bar
    finally:
        bar.close()


@ledger_group.command("verify")
@click.option(
    "--since-checkpoint",
    is_flag=True,
    help="only what came after the last checkpoint a verification found sound: its root must "
    "still come out of the stored tree, then the new leaves, entries, nodes and checkpoints",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="progress bars with a total and an ETA on stderr (default: only when stderr is a "
    "terminal)",
)
def ledger_verify(since_checkpoint: bool, progress: bool | None) -> None:
    """Walk every hash chain and rebuild every balance, then check the log against the ledger
    (every entry a leaf, every node, head and signed checkpoint recomputed); exit 1 on any
    problem."""
    shown = sys.stderr.isatty() if progress is None else progress
    problems: list[str] = []
    with open_session() as session:
        if not since_checkpoint:
            with _bar("entries", "entry", shown) as bar:
                report = verify_ledger(session, progress=bar)
            problems += report.problems
            click.echo(
                f"checked {report.people} people, {report.entries} entries, "
                f"{report.balances} balances"
            )
        with _bar("log", "leaf", shown) as bar:
            log_report = verify_log(
                session,
                progress=bar,
                since_checkpoint=since_checkpoint,
                record=not problems,
            )
    since = f" after size {log_report.since}" if since_checkpoint else ""
    click.echo(
        f"checked {log_report.leaves} log leaves{since} and {log_report.checkpoints} checkpoints"
        f" ({log_report.pending} newer entries not in the log yet)"
    )
    problems += log_report.problems
    for problem in problems:
        click.echo(f"FAIL {problem}")
    if problems:
        click.echo(f"ledger verify: {len(problems)} problem(s) found", err=True)
        sys.exit(1)
    click.echo("ledger verify: OK")


@click.group()
def sources() -> None:
    """Learning platforms that register hours."""


@sources.command("add")
@click.argument("source_id")
@click.option("--kind", type=click.Choice([k.value for k in SourceKind]), required=True)
@click.option("--region", "region_code", required=True, help="six-digit region code, e.g. 330800")
@click.option("--name", "display_name", required=True, help="display name")
@click.option(
    "--config",
    "config_file",
    type=click.File("r", encoding="utf-8"),
    default=None,
    help="JSON file with the pull configuration",
)
def sources_add(
    source_id: str, kind: str, region_code: str, display_name: str, config_file: click.File | None
) -> None:
    """Register a source."""
    config = json.load(config_file) if config_file else None  # type: ignore[arg-type]
    with open_session() as session:
        try:
            info = add_source(
                session,
                source_id,
                kind=kind,
                region_code=region_code,
                display_name=display_name,
                config=config,
            )
        except LedgerError as exc:
            fail(exc)
    click.echo(f"source {info.id} added ({info.kind}, {info.region_code}, {info.display_name})")


@sources.command("list")
def sources_list() -> None:
    """List sources."""
    with open_session() as session:
        listed = list_sources(session)
    rows = [
        [
            s.id,
            s.kind,
            s.region_code,
            "pull" if s.config else "push",
            human_time(s.created_at),
            s.display_name,
        ]
        for s in listed
    ]
    header = ["ID", "KIND", "REGION", "MODE", "CREATED", "NAME"]
    echo_table(header, rows, empty="no sources")


COMMANDS: list[click.Command] = [db, ledger_group, sources]
