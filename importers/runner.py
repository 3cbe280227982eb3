"""The sync runner: platform pages into the ledger, one committed page at a time.

For each page: map the rows to records, append them with
:func:`ledger.entries.append.append_records` (``supersede=True``: the platform is the source of
truth for its own records, so a changed record becomes a reversal plus a new credit, history kept),
then :func:`ledger.sync.runs.record_page` advances the cursor, counts the page, quarantines
the invalid rows and clears the ones the platform has fixed. A crash anywhere re-reads at most
one page, whose records are then duplicates.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import queue
import socket
import threading
import uuid
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from importers.config import PullConfig, RetryPolicy, lease_seconds, parse_pull_config
from importers.errors import ImporterError, SourceBusyError
from importers.files import check_export, read_pages
from importers.mapping import REQUIRED_FIELDS, FieldMapping, file_mapping
from importers.rest import Page, PlatformClient, RestAdapter
from ledger.canonical import sha256_hex
from ledger.db.faults import describe, is_unavailable
from ledger.entries.append import MAX_BATCH, RecordResult, Status, append_records
from ledger.entries.sources import get_source
from ledger.errors import LedgerError
from ledger.sync.leases import acquire_lease, release_lease
from ledger.sync.quarantine import Quarantine
from ledger.sync.runs import (
    PageCounts,
    RunInfo,
    RunTrigger,
    finish_run,
    get_cursor,
    record_page,
    start_run,
)
from ledger.values.texts import storable

log = logging.getLogger(__name__)
Progress = Callable[[PageCounts], None]
_KEPT = {Status.CREATED, Status.DUPLICATE, Status.SUPERSEDED}


def new_holder() -> str:
    """A name for this process as a lease holder: host, pid and a random part."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _jsonable(value: Any) -> Any:
    """A raw row as JSON can store it (Decimals and dates from parsing become text)."""
    if isinstance(value, str):
        return storable(value)  # a lone surrogate or NUL: no database takes it as it is
    if isinstance(value, Mapping):
        return {storable(str(k)): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal | dt.date | dt.datetime | dt.time):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return value


def record_key(external_id: Any, row: Mapping[str, Any]) -> str:
    """How a quarantined row is known: the platform's record id, else a digest of the row."""
    if isinstance(external_id, str) and external_id.strip():
        return storable(external_id.strip()[:140])
    return "sha256:" + sha256_hex(_jsonable(row))


def _external_id(value: Any) -> str | None:
    """A quarantined row's external id, as far as it is a text that can be kept."""
    return storable(value) if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class _Outcome:
    counts: PageCounts
    quarantine: list[Quarantine]
    cleared: list[str]


def _judge(
    rows: list[dict[str, Any]],
    records: list[dict[str, Any]],
    results: list[RecordResult],
    *,
    mapping: FieldMapping,
) -> _Outcome:
    counts = PageCounts(fetched=len(rows))
    quarantine: list[Quarantine] = []
    cleared: list[str] = []
    for row, rec, result in zip(rows, records, results, strict=True):
        if result.status in _KEPT:
            if result.status == Status.CREATED:
                counts.created += 1
            elif result.status == Status.DUPLICATE:
                counts.duplicates += 1
            else:
                counts.superseded += 1
            if result.external_id:
                cleared.append(result.external_id)
            continue
        # Rejected, or a conflict (the same record id twice in one page with different content).
        counts.rejected += 1
        quarantine.append(
            Quarantine(
                record_key=record_key(rec.get("external_id"), row),
                external_id=_external_id(rec.get("external_id")),
                reason=result.errors or {"_record": [result.status]},
                payload=_jsonable(row),
                id_field=mapping.id_field,
            )
        )
    return _Outcome(counts, quarantine, cleared)


def _commit_page(
    session: Session,
    source_id: str,
    run_id: int,
    rows: list[dict[str, Any]],
    *,
    mapping: FieldMapping,
    actor: str,
    cursor: Mapping[str, Any] | None,
    lease: tuple[str, dt.timedelta] | None,
) -> PageCounts:
    records = [mapping.to_record(row) for row in rows]
    results: list[RecordResult] = []
    # A platform may ignore the page size it was asked for; the ledger takes MAX_BATCH at a time.
    for start in range(0, len(records), MAX_BATCH):
        chunk = records[start : start + MAX_BATCH]
        results += append_records(session, source_id, chunk, actor=actor, supersede=True)
    outcome = _judge(rows, records, results, mapping=mapping)
    # A row quarantined and then fixed later in the same page must end up cleared.
    fixed = set(outcome.cleared)
    quarantine = [q for q in outcome.quarantine if q.record_key not in fixed]
    record_page(
        session,
        run_id,
        cursor=cursor,
        counts=outcome.counts,
        quarantine=quarantine,
        cleared=outcome.cleared,
        lease=lease,
    )
    return outcome.counts


_END = object()


def prefetched(pages: Iterator[Page], *, join_timeout: float = 60.0) -> Generator[Page]:
    """Fetch the next page in a background thread while the caller commits the current one.

    Over a real network a page takes as long to arrive as to commit; overlapping the two nearly
    halves a sync. The cursor is unaffected: the caller still saves each page's cursor only
    after committing it. At most two pages are in memory at once (the queue holds one).

    Raises:
        Exception: whatever fetching a page raised, when the caller reaches that page.
    """
    handoff: queue.Queue[object] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def hand(item: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def fetch() -> None:
        try:
            for page in pages:
                if not hand(page):
                    return
            hand(_END)
        except BaseException as exc:  # handed to the caller's thread and raised there
            hand(exc)

    worker = threading.Thread(target=fetch, name="sync-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = handoff.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, Page)
            yield item
    finally:
        stop.set()
        worker.join(join_timeout)


def _describe(exc: BaseException) -> str:
    code = getattr(exc, "code", type(exc).__name__)
    return f"{code}: {exc}"


def _pull_settings(session: Session, source_id: str) -> tuple[PullConfig, dt.timedelta]:
    """The source's pull configuration and how long its sync lease lasts."""
    info = get_source(session, source_id)
    return parse_pull_config(info.config), dt.timedelta(seconds=lease_seconds(info.config))


def sync_source(
    session: Session,
    source_id: str,
    *,
    trigger: RunTrigger = RunTrigger.MANUAL,
    holder: str | None = None,
    retry: RetryPolicy | None = None,
    progress: Progress | None = None,
) -> RunInfo:
    """Sync one source from its platform, from its saved cursor to the end of its feed.

    The run is recorded whatever happens. A platform that keeps failing ends the run as
    ``failed`` with the reason; everything committed before stays, and the next run resumes.

    Raises:
        UnknownSourceError: no such source.
        ConfigError: the source has no (valid) pull configuration.
        CredentialsError: a credential's environment variable is not set.
        SourceBusyError: another process is syncing this source right now.
    """
    config, ttl = _pull_settings(session, source_id)
    holder = holder or new_holder()
    client = PlatformClient(config, retry=retry)
    try:
        if not acquire_lease(session, source_id, holder, ttl=ttl):
            raise SourceBusyError(f"source {source_id!r} is being synced by another process")
        try:
            run_id = start_run(session, source_id, trigger=trigger, holder=holder)
            error: str | None = None
            try:
                _pull_pages(session, source_id, run_id, config, client, (holder, ttl), progress)
            except (ImporterError, LedgerError) as exc:
                error = _describe(exc)
                log.warning("sync of %s failed: %s", source_id, error)
            except BaseException as exc:
                # Record the failure, then let the unexpected error (or Ctrl-C) go on up. A
                # database that is gone cannot record it: the next run closes this one.
                reason = f"interrupted: {type(exc).__name__}"
                _unless_database_is_gone(lambda: finish_run(session, run_id, error=reason))
                raise
            finished = finish_run(session, run_id, error=error)
        except BaseException:
            # The lease runs out by itself if the database cannot take it back now.
            _unless_database_is_gone(lambda: release_lease(session, source_id, holder))
            raise
        release_lease(session, source_id, holder)
        return finished
    finally:
        client.close()


def _pull_pages(
    session: Session,
    source_id: str,
    run_id: int,
    config: PullConfig,
    client: PlatformClient,
    lease: tuple[str, dt.timedelta],
    progress: Progress | None,
) -> None:
    """Fetch the platform's pages from the saved cursor and commit each, with its cursor."""
    pages = RestAdapter(config, client).pages(get_cursor(session, source_id))
    join_timeout = config.connect_timeout + config.read_timeout
    # closing(): stop the prefetching thread as soon as the loop ends, however it ends.
    with closing(prefetched(pages, join_timeout=join_timeout)) as stream:
        for page in stream:
            counts = _commit_page(
                session,
                source_id,
                run_id,
                page.rows,
                mapping=config.mapping,
                actor=f"sync:{source_id}",
                cursor=page.cursor,
                lease=lease,
            )
            if progress is not None:
                progress(counts)


def _unless_database_is_gone(action: Callable[[], object]) -> None:
    """Run ``action`` (bookkeeping while another error is on its way up); if the database cannot
    serve, log that and let the error on its way up be the one raised."""
    try:
        action()
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        log.warning("sync bookkeeping skipped: the database is unavailable (%s)", describe(exc))


def import_file(
    session: Session,
    source_id: str,
    path: Path,
    *,
    mapping: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
    page_size: int = 1000,
) -> RunInfo:
    """Import a platform's CSV or XLSX export as the source's records.

    The mapping is ``mapping`` if given, else the source's ``file_mapping``, else the standard
    Chinese headers. Like a sync, changed records supersede, invalid rows are quarantined, and
    importing the same file again appends nothing.

    Raises:
        UnknownSourceError: no such source.
        ConfigError: the mapping is malformed.
        FileFormatError: the file is not a readable CSV/XLSX export, or is wrong as a whole
            (see :func:`importers.files.check_export`); nothing of it is imported then.
    """
    info = get_source(session, source_id)
    raw_mapping = mapping if mapping is not None else (info.config or {}).get("file_mapping")
    field_mapping = file_mapping(raw_mapping)
    # The whole file is read once before a run is recorded: a file that is wrong as a whole
    # (its encoding, a missing column, a cell too large ...) is refused with nothing imported.
    required = {name: field_mapping.fields[name] for name in REQUIRED_FIELDS}
    check_export(path, required, field_mapping.fields.get("id_number", ()))
    pages = read_pages(path, page_size)
    run_id = start_run(session, source_id, trigger=RunTrigger.IMPORT, holder=new_holder())
    error: str | None = None
    try:
        for rows in pages:
            counts = _commit_page(
                session,
                source_id,
                run_id,
                rows,
                mapping=field_mapping,
                actor=f"import:{path.name}"[:128],
                cursor=None,
                lease=None,
            )
            if progress is not None:
                progress(counts)
    except (ImporterError, LedgerError, UnicodeDecodeError, ValueError) as exc:
        error = _describe(exc)
    except BaseException as exc:
        finish_run(session, run_id, error=f"interrupted: {type(exc).__name__}")
        raise
    return finish_run(session, run_id, error=error)
