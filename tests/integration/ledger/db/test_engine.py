"""Engine settings the ledger relies on."""

from __future__ import annotations

from ledger.db.engine import make_engine


def _jit_setting(url: str, **options: object) -> str:
    engine = make_engine(url, **options)
    try:
        with engine.connect() as conn:
            return str(conn.exec_driver_sql("SHOW jit").scalar_one())
    finally:
        engine.dispose()


def test_postgresql_connections_do_not_jit_compile(pg_db_url: str) -> None:
    """Compiling a plan whose estimate crosses jit_above_cost took 38 ms against a 2 ms
    execution of an evaluation's read; every query here is an indexed read or a batch write."""
    assert _jit_setting(pg_db_url) == "off"


def test_given_connect_args_replace_the_default(pg_db_url: str) -> None:
    assert _jit_setting(pg_db_url, connect_args={"options": "-c jit=on"}) == "on"
