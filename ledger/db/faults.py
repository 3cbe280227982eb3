"""Database faults: errors that say the database cannot serve now, not that a request is wrong.

A killed PostgreSQL backend, a refused connection, a standby that became read-only, a SQLite
file made read-only, held locked by another process, or on a full disk: each is a fault of the
database, answered ``503`` with ``Retry-After`` by the API, and each heals by itself once the
database is back (``ledger.db.engine`` discards the connections such a fault touched, and
``ledger.db.probes`` lets the readiness probe say so meanwhile).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    NotSupportedError,
    ProgrammingError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

# SQLSTATE classes of a server that cannot serve now: connection exception, insufficient
# resources (disk full, out of memory, too many connections), operator intervention (shutdown,
# a terminated backend, "the database system is starting up"), system error (I/O).
_PG_UNAVAILABLE_CLASSES = frozenset({"08", "53", "57", "58"})
# A read-only transaction refused a write (a standby after a failover), and a database that does
# not accept connections (ALTER DATABASE ... ALLOW_CONNECTIONS false).
_PG_UNAVAILABLE_CODES = frozenset({"25006", "55000"})
# SQLite primary result codes of a file that cannot serve: READONLY, IOERR, CORRUPT, FULL,
# CANTOPEN, NOTADB. (BUSY, "database is locked", is a wait that ran out: see is_retryable.)
_SQLITE_FILE_FAULTS = frozenset({8, 10, 11, 13, 14, 26})
_SQLITE_FAULT_NAMES = {
    5: "the database is locked by another connection",
    8: "the database file is read-only",
    10: "a disk I/O error",
    11: "the database file is damaged",
    13: "the disk holding the database is full",
    14: "the database file cannot be opened",
    26: "the file is not a database",
}


def sqlite_file_fault(error: BaseException | None) -> bool:
    """Whether a SQLite driver error says its file cannot serve (read-only, full, failing)."""
    code = getattr(error, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in _SQLITE_FILE_FAULTS


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` is a fault of the database rather than of the request or the code.

    A syntax error, a constraint the ledger did not expect or a value the database refuses are
    not: those stay errors of the service. Everything that says "cannot serve now" is.
    """
    if isinstance(exc, DisconnectionError | PoolTimeoutError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    code = getattr(exc.orig, "sqlstate", None)
    if isinstance(code, str) and code:
        return code[:2] in _PG_UNAVAILABLE_CLASSES or code in _PG_UNAVAILABLE_CODES
    if sqlite_file_fault(exc.orig):
        return True
    # OperationalError, InterfaceError and a bare DatabaseError without a SQLSTATE: the driver
    # lost or could not make its connection, or the file could not be used.
    return not isinstance(exc, IntegrityError | ProgrammingError | DataError | NotSupportedError)


def describe(exc: BaseException) -> str:
    """A short account of a database fault for logs and probes: the driver's first line, which
    names the fault (never a statement's parameters: engines are made with hide_parameters)."""
    orig: Any = getattr(exc, "orig", None) or exc
    first = str(orig).strip().splitlines()[0] if str(orig).strip() else ""
    return f"{type(orig).__name__}: {first[:200]}" if first else type(orig).__name__


def fault_name(exc: BaseException) -> str:
    """What kind of fault ``exc`` is, in words fit for a public probe's answer (no host names,
    paths or statements)."""
    orig: Any = getattr(exc, "orig", None) or exc
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF in _SQLITE_FAULT_NAMES:
        return _SQLITE_FAULT_NAMES[code & 0xFF]
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate:
        return f"the database server refused (SQLSTATE {sqlstate})"
    return f"the database cannot be reached ({type(orig).__name__})"
