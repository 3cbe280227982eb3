"""The sequencer: every committed entry becomes the next leaf of the log, in entry-id order.

Why a sequencer rather than leaves written by the append itself: an append on PostgreSQL takes
its entry ids from a sequence and other appends run beside it, so commits do not come in id
order; leaves written in each append's transaction would need one lock held by every append
from its first id to its commit, making appends run one at a time. Instead the append path is
untouched but for one shared lock, and :func:`integrate` (run every few seconds by the log
publisher, and on demand) takes the entries that came since the last leaf, in id order:

- **No committed entry is ever left out.** Integration takes every entry with an id above the
  last leaf's, up to a *horizon* below which no entry can still be uncommitted. On SQLite a
  write transaction holds the database's write lock, so nothing is in flight and the horizon is
  everything committed. On PostgreSQL each append takes a transaction advisory lock in shared
  mode in the statement that takes its entry ids
  (``ledger.entries.storage``), before it takes entry ids; :func:`_horizon` takes the same lock
  exclusively, which waits until every append that might hold ids has committed or rolled back,
  reads the sequence's last value and lets go at once. An id at or below it is committed, or
  rolled back and never will be.
- **A crash never leaves log and ledger disagreeing.** An integration is one transaction: leaves,
  nodes and the new tree head commit together or not at all, and the next run starts from the
  last head. Two integrations at once serialise on a second lock (PostgreSQL) or the write lock
  (SQLite); the unique leaf index and entry id refuse a double in any case.

``cehours ledger verify`` checks the result: the leaves are exactly the entries up to the last
head, in id order, and every node and head recomputes (:mod:`ledger.log.audit`).
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ledger.db.transactions import read_transaction, run_with_retries, write_transaction
from ledger.entries.storage import APPEND_LOCK
from ledger.entries.tables import Entry
from ledger.log.merkle import EMPTY_ROOT
from ledger.log.tree import Head, latest_head, plan_leaves, write_planned

# Advisory lock keys (PostgreSQL, per database): appends share APPEND_LOCK when they take entry
# ids (ledger.entries.storage); the horizon takes it alone for an instant. Integrations take
# INTEGRATE_LOCK, so that only one runs at a time.
INTEGRATE_LOCK = APPEND_LOCK + 1
BATCH = 20_000

_BARRIER = text(f"SELECT pg_advisory_xact_lock({APPEND_LOCK})")
_INTEGRATING = text(f"SELECT pg_advisory_xact_lock({INTEGRATE_LOCK})")
_LAST_ID = text("SELECT pg_sequence_last_value(pg_get_serial_sequence('entries', 'id')::regclass)")


class Integrated(NamedTuple):
    """The tree after an integration, and how many leaves it added."""

    tree_size: int
    root_hash: bytes
    added: int


def _horizon(session: Session) -> int | None:
    """The highest entry id no uncommitted entry can be at or below (None: all committed)."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    with write_transaction(session):
        session.execute(_BARRIER)
        last = session.scalar(_LAST_ID)
    return int(last) if last is not None else 0


def integrate(session: Session, *, batch: int = BATCH) -> Integrated:
    """Append every settled entry not yet in the log as the next leaves, in id order, in
    transactions of at most ``batch`` entries; return the tree as it then stands.

    Raises:
        MissingNodeError: the stored tree lacks a node of its frontier (it was damaged).
    """
    horizon = _horizon(session)
    added = 0
    while True:
        head, count = run_with_retries(lambda: _integrate_batch(session, horizon, batch))
        added += max(count, 0)
        if 0 <= count < batch:
            break
    if head is None:
        return Integrated(0, EMPTY_ROOT, 0)
    return Integrated(head.tree_size, head.root_hash, added)


def _integrate_batch(session: Session, horizon: int | None, batch: int) -> tuple[Head | None, int]:
    """One batch: read and hash without a write lock, then write if the head has not moved
    meanwhile (count -1: it moved, another integration got there first; go again)."""
    with read_transaction(session):
        head = latest_head(session)
        after = head.last_entry_id if head else 0
        query = select(Entry.id, Entry.hash).where(Entry.id > after)
        if horizon is not None:
            query = query.where(Entry.id <= horizon)
        rows = session.execute(query.order_by(Entry.id).limit(batch)).all()
        if not rows:
            return head, 0
        planned = plan_leaves(session, head, [(r.id, bytes.fromhex(r.hash)) for r in rows])
    # The write lock (SQLite) or the integration lock (PostgreSQL) is held for the inserts
    # only: appends wait for no hashing.
    with write_transaction(session):
        if session.get_bind().dialect.name == "postgresql":
            session.execute(_INTEGRATING)
        if latest_head(session) != head:
            return head, -1
        return write_planned(session, planned, dt.datetime.now(dt.UTC)), len(rows)
