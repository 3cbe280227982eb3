"""Commands of the clients area: API keys for platforms, filing systems and administrators."""

from __future__ import annotations

import click

from api.cli import fail, open_session
from api.cli.output import echo_table, human_time
from ledger.access.clients import Role, create_client, list_clients, revoke_client
from ledger.errors import LedgerError


@click.group()
def clients() -> None:
    """API clients and their keys (stored only as hashes)."""


@clients.command("add")
@click.option("--name", required=True, help="who holds the key, e.g. the platform's name")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option(
    "--source", "source_id", default=None, help="the source a platform key writes (platform only)"
)
def clients_add(name: str, role: str, source_id: str | None) -> None:
    """Create a client and print its API key, once.

    The key is the only thing written to standard output (KEY=$(cehours clients add ...));
    the rest goes to standard error. It cannot be shown again: revoke and add a new one if lost.
    """
    with open_session() as session:
        try:
            info, key = create_client(session, name=name, role=role, source_id=source_id)
        except LedgerError as exc:
            fail(exc)
    bound = f", source {info.source_id}" if info.source_id else ""
    click.echo(
        f"client {info.id} added ({info.name}, {info.role}{bound}); its key is shown only now:",
        err=True,
    )
    click.echo(key)


@clients.command("list")
def clients_list() -> None:
    """List clients: id, role, source, key prefix, state, created, name (never a key)."""
    with open_session() as session:
        listed = list_clients(session)
    rows = [
        [
            str(c.id),
            c.role,
            c.source_id or "-",
            c.key_prefix,
            f"revoked {human_time(c.revoked_at)}" if c.revoked_at else "active",
            human_time(c.created_at),
            c.name,
        ]
        for c in listed
    ]
    header = ["ID", "ROLE", "SOURCE", "KEY PREFIX", "STATE", "CREATED", "NAME"]
    echo_table(header, rows, empty="no clients")


@clients.command("revoke")
@click.argument("client_id", type=int)
def clients_revoke(client_id: int) -> None:
    """Revoke a client's key: every request with it is refused (401), by a running server
    within CEHOURS_AUTH_CACHE_SECONDS (5 by default)."""
    with open_session() as session:
        try:
            info = revoke_client(session, client_id)
        except LedgerError as exc:
            fail(exc)
    click.echo(f"client {info.id} ({info.name}) revoked")


COMMANDS: list[click.Command] = [clients]
