"""Which database errors are faults of the database (503 and heal) and which are not."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import (
    DatabaseError,
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    OperationalError,
    ProgrammingError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from ledger.db.faults import fault_name, is_unavailable, sqlite_file_fault
from ledger.db.transactions import lost_before_commit, run_with_retries


class PgError(Exception):
    """A driver error with a SQLSTATE, as psycopg's are."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"error {sqlstate}")
        self.sqlstate = sqlstate


def sqlite_error(code: int, message: str) -> sqlite3.Error:
    error = sqlite3.OperationalError(message)
    error.sqlite_errorcode = code  # type: ignore[attr-defined]
    return error


@pytest.mark.parametrize(
    "sqlstate",
    ["57P01", "57P03", "08006", "08001", "53100", "53300", "58030", "25006", "55000"],
)
def test_postgresql_states_of_a_server_that_cannot_serve_are_faults(sqlstate: str) -> None:
    assert is_unavailable(OperationalError("SELECT 1", {}, PgError(sqlstate)))


@pytest.mark.parametrize("sqlstate", ["23505", "42601", "22003", "42P01"])
def test_errors_of_the_statement_or_its_values_are_not(sqlstate: str) -> None:
    assert not is_unavailable(ProgrammingError("SELECT 1", {}, PgError(sqlstate)))


@pytest.mark.parametrize(
    ("code", "words"),
    [(8, "read-only"), (10, "I/O"), (13, "full"), (14, "opened"), (11, "damaged")],
)
def test_sqlite_file_faults_are_faults_and_named(code: int, words: str) -> None:
    error = sqlite_error(code, "whatever the driver says")
    wrapped = OperationalError("INSERT", {}, error)
    assert sqlite_file_fault(error)
    assert is_unavailable(wrapped)
    assert words in fault_name(wrapped)


def test_a_lock_that_ran_out_is_not_a_file_fault_but_is_named() -> None:
    error = sqlite_error(5, "database is locked")
    assert not sqlite_file_fault(error)
    assert "locked" in fault_name(OperationalError("BEGIN IMMEDIATE", {}, error))


def test_lost_connections_and_pool_timeouts_are_faults() -> None:
    assert is_unavailable(DisconnectionError("gone"))
    assert is_unavailable(PoolTimeoutError("QueuePool limit reached"))
    lost = DBAPIError("SELECT 1", {}, Exception("closed"), connection_invalidated=True)
    assert is_unavailable(lost)
    assert not is_unavailable(IntegrityError("INSERT", {}, Exception("UNIQUE constraint")))
    assert not is_unavailable(ValueError("not a database error"))
    assert is_unavailable(DatabaseError("SELECT 1", {}, Exception("malformed")))


def test_a_connection_lost_during_a_statement_is_lost_before_commit_one_in_commit_is_not() -> None:
    during = DBAPIError("INSERT", {}, Exception("closed"), connection_invalidated=True)
    in_commit = DBAPIError(None, None, Exception("closed"), connection_invalidated=True)
    assert lost_before_commit(during)
    assert not lost_before_commit(in_commit)


def test_a_transaction_lost_before_commit_runs_again_but_not_for_ever() -> None:
    calls: list[int] = []

    def lost_once() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise DBAPIError("INSERT", {}, Exception("closed"), connection_invalidated=True)
        return "done"

    assert run_with_retries(lost_once) == "done"
    assert len(calls) == 2

    def always_lost() -> str:
        calls.append(1)
        raise DBAPIError("INSERT", {}, Exception("closed"), connection_invalidated=True)

    calls.clear()
    with pytest.raises(DBAPIError):
        run_with_retries(always_lost)
    assert len(calls) == 3  # the first try and two more


def test_retries_stop_when_the_budget_is_spent() -> None:
    calls: list[int] = []

    def locked() -> str:
        calls.append(1)
        raise OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))

    with pytest.raises(OperationalError):
        run_with_retries(locked, budget=0.0)
    assert len(calls) == 1
