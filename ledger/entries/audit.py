"""``cehours ledger verify``: walk every hash chain and rebuild every balance from entries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.db.transactions import read_transaction
from ledger.entries.chain import HASHED_FIELDS, entry_hash
from ledger.entries.tables import Balance, Entry, Person, Record, Source

MAX_PROBLEMS = 1000


@dataclass(slots=True)
class VerifyReport:
    """The outcome of a verification: ``ok`` only when nothing at all was found."""

    people: int = 0
    entries: int = 0
    balances: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, text: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)


class Progress(Protocol):
    """Told how much work a verification has (``start``) and how it goes (``advance``)."""

    def start(self, total: int) -> None: ...

    def advance(self, done: int) -> None: ...


_BATCH = 5000

_Sums = dict[tuple[str, int, str, str], list[Decimal | int]]


def verify_ledger(session: Session, progress: Progress | None = None) -> VerifyReport:
    """Check every person's chain (sequence, links, hashes, head), every balance, every record's
    entry, and that every row names a person and a source that exist. ``progress`` is given
    the number of entries, then told of every batch of them checked.

    Entries are streamed in chain order, so memory stays flat however large the ledger is.
    """
    report = VerifyReport()
    with read_transaction(session):
        if progress is not None:
            progress.start(session.scalar(select(func.count()).select_from(Entry)) or 0)
        sums = _check_chains(session, report, progress)
        _check_balances(session, report, sums)
        _check_records(session, report)
        _check_references(session, report)
        _check_uniqueness(session, report)
        _check_corrections(session, report)
    return report


def _check_chains(session: Session, report: VerifyReport, progress: Progress | None) -> _Sums:
    """Walk every chain; return the hours and entry counts the entries give per balance key."""
    heads = {
        pid: (head, count)
        for pid, head, count in session.execute(
            select(Person.id, Person.head_hash, Person.entry_count)
        )
    }
    report.people = len(heads)
    columns = [getattr(Entry, name) for name in ("id", "hash", *HASHED_FIELDS)]
    stmt = select(*columns).order_by(Entry.person_id, Entry.seq)
    current: str | None = None
    prev_hash: str | None = None
    expected_seq = 1
    sums: _Sums = defaultdict(lambda: [Decimal("0.0"), 0])
    for row in session.execute(stmt.execution_options(yield_per=5000)):
        fields = row._asdict()
        pid = fields["person_id"]
        if pid != current:
            if current is not None:
                _check_head(report, current, heads, prev_hash, expected_seq - 1)
            current, prev_hash, expected_seq = pid, None, 1
        _check_entry(report, fields, prev_hash, expected_seq)
        prev_hash = fields["hash"]
        expected_seq = fields["seq"] + 1
        report.entries += 1
        if progress is not None and report.entries % _BATCH == 0:
            progress.advance(_BATCH)
        key = (pid, fields["year"], fields["category"], fields["source_id"])
        sums[key][0] += fields["hours"]
        sums[key][1] += 1
    if current is not None:
        _check_head(report, current, heads, prev_hash, expected_seq - 1)
    if progress is not None:
        progress.advance(report.entries % _BATCH)
    # One set of the people seen, not one per person: this loop is over every person.
    seen = {k[0] for k in sums}
    for pid, (_head, count) in heads.items():
        if count and pid not in seen:
            report.problem(f"person {pid}: head says {count} entries but none were found")
    return sums


def _check_entry(
    report: VerifyReport, fields: dict[str, Any], prev_hash: str | None, expected_seq: int
) -> None:
    """One entry: its place in the chain, its link to the one before, its own hash."""
    name = f"entry {fields['id']} (person {fields['person_id']}, seq {fields['seq']})"
    if fields["seq"] != expected_seq:
        report.problem(f"{name}: sequence gap, expected seq {expected_seq}")
    if fields["prev_hash"] != prev_hash:
        report.problem(f"{name}: prev_hash does not match the previous entry's hash")
    recomputed = entry_hash(fields)
    if recomputed != fields["hash"]:
        report.problem(
            f"{name}: hash mismatch (stored {fields['hash'][:16]}..., "
            f"recomputed {recomputed[:16]}...): the entry was altered"
        )


def _check_balances(session: Session, report: VerifyReport, sums: _Sums) -> None:
    """Every stored balance equals what the entries give, and none is missing."""
    stored = {
        (b.person_id, b.year, b.category, b.source_id): (b.hours, b.entry_count)
        for b in session.scalars(select(Balance))
    }
    report.balances = len(stored)
    for key in sorted(set(stored) | set(sums)):
        want = sums.get(key, [Decimal("0.0"), 0])
        have = stored.get(key, (Decimal("0.0"), 0))
        if (Decimal(want[0]), int(want[1])) != (have[0], have[1]):
            pid, year, category, source = key
            report.problem(
                f"balance of person {pid}, {year}, {category}, source {source}: stored "
                f"{have[0]} h over {have[1]} entries, entries give {want[0]} h over {want[1]}"
            )


def _check_records(session: Session, report: VerifyReport) -> None:
    """Every record points at an entry of its own (source, external id)."""
    orphans = session.scalar(
        select(func.count())
        .select_from(Record)
        .outerjoin(Entry, Entry.id == Record.entry_id)
        .where(
            (Entry.id.is_(None))
            | (Entry.external_id != Record.external_id)
            | (Entry.source_id != Record.source_id)
        )
    )
    if orphans:
        report.problem(f"{orphans} records point at an entry of another record or none")


def _check_references(session: Session, report: VerifyReport) -> None:
    """Every entry, record and balance names a person and a source that exist.

    The database holds no foreign keys for these (each would be a locked read per appended
    entry, see migration 0005); rows of people and sources cannot be deleted or renumbered, so
    only a write that bypassed the ledger's code could leave a dangling name, and this finds it.
    """
    for model in (Entry, Record, Balance):
        table = model.__tablename__
        for column, parent in ((model.person_id, Person.id), (model.source_id, Source.id)):
            dangling = session.scalar(
                select(func.count())
                .select_from(model)
                .where(~select(parent).where(parent == column).exists())
            )
            if dangling:
                what = column.key.removesuffix("_id")
                report.problem(f"{dangling} {table} name a {what} that does not exist")


# What a partitioned entries (PostgreSQL, migration 0013) can no longer refuse by itself: its
# unique constraints hold within one year's partition only. The append path holds them (one
# sequence for ids, the person's row locked while their chain grows, the record's row locked
# while its versions grow); these find any row that got past it.
_UNIQUE = (
    ("entry id", (Entry.id,)),
    ("place in a chain (person, seq)", (Entry.person_id, Entry.seq)),
    ("reversal of one entry", (Entry.reverses_id,)),
    (
        "record version (source, external id, version, kind)",
        (Entry.source_id, Entry.external_id, Entry.record_version, Entry.kind),
    ),
)


def _check_uniqueness(session: Session, report: VerifyReport) -> None:
    """No two entries share an id, a place in a chain, the entry they reverse, or a record's
    version and kind."""
    for what, columns in _UNIQUE:
        stmt = (
            select(*columns, func.count().label("n"))
            .where(*(c.is_not(None) for c in columns))
            .group_by(*columns)
            .having(func.count() > 1)
            .order_by(*columns)
            .limit(10)
        )
        for row in session.execute(stmt):
            key = ", ".join(str(v) for v in row[:-1])
            report.problem(f"{row.n} entries share one {what}: {key}")


def _check_corrections(session: Session, report: VerifyReport) -> None:
    """Every reversal and superseding credit names an entry that exists (no foreign key holds
    this on a partitioned entries)."""
    for column in (Entry.reverses_id, Entry.supersedes_id):
        other = Entry.__table__.alias("target")
        dangling = session.scalar(
            select(func.count())
            .select_from(Entry)
            .where(column.is_not(None))
            .where(~select(other.c.id).where(other.c.id == column).exists())
        )
        if dangling:
            report.problem(f"{dangling} entries name in {column.key} an entry that does not exist")


def _check_head(
    report: VerifyReport,
    pid: str,
    heads: dict[str, tuple[str | None, int]],
    last_hash: str | None,
    last_seq: int,
) -> None:
    head, count = heads.get(pid, (None, 0))
    if head != last_hash or count != last_seq:
        report.problem(
            f"person {pid}: chain head says {count} entries ending {str(head)[:16]}..., "
            f"the chain has {last_seq} ending {str(last_hash)[:16]}..."
        )
