"""Commands of the sync area: ``sync SOURCE``, ``sync status``, ``sync quarantine``, ``import``
and ``scheduler``."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click
import yaml
from tqdm import tqdm

from api.cli import open_session
from api.cli.output import echo_table, human_time
from importers.config import parse_pull_config
from importers.errors import ImporterError
from importers.runner import import_file, sync_source
from ledger.entries.sources import set_source_config
from ledger.errors import LedgerError
from ledger.sync.quarantine import QuarantineInfo, list_quarantine
from ledger.sync.runs import RunInfo, RunTrigger, SourceSyncStatus, get_sync_status
from ledger.values.id_numbers import mask_text


def _fail(exc: LedgerError | ImporterError) -> NoReturn:
    click.echo(f"error: {exc}", err=True)
    sys.exit(1)


@contextmanager
def _progress(desc: str) -> Iterator[Any]:
    # disable=None: a bar on a terminal only; piped output and cron logs stay clean.
    bar = tqdm(desc=desc, unit="rec", disable=None, file=sys.stderr)
    try:
        yield lambda counts: bar.update(counts.fetched)
    finally:
        bar.close()


def _run_line(run: RunInfo) -> str:
    text = (
        f"run {run.id} {run.status}: {run.pages} pages, {run.fetched} fetched, "
        f"{run.created} created, {run.duplicates} duplicates, {run.superseded} superseded, "
        f"{run.rejected} rejected"
    )
    return text + (f"; error: {run.error}" if run.error else "")


def _run_json(run: RunInfo | None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {
        "id": run.id,
        "source_id": run.source_id,
        "trigger": run.trigger,
        "status": run.status,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "pages": run.pages,
        "fetched": run.fetched,
        "created": run.created,
        "duplicates": run.duplicates,
        "superseded": run.superseded,
        "rejected": run.rejected,
        "error": run.error,
    }


class _SyncGroup(click.Group):
    """``cehours sync SOURCE`` runs a sync; ``status`` and ``quarantine`` are subcommands."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            return "run", self.commands["run"], args
        return super().resolve_command(ctx, args)


@click.group("sync", cls=_SyncGroup)
def sync_group() -> None:
    """Pull records from platforms.

    `cehours sync SOURCE` syncs one source now; `status` and `quarantine SOURCE` report.
    """


@sync_group.command("run")
@click.argument("source_id")
def sync_run(source_id: str) -> None:
    """Sync SOURCE now from its saved cursor (exit 1 if the run fails or the source is busy)."""
    with open_session() as session, _progress(source_id) as progress:
        try:
            run = sync_source(session, source_id, trigger=RunTrigger.MANUAL, progress=progress)
        except (LedgerError, ImporterError) as exc:
            _fail(exc)
    click.echo(_run_line(run))
    if run.status != "succeeded":
        sys.exit(1)


@sync_group.command("configure")
@click.argument("source_id")
@click.argument("config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--check", is_flag=True, help="only check the file; change nothing")
def sync_configure(source_id: str, config_file: Path, check: bool) -> None:
    """Check CONFIG_FILE (JSON or YAML) as SOURCE's pull configuration, then store it."""
    try:
        config = _load_mapping(config_file)
        parse_pull_config(config)
    except (ValueError, yaml.YAMLError) as exc:
        click.echo(f"error: {config_file.name} cannot be read: {type(exc).__name__}", err=True)
        sys.exit(1)
    except ImporterError as exc:
        _fail(exc)
    if check:
        click.echo(f"{config_file.name}: a valid pull configuration")
        return
    with open_session() as session:
        try:
            set_source_config(session, source_id, config)
        except LedgerError as exc:
            _fail(exc)
    click.echo(f"source {source_id}: pull configuration stored")


def _status_json(s: SourceSyncStatus) -> dict[str, Any]:
    return {
        "source_id": s.source_id,
        "cursor": s.cursor,
        "quarantined": s.quarantined,
        "running_by": s.lease_holder,
        "last_run": _run_json(s.last_run),
    }


@sync_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def sync_status_cmd(as_json: bool) -> None:
    """Every pulled source: its last run, cursor, quarantine size and whether it runs now."""
    with open_session() as session:
        statuses = get_sync_status(session)
    if as_json:
        click.echo(json.dumps([_status_json(s) for s in statuses], ensure_ascii=False, indent=2))
        return
    echo_table(
        _STATUS_HEADER,
        [_status_row(s) for s in statuses],
        empty="no source has a pull configuration or a sync history",
    )
    for s in statuses:
        if s.last_run is not None and s.last_run.error:
            click.echo(f"{s.source_id}: run {s.last_run.id} error: {s.last_run.error}")


_STATUS_HEADER = [
    "SOURCE",
    "LAST RUN",
    "STATUS",
    "STARTED",
    "FINISHED",
    "PAGES",
    "FETCHED",
    "CREATED",
    "DUPLICATES",
    "SUPERSEDED",
    "REJECTED",
    "QUARANTINED",
    "RUNNING IN",
    "CURSOR",
]


def _status_row(s: SourceSyncStatus) -> list[str]:
    cursor = json.dumps(s.cursor, ensure_ascii=False)
    common = [str(s.quarantined), s.lease_holder or "-", cursor]
    r = s.last_run
    if r is None:
        return [s.source_id, "never", "-", "-", "-", "-", "-", "-", "-", "-", "-", *common]
    counts = (r.pages, r.fetched, r.created, r.duplicates, r.superseded, r.rejected)
    ended = human_time(r.finished_at) if r.finished_at else "running"
    return [
        s.source_id,
        f"{r.id} {r.trigger}",
        r.status,
        human_time(r.started_at),
        ended,
        *map(str, counts),
        *common,
    ]


def _quarantine_json(q: QuarantineInfo) -> dict[str, Any]:
    return {
        "record_key": mask_text(q.record_key),
        "external_id": mask_text(q.external_id) if q.external_id else None,
        "reason": q.reason,
        "payload": q.payload,
        "first_seen_at": q.first_seen_at.isoformat(),
        "last_seen_at": q.last_seen_at.isoformat(),
        "times_seen": q.times_seen,
        "cleared_at": q.cleared_at.isoformat() if q.cleared_at else None,
    }


@sync_group.command("quarantine")
@click.argument("source_id")
@click.option("--all", "include_cleared", is_flag=True, help="include records since fixed")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def sync_quarantine(source_id: str, include_cleared: bool, as_json: bool) -> None:
    """Records of SOURCE that failed validation, with why and as sent (ID numbers masked)."""
    with open_session() as session:
        try:
            items = list_quarantine(session, source_id, include_cleared=include_cleared)
        except LedgerError as exc:
            _fail(exc)
    if as_json:
        click.echo(json.dumps([_quarantine_json(q) for q in items], ensure_ascii=False, indent=2))
        return
    rows = [
        [
            mask_text(q.record_key),
            f"cleared {human_time(q.cleared_at)}" if q.cleared_at else "held",
            str(q.times_seen),
            human_time(q.first_seen_at),
            human_time(q.last_seen_at),
            "; ".join(f"{f}: {'; '.join(map(str, m))}" for f, m in q.reason.items()),
            json.dumps(q.payload, ensure_ascii=False),
        ]
        for q in items
    ]
    header = ["RECORD", "STATE", "SEEN", "FIRST SEEN", "LAST SEEN", "REASON", "PAYLOAD"]
    echo_table(header, rows, empty=f"{source_id}: nothing in quarantine")


def _load_mapping(path: Path) -> Any:
    """A JSON or YAML document from a file (mappings and configurations)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        return yaml.safe_load(text)
    return json.loads(text)


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", "source_id", required=True, help="the source the export comes from")
@click.option(
    "--mapping",
    "mapping_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="JSON or YAML mapping of headers and labels (default: the source's, else standard)",
)
def import_cmd(file: Path, source_id: str, mapping_file: Path | None) -> None:
    """Import a platform's CSV (UTF-8 or GB18030) or XLSX export as SOURCE's records."""
    try:
        mapping = _load_mapping(mapping_file) if mapping_file else None
    except (ValueError, yaml.YAMLError) as exc:
        click.echo(f"error: the mapping file cannot be read: {type(exc).__name__}", err=True)
        sys.exit(1)
    with open_session() as session, _progress(file.name) as progress:
        try:
            run = import_file(session, source_id, file, mapping=mapping, progress=progress)
        except (LedgerError, ImporterError) as exc:
            _fail(exc)
    click.echo(_run_line(run))
    if run.rejected:
        click.echo(f"{run.rejected} rows quarantined: cehours sync quarantine {source_id}")
    if run.status != "succeeded":
        sys.exit(1)


@click.command("scheduler")
def scheduler_cmd() -> None:
    """Run the sync scheduler in the foreground (one job per source with a schedule)."""
    from api.logs import formatter
    from api.settings import log_format
    from importers.scheduler import SyncScheduler
    from ledger.db.engine import database_url, make_engine, make_session_factory

    handler = logging.StreamHandler()
    handler.setFormatter(formatter(log_format()))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    engine = make_engine(database_url())
    metrics_bind = os.environ.get("CEHOURS_SCHEDULER_METRICS_BIND")
    if metrics_bind:
        from importers.metrics import serve_metrics

        serve_metrics(metrics_bind)
        click.echo(f"scheduler: metrics on http://{metrics_bind}/metrics")
    scheduler = SyncScheduler(make_session_factory(engine))
    click.echo(
        f"scheduler: {len(scheduler.source_ids)} sources scheduled: "
        f"{', '.join(scheduler.source_ids) or '-'}"
    )
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        engine.dispose()


COMMANDS: list[click.Command] = [sync_group, import_cmd, scheduler_cmd]
