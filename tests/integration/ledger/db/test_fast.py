"""The driver-level fast paths (``ledger.db.fast``) give exactly what SQLAlchemy's own paths
give: the same rows with the same typed values, the same rows written, the same errors."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from ledger.attestations import issuance
from ledger.attestations.tables import Attestation, AttestationEntry, AttestationEvent
from ledger.compliance import evaluation
from ledger.db import fast
from ledger.db.engine import make_engine, make_session_factory
from ledger.db.transactions import read_transaction, write_transaction
from ledger.entries import append, reversal, storage
from ledger.entries.append import append_records
from ledger.entries.reversal import reverse_record
from ledger.entries.tables import Balance, Entry, Person, Record, Source
from ledger.errors import LedgerError
from tests.conftest import fresh_database
from tests.factories import city_source, record


class EntryTimes(NamedTuple):
    id: int
    external_id: str
    completed_on: dt.date
    recorded_at: dt.datetime


def test_fast_rows_equal_sqlalchemys_and_errors_stay_sqlalchemys(session: Session) -> None:
    """``fetch`` (the driver's cursor) returns the rows SQLAlchemy returns, typed alike, and
    driver errors are SQLAlchemy's exceptions, without the parameters (they may hold an ID
    number)."""
    source = city_source(session)
    append_records(session, source, [record("r-1"), record("r-2", hours="2.5")], actor="t")
    columns = select(Entry.id, Entry.external_id, Entry.completed_on, Entry.recorded_at)
    by_person = fast.Query(
        columns.where(Entry.person_id == bindparam("p")).order_by(Entry.id), EntryTimes
    )
    with read_transaction(session):
        person_id = session.scalars(select(Entry.person_id)).first()
        ours = fast.fetch(session, by_person, {"p": person_id})
        theirs = session.connection().execute(by_person.statement, {"p": person_id}).all()
    assert [tuple(r) for r in ours] == [tuple(r) for r in theirs]
    assert typed(ours) == typed([tuple(r) for r in theirs])
    assert len(ours) == 2

    duplicate = insert(Source.__table__).values(
        id=bindparam("id"), kind="city", region_code="330800", display_name="x"
    )
    with pytest.raises(IntegrityError) as raised, write_transaction(session):
        fast.execute(session, duplicate, {"id": source})
    assert "[parameters:" not in str(raised.value)  # hidden: they may hold an ID number

    expanding = columns.where(Entry.id.in_(bindparam("ids", expanding=True)))
    with pytest.raises(ValueError, match="expanding"), read_transaction(session):
        fast.fetch(session, fast.Query(expanding, EntryTimes), {})


class Text(NamedTuple):
    value: str


class Flag(NamedTuple):
    value: bool


def test_a_statement_of_its_own_runs_without_begin_on_postgresql(session: Session) -> None:
    """``fetch_alone`` reads without a transaction block on PostgreSQL (autocommit: its
    statement is a transaction of its own, no BEGIN and COMMIT round trips), reads in the
    caller's transaction when one is open, and leaves the connection as it found it, even when
    the statement fails."""
    source = city_source(session)
    append_records(session, source, [record("r-1")], actor="t")
    external_ids = fast.Query(select(Entry.external_id).where(Entry.person_id.is_not(None)), Text)
    assert fast.fetch_alone(session, external_ids, {}) == [("r-1",)]
    assert not session.in_transaction()
    if session.get_bind().dialect.name == "postgresql":
        # In a transaction block now() is when it began, before this statement; alone, the same.
        alone = fast.Query(select(func.now() == func.statement_timestamp()), Flag)
        assert fast.fetch_alone(session, alone, {}) == [(True,)]
        with read_transaction(session):
            fast.fetch(session, external_ids, {})
            assert fast.fetch_alone(session, alone, {}) == [(False,)]  # the caller's transaction

    failing = fast.Query(select(func.no_such_function()), Text)
    with pytest.raises(DBAPIError):
        fast.fetch_alone(session, failing, {})
    assert not session.in_transaction()
    with read_transaction(session):  # still usable, and transactional again
        raw = session.connection().connection.dbapi_connection
        assert getattr(raw, "autocommit", False) is False
        assert fast.fetch(session, external_ids, {}) == [("r-1",)]


def test_a_query_needs_a_field_for_each_column() -> None:
    with pytest.raises(ValueError, match="field for each"):
        fast.Query(select(Entry.id, Entry.hours), EntryTimes)


# --- the property: fast and plain paths agree ----------------------------------------------------


def typed(rows: Any) -> Any:
    """Rows as (type, repr) of every value, nested tuples unpacked: equal only when the values
    are equal *and* of the same type and form (Decimal("2.0") is not Decimal("2"), a UTC
    timestamp is not the same instant in another zone)."""
    if isinstance(rows, tuple | list):
        return [typed(v) for v in rows]
    return (type(rows).__name__, repr(rows))


@pytest.fixture
def twins(
    request: pytest.FixtureRequest, sqlite_template: Path, pg_template: str | None, tmp_path: Path
) -> Iterator[tuple[Session, Session]]:
    """Two fresh databases of the kind under test: one written through the fast paths, one
    through SQLAlchemy's (:func:`ledger.db.fast.plain_paths`)."""
    kind = request.node.callspec.params["kind"]
    urls = [fresh_database(kind, sqlite_template, pg_template, tmp_path) for _ in range(2)]
    engines = [make_engine(next(u)) for u in urls]
    sessions = [make_session_factory(e)() for e in engines]
    yield sessions[0], sessions[1]
    for s, e, u in zip(sessions, engines, urls, strict=True):
        s.close()
        e.dispose()
        next(u, None)


@pytest.fixture
def deterministic(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """Person ids and append times that repeat from one twin to the other, so that both write
    identical rows (hashes included). Call the result with a twin's number before using it."""
    counters = [(itertools.count(1), itertools.count(1)) for _ in range(2)]
    active = [counters[0]]

    def person_ids(count: int) -> list[str]:
        return [f"p_{next(active[0][0]):024d}" for _ in range(count)]

    def now() -> dt.datetime:
        base = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
        return base + dt.timedelta(seconds=next(active[0][1]), microseconds=123456)

    monkeypatch.setattr(storage, "new_person_ids", person_ids)
    for module in (storage, append, reversal):
        monkeypatch.setattr(module, "utc_now", now)
    return lambda twin: active.__setitem__(0, counters[twin])


_HOURS = st.sampled_from(["0.5", "1", "2.0", "12.5", "40", "199.9"])
_DAYS = st.dates(dt.date(2018, 1, 1), dt.date(2024, 12, 31)).map(dt.date.isoformat)
_RECORDS = st.lists(
    st.fixed_dictionaries(
        {
            "external_id": st.sampled_from([f"x-{i}" for i in range(8)]),
            "person": st.integers(1, 4),
            "category": st.sampled_from(["specialised", "industry_public", "general_public"]),
            "hours": _HOURS,
            "completed_on": _DAYS,
        },
        optional={"course": st.fixed_dictionaries({"title": st.sampled_from(["课程", "法规"])})},
    ),
    min_size=1,
    max_size=12,
)
_BATCHES = st.lists(st.tuples(_RECORDS, st.booleans()), min_size=1, max_size=3)


def _append_batch(session: Session, raw: list[dict[str, Any]], supersede: bool) -> Any:
    records = [
        record(r["external_id"], **{k: v for k, v in r.items() if k != "external_id"}) for r in raw
    ]
    return append_records(session, "quzhou-city", records, actor="t", supersede=supersede)


def _reverse(session: Session, external_id: str) -> Any:
    try:
        return reverse_record(session, "quzhou-city", external_id, reason="test", actor="t")
    except LedgerError as exc:  # not held, or reversed already: the same refusal on both paths
        return type(exc).__name__


def _everything(session: Session) -> Any:
    """Every row of the ledger's tables, read through SQLAlchemy's typed ORM."""
    tables = (
        (Person, (Person.id,)),
        (Entry, (Entry.id,)),
        (Record, (Record.source_id, Record.external_id)),
        (Balance, (Balance.person_id, Balance.year, Balance.category, Balance.source_id)),
    )
    with read_transaction(session):
        return typed(
            [
                [tuple(r) for r in session.execute(select(*m.__table__.columns).order_by(*o))]
                for m, o in tables
            ]
        )


class PersonNumber(NamedTuple):
    id_number: str
    id: str
    head_hash: str | None
    entry_count: int


def _reads(session: Session) -> Any:
    """What evaluations, issuance and appends read through the door, for every person."""
    out: list[Any] = []
    with read_transaction(session):
        people = session.scalars(select(Person.id).order_by(Person.id)).all()
        numbers = sorted(session.scalars(select(Person.id_number)).all())
        for pid in people:
            span = {"person_id": pid, "first": 2017, "last": 2025}
            out.append(fast.fetch(session, evaluation._EXPLAINED, span))
            out.append(fast.fetch(session, evaluation._ENTRIES, span))
            out.append(fast.fetch(session, evaluation._BALANCES, span))
            out.append(fast.fetch(session, evaluation._PERSON, {"person_id": pid}))
            out.append(fast.fetch(session, issuance._LOCK_BY_ID, {"person_id": pid}))
        out.append(fast.lookup_rows(session, storage.PEOPLE, storage.ChainHead, "id", people))
        out.append(fast.lookup_rows(session, storage.PEOPLE, PersonNumber, "id_number", numbers))
        held = [f"x-{i}" for i in range(8)]
        where = ("source_id", "quzhou-city")
        out.append(
            fast.lookup_rows(
                session, storage.RECORDS, storage.RecordRow, "external_id", held, where=where
            )
        )
    return typed(out)


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
# Each example writes two databases: a fixed set of examples (derandomize: the same in every
# run), and no shrinking, which would take minutes of database work to report a failure.
@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(batches=_BATCHES, reverse=st.sampled_from([None, "x-0", "x-3"]))
def test_the_fast_and_the_plain_paths_write_and_read_identical_typed_values(
    kind: str,
    twins: tuple[Session, Session],
    deterministic: Callable[[int], None],
    batches: list[tuple[list[dict[str, Any]], bool]],
    reverse: str | None,
) -> None:
    """The same appends, supersedes and reversals through the fast paths and through
    SQLAlchemy's give the same answers, the same rows in every table (hashes included) and,
    read back either way, the same typed values."""
    outcomes = []
    for twin, session in enumerate(twins):
        deterministic(twin)
        with fast.plain_paths() if twin else contextlib.nullcontext():
            with read_transaction(session):
                new = session.get(Source, "quzhou-city") is None
            if new:
                city_source(session)
            answers = [_append_batch(session, raw, supersede) for raw, supersede in batches]
            if reverse is not None:
                answers.append(_reverse(session, reverse))
            reads = _reads(session)
        with fast.plain_paths():
            assert _reads(session) == reads  # one database, read both ways
        outcomes.append((answers, _everything(session), reads))
    assert outcomes[0] == outcomes[1]


def test_an_issued_attestation_is_stored_alike_in_one_statement_or_three(
    db_url: str, session: Session
) -> None:
    """PostgreSQL stores an issuance in one statement; the portable path takes three. Both
    leave the same rows."""
    source = city_source(session)
    (result,) = append_records(session, source, [record("r-1", person=7)], actor="t")
    stored = []
    for n, plain in enumerate((False, True)):
        now = dt.datetime(2025, 3, 1, 8, 0, tzinfo=dt.UTC)
        row = issuance.AttestationRow(
            jti=f"att_{n}",
            person_id=result.person_id or "",
            profile_id="quzhou-annual-90",
            profile_version="1",
            profile_digest="ab" * 32,
            as_of=dt.date(2024, 12, 31),
            application_ref=None,
            kid="kid",
            token="t.o.k",
            compliant=False,
            status="valid",
            status_reason=None,
            status_changed_at=now,
            issued_by="filing",
            issued_at=now,
            expires_at=now + dt.timedelta(days=90),
            status_position=n,
        )
        path = fast.plain_paths() if plain else contextlib.nullcontext()
        with path, write_transaction(session):
            issuance.store_issued(session, row, [result.entry_id or 0])
        with read_transaction(session):
            tables = []
            for model in (Attestation, AttestationEntry, AttestationEvent):
                # Everything but what differs on purpose (the jti, the status list place) and
                # the event's serial id.
                skip = ("jti", "id", "status_position")
                columns = [c for c in model.__table__.columns if c.name not in skip]
                rows = session.execute(select(*columns).where(model.jti == row.jti))
                tables.append([tuple(r) for r in rows])
        stored.append(typed(tables))
    assert stored[0] == stored[1]
