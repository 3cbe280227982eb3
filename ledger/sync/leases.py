"""Sync leases: one sync per source at a time, across processes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlalchemy.orm import Session

from ledger.db.transactions import run_with_retries, write_transaction
from ledger.entries.tables import Source
from ledger.errors import UnknownSourceError
from ledger.sync.tables import SyncLease, upsert_into


def acquire_lease(
    session: Session,
    source_id: str,
    holder: str,
    *,
    ttl: dt.timedelta,
    now: dt.datetime | None = None,
) -> bool:
    """Take the source's sync lease for ``ttl`` unless someone else holds a live one.

    One conditional upsert decides it, so two schedulers (or a scheduler and a manual sync)
    asking at the same moment cannot both win, on SQLite or PostgreSQL. The holder that has it
    already simply extends it.

    Raises:
        UnknownSourceError: no such source.
    """
    at = now or _now()

    def transaction() -> bool:
        with write_transaction(session):
            if session.get(Source, source_id) is None:
                raise UnknownSourceError(f"unknown source {source_id!r}")
            ins = upsert_into(session, SyncLease).values(
                source_id=source_id, holder=holder, acquired_at=at, expires_at=at + ttl
            )
            stmt = ins.on_conflict_do_update(
                index_elements=["source_id"],
                set_={
                    "holder": ins.excluded.holder,
                    "acquired_at": ins.excluded.acquired_at,
                    "expires_at": ins.excluded.expires_at,
                },
                where=(SyncLease.expires_at <= at) | (SyncLease.holder == holder),
            )
            # RETURNING rather than rowcount: psycopg reports no rowcount for an upsert.
            taken = session.execute(stmt.returning(SyncLease.holder)).first()
            return taken is not None

    return run_with_retries(transaction)


def release_lease(session: Session, source_id: str, holder: str) -> None:
    """Give the lease back (only if ``holder`` still holds it)."""

    def transaction() -> None:
        with write_transaction(session):
            session.execute(
                update(SyncLease)
                .where(SyncLease.source_id == source_id, SyncLease.holder == holder)
                .values(expires_at=_now())
            )

    run_with_retries(transaction)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
