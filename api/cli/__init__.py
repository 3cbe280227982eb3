"""``cehours``: the command-line tool for operators (database, ledger, sources, keys, sync)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.orm import Session

from ledger.db.engine import database_url, make_engine, make_session_factory
from ledger.errors import LedgerError


@contextmanager
def open_session() -> Iterator[Session]:
    """A session on the configured database (``CEHOURS_DATABASE_URL`` / ``DATABASE_URL``)."""
    engine = make_engine(database_url())
    try:
        with make_session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


def fail(exc: LedgerError) -> None:
    """Print a domain error for a person at a terminal and exit non-zero."""
    click.echo(f"error: {exc}", err=True)
    sys.exit(1)


@click.group()
def main() -> None:
    """Continuing-education hours ledger: operator commands."""


def _register() -> None:
    from api.cli import (
        attestations,
        clients,
        core,
        demo,
        identity,
        log,
        ops,
        profiles,
        server,
        sync,
    )

    modules = (core, clients, profiles, attestations, sync, server, demo, ops, identity, log)
    for module in modules:
        for command in module.COMMANDS:
            main.add_command(command)


_register()
