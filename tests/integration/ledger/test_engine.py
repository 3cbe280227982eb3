"""Engine settings the ledger relies on."""

from __future__ import annotations

from ledger.db import make_engine


def test_postgresql_connections_do_not_jit_compile(pg_db_url: str) -> None:
    """Compiling a plan whose estimate crosses jit_above_cost took 38 ms against a 2 ms
    execution of an evaluation's read; every query here is an indexed read or a batch write."""
    engine = make_engine(pg_db_url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW jit").scalar_one() == "off"
    finally:
        engine.dispose()


def test_given_connect_args_replace_the_default(pg_db_url: str) -> None:
    engine = make_engine(pg_db_url, connect_args={"options": "-c jit=on"})
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW jit").scalar_one() == "on"
    finally:
        engine.dispose()
