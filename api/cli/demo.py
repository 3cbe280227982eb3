"""``cehours demo``: load the demo (:mod:`api.demo`) into the configured database."""

from __future__ import annotations

import os
from pathlib import Path

import click

from api.cli import open_session
from api.demo import DEMO_ID_NUMBER, DEMO_NAME, load_demo
from ledger.values.id_numbers import mask_id_number


@click.command("demo")
def demo() -> None:
    """Load the demo: two platforms, a demo person with seven years of records, a dev key."""
    var = Path(os.environ.get("CEHOURS_VAR_DIR", "var"))
    with open_session() as session:
        for line in load_demo(session, var):
            click.echo(f"demo: {line}")
    click.echo(
        f"demo: person {DEMO_NAME} ({mask_id_number(DEMO_ID_NUMBER)}); sign in on the home page"
        " with the development identity provider"
    )


COMMANDS: list[click.Command] = [demo]
