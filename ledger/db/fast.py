"""The one door to the database driver: prebuilt reads and bulk writes that skip SQLAlchemy's
execution and result layers, returning and taking the same typed values it would.

Why it exists (each measured; the figures are in ``docs/scaling.md``):

- For the few statements of a request that read or write one person, SQLAlchemy's execution
  and result layers cost more than the database does: an attestation's three statements took
  about 0.5 ms less CPU straight on the driver's cursor (measured in-process).
- A read that is one statement needs no transaction around it: on PostgreSQL it runs in
  autocommit, without the ``BEGIN`` and ``COMMIT`` round trips (:func:`fetch_alone`). For an
  explained evaluation over HTTP that took PostgreSQL's CPU a request from about 0.6 to 0.3 ms,
  and the server's in-process from 1.46 to 1.27 ms (``bench/compliance.py``).
- PostgreSQL's driver sends one statement per row for ``executemany``; instead each table of an
  append gets a single ``INSERT ... SELECT FROM unnest(array, ...)`` (or ``UPDATE ... FROM
  unnest``), the batch's values as one array per column, in PostgreSQL's binary format (``%b``):
  in the text format psycopg quotes every element, testing each against a regular expression
  (measured on 30,000 records: 3,800 records/s with text arrays, 5,500 with binary; PostgreSQL's
  own CPU also fell, from 92 to 79 microseconds a record). SQLite runs in-process, so a DBAPI
  ``executemany`` is already cheap there.
- Looking rows up by a list of keys probes each key through the index on PostgreSQL (a lateral
  join over the array of keys): with a long ``IN`` list and a table still small, the planner
  prefers to scan the whole table, once per batch, and an append would slow down with the
  ledger's size.
- An inclusion proof (``ledger.log.proofs``) is four keyed reads: through the session they cost
  2.2 ms of CPU a proof at 10 million leaves, on the driver 0.75 ms (``bench/log.py``).
- The log's integration (``ledger.log.tree``) writes a leaf and about two tree nodes per entry
  beside the appends; through SQLAlchemy's executemany its rounds held SQLite's write lock long
  enough to cost appends about a third of their rate (``bench/log.py``).
- Rows become named tuples built by a function compiled once per statement: building them
  field by field, or through the tuple type's own constructor, was a third of the cost of
  turning an evaluation's rows into facts.

What stays the same: every value read here is what SQLAlchemy's column types would give
(hours as ``Decimal`` from stored tenths, timestamps aware UTC, dates as dates) and every value
written is converted as they would convert it. :func:`plain_paths` runs all of it through
SQLAlchemy instead, and ``tests/integration/ledger/db/test_fast.py`` checks, on SQLite and
PostgreSQL, that both give identical, typed values. Nothing outside this module reads a row by
position.

Driver errors are raised as SQLAlchemy's, but without the parameters (they may hold an ID
number), and a dead connection is invalidated, as SQLAlchemy would.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import functools
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any, Generic, NamedTuple, TypeVar

from sqlalchemy import (
    Boolean,
    Date,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    bindparam,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable, Select
from sqlalchemy.types import NullType, TypeEngine

from ledger.db.faults import sqlite_file_fault
from ledger.db.transactions import read_transaction
from ledger.db.types import Hours, UTCDateTime, hours_from_tenths, tenths_of

RowT = TypeVar("RowT", bound=tuple[Any, ...])
Convert = Callable[[Any], Any]
_POSTGRESQL = postgresql.dialect()  # type: ignore[no-untyped-call]
_plain: contextvars.ContextVar[bool] = contextvars.ContextVar("cehours_plain", default=False)


@contextmanager
def plain_paths() -> Iterator[None]:
    """Within the block, every function here runs through SQLAlchemy's own execution and types
    (the reference the fast paths must equal; for tests)."""
    token = _plain.set(True)
    try:
        yield
    finally:
        _plain.reset(token)


# --- values: what the driver gives and takes, and what the column types make of it ------------


def _utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC)


def _utc_from_text(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)


@functools.lru_cache(maxsize=64)  # a batch's rows share their timestamp
def _utc_text(value: dt.datetime) -> str:
    # What SQLAlchemy writes for a DateTime on SQLite: naive UTC, space, microseconds.
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _date_text(value: dt.date) -> str:
    return value.isoformat()


def _check_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return value


# Values both drivers give and take as they are (bytes for LargeBinary: the log's hashes).
_PLAIN_TYPES = (String, Text, Integer, LargeBinary, NullType)


def _reader(column_type: TypeEngine[Any], dialect: str) -> Convert | None:
    """How a value the driver returned becomes the column type's Python value (None: as is).

    Raises:
        TypeError: a column type this door does not know (read it through SQLAlchemy).
    """
    if isinstance(column_type, Hours):
        return hours_from_tenths
    if isinstance(column_type, UTCDateTime):
        return _utc_from_text if dialect == "sqlite" else _utc
    if isinstance(column_type, Date):
        return dt.date.fromisoformat if dialect == "sqlite" else None
    if isinstance(column_type, Boolean):
        return bool if dialect == "sqlite" else None
    if isinstance(column_type, _PLAIN_TYPES):
        return None
    raise TypeError(f"no fast path reads {column_type!r} columns")


def _writer(column_type: TypeEngine[Any], dialect: str) -> Convert | None:
    """How a Python value becomes what the driver stores for the column type (None: as is)."""
    if isinstance(column_type, Hours):
        return tenths_of
    if isinstance(column_type, UTCDateTime):
        return _utc_text if dialect == "sqlite" else _check_utc
    if isinstance(column_type, Date):
        return _date_text if dialect == "sqlite" else None
    if isinstance(column_type, (Boolean, *_PLAIN_TYPES)):
        return None
    raise TypeError(f"no fast path writes {column_type!r} columns")


def _optional(convert: Convert) -> Convert:
    return lambda value: None if value is None else convert(value)


# --- rows: named tuples, nested where a row type says so ----------------------------------------


def _row_fields(row: type[tuple[Any, ...]]) -> list[tuple[str, type[tuple[Any, ...]] | None]]:
    """A row type's fields, each with the named tuple type it nests, if any: a field annotated
    with a named tuple type takes as many columns as that type has fields."""
    hints = typing.get_type_hints(row)
    fields: list[tuple[str, type[tuple[Any, ...]] | None]] = []
    for name in row._fields:  # type: ignore[attr-defined]
        hint = hints.get(name)
        nested = next((t for t in typing.get_args(hint) or (hint,) if _is_named_tuple(t)), None)
        fields.append((name, nested))
    return fields


def _is_named_tuple(candidate: Any) -> bool:
    return (
        isinstance(candidate, type)
        and issubclass(candidate, tuple)
        and hasattr(candidate, "_fields")
    )


def _flat_width(row: type[tuple[Any, ...]]) -> int:
    return sum(1 if nested is None else _flat_width(nested) for _, nested in _row_fields(row))


def _compile_builder(
    row: type[tuple[Any, ...]], readers: Sequence[Convert | None]
) -> Callable[[Sequence[Sequence[Any]]], list[Any]]:
    """A function turning driver rows into ``row`` tuples (nested ones included), applying each
    column's reader; generated once, because a loop over columns per row cost more than the rest
    of an evaluation's reading."""
    namespace: dict[str, Any] = {"_new": tuple.__new__}
    position = 0

    def expression(kind: type[tuple[Any, ...]]) -> str:
        nonlocal position
        parts = []
        for _, nested in _row_fields(kind):
            if nested is not None:
                parts.append(expression(nested))
                continue
            reader = readers[position]
            value = f"r[{position}]"
            if reader is not None:
                # The None test is written out, not wrapped around the reader (_optional):
                # a Python call per value was a fifth of the calls of a compliance answer.
                namespace[f"c{position}"] = reader
                value = f"(None if {value} is None else c{position}({value}))"
            parts.append(value)
            position += 1
        name = f"T{len(namespace)}"
        namespace[name] = kind
        return f"_new({name}, ({', '.join(parts)},))"

    body = expression(row)
    source = f"def build(rows):\n    return [{body} for r in rows]\n"
    exec(compile(source, f"<rows of {row.__name__}>", "exec"), namespace)  # noqa: S102
    return namespace["build"]  # type: ignore[no-any-return]


class Query(Generic[RowT]):
    """A prebuilt ``SELECT`` and the named tuple type its rows become.

    Build it once, at import: building a statement costs more than running it on a warm
    connection. The row type's fields follow the selected columns in order; a field annotated
    with another named tuple type takes that many columns (e.g. an entry within a row).
    """

    def __init__(self, statement: Select[*tuple[Any, ...]], row: type[RowT]) -> None:
        columns = list(statement.selected_columns)
        if len(columns) != _flat_width(row):
            raise ValueError(f"{row.__name__} does not have a field for each selected column")
        self.statement = statement
        self.row = row
        self._types = [c.type for c in columns]
        self._builders: dict[str, Callable[[Sequence[Sequence[Any]]], list[Any]]] = {}

    def build(self, rows: Sequence[Sequence[Any]], dialect: str | None) -> list[RowT]:
        """Rows as ``row`` tuples; ``dialect`` None: the values are typed already."""
        key = dialect or "typed"
        builder = self._builders.get(key)
        if builder is None:
            readers = [None if dialect is None else _reader(t, dialect) for t in self._types]
            builder = self._builders[key] = _compile_builder(self.row, readers)
        return builder(rows)


# --- running statements on the driver ----------------------------------------------------------


class _Compiled(NamedTuple):
    sql: str
    names: tuple[str, ...] | None  # the order of positional parameters (SQLite), else None
    writers: dict[str, Convert]  # per parameter, how its value is stored
    own: dict[str, Any]  # values the statement binds itself


_COMPILED: dict[tuple[int, str], tuple[Executable, _Compiled]] = {}


def _compiled(statement: Executable, dialect: Dialect) -> _Compiled:
    key = (id(statement), dialect.name)
    known = _COMPILED.get(key)
    if known is not None and known[0] is statement:
        return known[1]
    compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
    sql = str(compiled)
    if "POSTCOMPILE" in sql:
        raise ValueError("fast paths take no expanding (IN-list) parameters")
    writers = {}
    for name, bind in compiled.binds.items():
        writer = _writer(bind.type, dialect.name)
        if writer is not None:
            writers[name] = _optional(writer)
    names = tuple(compiled.positiontup) if compiled.positional else None
    result = _Compiled(sql, names, writers, dict(compiled.params))
    # The statement is kept, so that its id cannot be reused by another while cached.
    _COMPILED[key] = (statement, result)
    return result


def _run(
    conn: Connection, sql: str, parameters: Any, *, many: bool = False
) -> Sequence[Sequence[Any]]:
    dbapi_connection = conn.connection.dbapi_connection
    assert dbapi_connection is not None
    cursor = dbapi_connection.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        return cursor.fetchall() if cursor.description is not None else []
    except conn.dialect.loaded_dbapi.Error as exc:
        # As SQLAlchemy's own execution does (with ledger.db.engine's rule for SQLite files):
        # a lost connection is invalidated, and the error says so, so that the use case may
        # run again on a fresh one.
        lost = conn.dialect.is_disconnect(exc, dbapi_connection, cursor) or (
            conn.dialect.name == "sqlite" and sqlite_file_fault(exc)
        )
        if lost:
            with contextlib.suppress(conn.dialect.loaded_dbapi.Error):
                cursor.close()
            conn.invalidate(exc)  # closes the driver's connection, and so the cursor
        raise DBAPIError.instance(
            sql, None, exc, conn.dialect.loaded_dbapi.Error, connection_invalidated=lost
        ) from exc
    finally:
        if not conn.invalidated:
            cursor.close()


def _execute(conn: Connection, statement: Executable, params: Mapping[str, Any]) -> Any:
    compiled = _compiled(statement, conn.dialect)
    values = {**compiled.own, **params} if compiled.own else dict(params)
    for name, write in compiled.writers.items():
        if name in values:
            values[name] = write(values[name])
    if compiled.names is not None:
        return _run(conn, compiled.sql, [values[name] for name in compiled.names])
    return _run(conn, compiled.sql, values)


def fetch(session: Session, query: Query[RowT], params: Mapping[str, Any]) -> list[RowT]:
    """Run ``query`` in the session's transaction (begun if need be); its rows as ``query.row``.

    Raises:
        DBAPIError: the database refused it (without the parameters in the message).
    """
    conn = session.connection()
    if _plain.get():
        return query.build(conn.execute(query.statement, params).all(), None)
    return query.build(_execute(conn, query.statement, params), conn.dialect.name)


def fetch_alone(session: Session, query: Query[RowT], params: Mapping[str, Any]) -> list[RowT]:
    """Run one read as a transaction of its own (autocommit on PostgreSQL), or in the caller's
    transaction when one is open. One statement reads one snapshot, so a read that needs no
    other statement needs no transaction around it either.

    Raises:
        DBAPIError: the database refused it (without the parameters in the message).
    """
    if session.in_transaction():
        return fetch(session, query, params)
    with read_transaction(session):
        conn = session.connection()
        if conn.dialect.name != "postgresql" or _plain.get():
            return fetch(session, query, params)
        dbapi_connection = conn.connection.dbapi_connection
        assert dbapi_connection is not None
        dbapi_connection.autocommit = True  # idle: nothing has run on it in this transaction
        try:
            return fetch(session, query, params)
        finally:
            if not dbapi_connection.closed:  # a dead one was invalidated; nothing to restore
                dbapi_connection.autocommit = False


def native_postgresql(session: Session) -> bool:
    """Whether a caller may run PostgreSQL's own SQL through :func:`execute` here: on
    PostgreSQL, outside :func:`plain_paths` (where callers take their portable path)."""
    return session.get_bind().dialect.name == "postgresql" and not _plain.get()


def execute(session: Session, statement: Executable, params: Mapping[str, Any]) -> None:
    """Run a prebuilt statement that returns no rows, in the session's transaction.

    Raises:
        DBAPIError: the database refused it (without the parameters in the message).
    """
    conn = session.connection()
    if _plain.get():
        conn.execute(statement, params)
        return
    _execute(conn, statement, params)


# --- bulk writes and keyed lookups for the append path ----------------------------------------


def insert_rows(
    session: Session,
    table: Table,
    rows: Sequence[Any],
    *,
    columns: tuple[str, ...] | None = None,
    add_on_conflict: tuple[str, ...] = (),
) -> None:
    """Insert ``rows`` in one round trip: named tuples whose fields are column names, or, with
    ``columns``, any objects with an attribute for each of those columns.

    With ``add_on_conflict``, a row whose primary key is taken adds those columns' values to the
    row already there instead (balances).
    """
    if not rows:
        return
    columns = columns or tuple(rows[0]._fields)
    conn = session.connection()
    dialect = conn.dialect.name
    if _plain.get():
        values = [{c: getattr(r, c) for c in columns} for r in rows]
        conn.execute(_plain_insert(table, add_on_conflict, dialect), values)
        return
    sql = _insert_sql(table, columns, dialect, add_on_conflict)
    stored = _stored(table, columns, dialect, rows)
    if dialect == "sqlite":
        _run(conn, sql, stored, many=True)
    else:
        _run(conn, sql, tuple(list(column) for column in zip(*stored, strict=True)))


def update_rows(session: Session, table: Table, key: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """Update rows by ``key`` in one round trip: each row a named tuple of ``key`` and the
    columns to set."""
    if not rows:
        return
    fields = tuple(rows[0]._fields)  # type: ignore[attr-defined]
    columns = tuple(f for f in fields if f != key)
    conn = session.connection()
    dialect = conn.dialect.name
    if _plain.get():
        statement = (
            update(table)
            .where(table.c[key] == bindparam(f"b_{key}"))
            .values({c: bindparam(f"b_{c}") for c in columns})
        )
        conn.execute(statement, [{f"b_{k}": v for k, v in r._asdict().items()} for r in rows])  # type: ignore[attr-defined]
        return
    stored = _stored(table, fields, dialect, rows)
    by_name = [dict(zip(fields, row, strict=True)) for row in stored]
    if dialect == "sqlite":
        sql = _update_sql(table, key, columns, dialect)
        _run(conn, sql, [(*(r[c] for c in columns), r[key]) for r in by_name], many=True)
    else:
        sql = _update_sql(table, key, columns, dialect)
        names = (key, *columns)
        _run(conn, sql, tuple([r[n] for r in by_name] for n in names))


def lookup_rows(
    session: Session,
    table: Table,
    row: type[RowT],
    key: str,
    keys: Sequence[Any],
    *,
    where: tuple[str, Any] | None = None,
    lock: bool = False,
) -> list[RowT]:
    """The rows of ``table`` whose ``key`` is one of ``keys`` (and whose ``where`` column equals
    its value), as ``row`` tuples (fields named after columns, ``key`` among them), in the order
    of ``keys``; with ``lock``, locked for update in that order (sort the keys, so that
    concurrent writers never deadlock)."""
    if not keys:
        return []
    columns = tuple(row._fields)  # type: ignore[attr-defined]
    query = _lookup_query(table, row)
    conn = session.connection()
    if _plain.get():
        statement = select(*(table.c[c] for c in columns)).where(table.c[key].in_(list(keys)))
        if where is not None:
            statement = statement.where(table.c[where[0]] == where[1])
        if lock:
            statement = statement.with_for_update()
        return _in_order(query.build(conn.execute(statement).all(), None), key, keys)
    dialect = conn.dialect.name
    sql = _lookup_sql(table, columns, key, where[0] if where else None, dialect, lock)
    write_key = _writer(table.c[key].type, dialect)
    stored_keys = [write_key(k) for k in keys] if write_key else list(keys)
    fixed = (where[1],) if where else ()
    if dialect == "sqlite":
        found: list[Sequence[Any]] = []
        for start in range(0, len(stored_keys), 500):
            chunk = stored_keys[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            found += _run(conn, sql.format(marks=marks), (*fixed, *chunk))
        return _in_order(query.build(found, dialect), key, keys)
    # Locks are taken in the order of the keys (a nested loop over them); rows come back in any.
    return _in_order(query.build(_run(conn, sql, (stored_keys, *fixed)), dialect), key, keys)


def _in_order(rows: list[RowT], key: str, keys: Sequence[Any]) -> list[RowT]:
    position = {k: i for i, k in enumerate(keys)}
    return sorted(rows, key=lambda r: position[getattr(r, key)])


@cache
def _lookup_query(table: Table, row: type[tuple[Any, ...]]) -> Query[Any]:
    return Query(select(*(table.c[c] for c in row._fields)), row)  # type: ignore[attr-defined]


def _stored(
    table: Table, columns: tuple[str, ...], dialect: str, rows: Sequence[Any]
) -> list[tuple[Any, ...]]:
    """Rows as the driver stores them (hours as tenths, SQLite dates and timestamps as text):
    each row any object with an attribute per column (a named tuple, a dataclass)."""
    return _storer(table, columns, dialect)(rows)


@cache
def _storer(
    table: Table, columns: tuple[str, ...], dialect: str
) -> Callable[[Sequence[Any]], list[tuple[Any, ...]]]:
    """A function turning rows into the driver's tuples, each column read by name and converted
    by its writer; generated once per table, columns and database, because converting row by row
    in a loop over columns was the largest part of an append's Python work (measured with
    bytecode counts: 163 of about 1,700 a record)."""
    namespace: dict[str, Any] = {}
    parts = []
    for i, name in enumerate(columns):
        value = f"r.{name}"
        write = _writer(table.c[name].type, dialect)
        if write is not None:
            namespace[f"w{i}"] = write
            value = f"(None if {value} is None else w{i}({value}))"
        parts.append(value)
    source = f"def store(rows):\n    return [({', '.join(parts)},) for r in rows]\n"
    exec(compile(source, f"<{table.name} rows stored>", "exec"), namespace)  # noqa: S102
    return namespace["store"]  # type: ignore[no-any-return]


def _array_type(table: Table, name: str) -> str:
    return str(table.c[name].type.compile(dialect=_POSTGRESQL))


def _plain_insert(table: Table, add_on_conflict: tuple[str, ...], dialect: str) -> Executable:
    if not add_on_conflict:
        return table.insert()
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    return insert.on_conflict_do_update(
        index_elements=list(table.primary_key.columns),
        set_={c: table.c[c] + insert.excluded[c] for c in add_on_conflict},
    )


@cache
def _insert_sql(
    table: Table, columns: tuple[str, ...], dialect: str, add_on_conflict: tuple[str, ...]
) -> str:
    # Table and column names come from our own metadata, never from input.
    names = ", ".join(columns)
    suffix = ""
    if add_on_conflict:
        keys = ", ".join(c.name for c in table.primary_key.columns)
        sets = ", ".join(f"{c} = {table.name}.{c} + excluded.{c}" for c in add_on_conflict)
        suffix = f" ON CONFLICT ({keys}) DO UPDATE SET {sets}"
    if dialect == "sqlite":
        marks = ", ".join("?" for _ in columns)
        return f"INSERT INTO {table.name} ({names}) VALUES ({marks}){suffix}"  # noqa: S608
    arrays = ", ".join(f"%b::{_array_type(table, name)}[]" for name in columns)
    return f"INSERT INTO {table.name} ({names}) SELECT * FROM unnest({arrays}){suffix}"  # noqa: S608


@cache
def _update_sql(table: Table, key: str, columns: tuple[str, ...], dialect: str) -> str:
    if dialect == "sqlite":
        sets = ", ".join(f"{name} = ?" for name in columns)
        return f"UPDATE {table.name} SET {sets} WHERE {key} = ?"  # noqa: S608
    names = (key, *columns)
    arrays = ", ".join(f"%b::{_array_type(table, name)}[]" for name in names)
    sets = ", ".join(f"{name} = u.{name}" for name in columns)
    return (
        f"UPDATE {table.name} SET {sets} FROM unnest({arrays}) AS u({', '.join(names)}) "  # noqa: S608
        f"WHERE {table.name}.{key} = u.{key}"
    )


@cache
def _lookup_sql(
    table: Table, columns: tuple[str, ...], key: str, fixed: str | None, dialect: str, lock: bool
) -> str:
    names = ", ".join(columns)
    if dialect == "sqlite":
        # SQLite locks the whole database for a write transaction; FOR UPDATE has no meaning.
        cond = f"{fixed} = ? AND " if fixed else ""
        return f"SELECT {names} FROM {table.name} WHERE {cond}{key} IN ({{marks}})"  # noqa: S608
    key_type = _array_type(table, key)
    cond = f" AND t.{fixed} = %s" if fixed else ""
    return (
        f"SELECT {', '.join(f'x.{c}' for c in columns)} FROM unnest(%b::{key_type}[]) AS k(key) "  # noqa: S608
        f"CROSS JOIN LATERAL (SELECT {names} FROM {table.name} AS t WHERE t.{key} = k.key{cond}"
        f"{' FOR UPDATE' if lock else ''}) AS x"
    )
