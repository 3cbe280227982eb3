"""Commands of the operations area: ``config`` (reference, check, new-kek) and ``healthcheck``."""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

import click

from api.cli import open_session
from api.config import DEFAULTS
from api.settings import (
    BIND_ENV,
    is_production,
    production_problems,
    render_reference,
    signing_key_problem,
)
from ledger.attestations import key_encryption
from ledger.db.engine import database_url, normalise_url

DEFAULT_BIND = "127.0.0.1:8000"
HEALTHCHECK_TIMEOUT = 4


@click.group("config")
def config_group() -> None:
    """Settings: their reference, and the production startup check."""


@config_group.command("reference")
def config_reference() -> None:
    """Print the configuration reference (cehours config reference > docs/configuration.md)."""
    click.echo(render_reference(), nl=False)


@config_group.command("check")
def config_check() -> None:
    """Say what would stop a production server from starting with this environment."""
    problems = startup_problems(production=True)
    for problem in problems:
        click.echo(f"FAIL {problem}")
    if problems:
        sys.exit(1)
    click.echo("config check: OK for production")


@config_group.command("new-kek")
def config_new_kek() -> None:
    """Print a fresh key-encryption key (for CEHOURS_KEY_ENCRYPTION_KEY; keep it secret)."""
    click.echo(key_encryption.new_kek_text())


def startup_problems(*, production: bool | None = None, dev: bool = False) -> list[str]:
    """What the production check refuses, for this process's environment (``[]`` outside
    production mode unless ``production`` forces the check); ``dev`` is ``serve --dev``.
    Reads the database's signing keys when it answers.
    """
    config = {
        **DEFAULTS,
        "DEV": dev or os.environ.get("CEHOURS_DEV", "").lower() in ("1", "true"),
        "DEV_IDP": os.environ.get("CEHOURS_DEV_IDP", "").lower() in ("1", "true"),
        "DATABASE_URL": normalise_url(database_url()),
    }
    if not (production if production is not None else is_production()):
        return []
    problems = production_problems(config)
    if not problems:
        try:
            with open_session() as session:
                problem = signing_key_problem(session)
        except Exception as exc:  # unreachable now: /readyz reports it, serving may begin
            click.echo(f"  warning: signing keys not checked ({type(exc).__name__})", err=True)
            problem = None
        if problem:
            problems.append(problem)
    return problems


def probe_url(bind: str) -> str:
    """The /healthz URL of a server listening on ``bind`` (a wildcard host means loopback)."""
    host, _, port = bind.rpartition(":")
    if host in ("", "0.0.0.0", "[::]", "::"):  # noqa: S104 - mapping a wildcard, not binding
        host = "127.0.0.1"
    return f"http://{host}:{port}/healthz"


@click.command("healthcheck")
@click.option("--bind", envvar=BIND_ENV, default=DEFAULT_BIND, show_default=True)
def healthcheck(bind: str) -> None:
    """Exit 0 when the server on BIND answers /healthz (the container's HEALTHCHECK)."""
    url = probe_url(bind)
    try:
        with urllib.request.urlopen(url, timeout=HEALTHCHECK_TIMEOUT) as response:  # noqa: S310
            ok = response.status == 200
    except (urllib.error.URLError, OSError) as exc:
        click.echo(f"unhealthy: {url}: {exc}", err=True)
        sys.exit(1)
    if not ok:
        click.echo(f"unhealthy: {url} answered {response.status}", err=True)
        sys.exit(1)
    click.echo("healthy")


COMMANDS: list[click.Command] = [config_group, healthcheck]
