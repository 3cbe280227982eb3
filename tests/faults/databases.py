"""PostgreSQL faults a test makes on its own database: connections refused, backends ended."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import make_url


def admin(url: str) -> sa.Engine:
    """An engine for statements outside any transaction, holding no connection between them."""
    return sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)


def set_connections(url: str, allowed: bool) -> None:
    """Open or close ``url``'s database to connections; closing it also ends those it has."""
    name = make_url(url).database
    with admin(url.rsplit("/", 1)[0] + "/postgres").connect() as conn:
        conn.exec_driver_sql(f"ALTER DATABASE {name} ALLOW_CONNECTIONS {str(allowed).lower()}")
        if not allowed:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"
                ),
                {"d": name},
            )
