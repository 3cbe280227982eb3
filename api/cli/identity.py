"""``cehours dev-idp``: mint identity tokens with a local key, for development and the demo."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

import click

from api.demo import DEMO_ID_NUMBER, DEMO_NAME
from ledger.access.dev_identity import DevIdentityProvider

ENABLE_ENV = "CEHOURS_DEV_IDP"


def dev_idp_enabled() -> bool:
    """Whether the environment enables the development identity provider."""
    return os.environ.get(ENABLE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


@click.command("dev-idp")
@click.option("--id-number", help="the person's resident ID number (prompted when omitted)")
@click.option("--name", default=None, help="the person's name")
@click.option("--demo", is_flag=True, help="the demo person of `cehours demo`")
@click.option(
    "--minutes", type=click.IntRange(1, 24 * 60), default=15, show_default=True, help="lifetime"
)
@click.option("--public-key", is_flag=True, help="print the public key (PEM) instead")
def dev_idp(
    id_number: str | None, name: str | None, demo: bool, minutes: int, public_key: bool
) -> None:
    """Mint an identity token from the development identity provider (CEHOURS_DEV_IDP=1).

    The key lives in var/dev-idp-key.pem (CEHOURS_VAR_DIR). A server started with
    `cehours serve --dev` or CEHOURS_DEV_IDP=1 accepts these tokens: sign in with one on
    /sign-in, or send it as `Authorization: Bearer <token>` to /v1/me/...
    """
    if not dev_idp_enabled():
        click.echo(
            f"error: the development identity provider is disabled; set {ENABLE_ENV}=1"
            " (never in production)",
            err=True,
        )
        sys.exit(2)
    provider = DevIdentityProvider.from_directory(Path(os.environ.get("CEHOURS_VAR_DIR", "var")))
    if public_key:
        click.echo(provider.public_key_pem(), nl=False)
        return
    if demo:
        id_number, name = DEMO_ID_NUMBER, name or DEMO_NAME
    if not id_number:
        # Prompted without echo: an ID number typed on the command line lands in shell history.
        id_number = click.prompt("ID number", hide_input=True)
    try:
        token = provider.mint(str(id_number), name, lifetime=dt.timedelta(minutes=minutes))
    except ValueError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(token)


COMMANDS: list[click.Command] = [dev_idp]
