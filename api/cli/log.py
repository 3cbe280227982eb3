"""Commands of the log area: ``log`` (key, publish, checkpoint) and ``witness`` (init, run)."""

from __future__ import annotations

import base64
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import click
import requests
from cryptography.hazmat.primitives.asymmetric import ed25519

from api.cli import fail, open_session
from api.cli.attestations import _actor, _kek
from ledger.errors import LedgerError
from ledger.log import checkpoints
from ledger.log.notes import NoteError, Verifier, check_name, parse_vkey
from ledger.log.witness import WitnessAlarm, WitnessState, cosigner, judge, state_of
from ledger.log.witness import witness_verifier as make_witness_verifier

HTTP_TIMEOUT = 10
ALARM_EXIT = 3


@click.group("log")
def log_group() -> None:
    """The tamper-evident log: checkpoint signing key, publishing, the latest checkpoint."""


@log_group.group("key")
def log_key() -> None:
    """The checkpoint signing key (sealed under $CEHOURS_KEY_ENCRYPTION_KEY)."""


@log_key.command("create")
def log_key_create() -> None:
    """Create a checkpoint signing key for $CEHOURS_LOG_ORIGIN; print its verifier key."""
    kek = _kek()
    with open_session() as session:
        try:
            verifier = checkpoints.create_log_key(session, kek, actor=_actor())
        except LedgerError as exc:
            fail(exc)
    click.echo(verifier.vkey())


@log_key.command("show")
def log_key_show() -> None:
    """Print the verifier key of the key that signs checkpoints now."""
    with open_session() as session:
        try:
            verifier = checkpoints.log_verifier(session)
        except LedgerError as exc:
            fail(exc)
    if verifier is None:
        click.echo("error: no checkpoint signing key: run `cehours log key create`", err=True)
        sys.exit(1)
    click.echo(verifier.vkey())


@log_group.command("publish")
def log_publish() -> None:
    """Add every new entry to the log now and sign a checkpoint if the tree grew."""
    kek = _kek()
    with open_session() as session:
        try:
            published = checkpoints.publish(session, kek)
            latest = checkpoints.latest_checkpoint(session)
        except LedgerError as exc:
            fail(exc)
    size = latest.tree_size if latest else 0
    signed = "signed" if published.checkpoint else "already signed"
    click.echo(f"log: {published.added} leaves added; checkpoint at size {size} {signed}")


@log_group.command("checkpoint")
def log_checkpoint() -> None:
    """Print the latest checkpoint with its cosignatures."""
    with open_session() as session:
        try:
            click.echo(checkpoints.checkpoint_note(session), nl=False)
        except LedgerError as exc:
            fail(exc)


@click.group("witness")
def witness_group() -> None:
    """A witness of another party's choosing: checks the log only ever grows, and cosigns."""


def _read_witness_key(path: Path) -> tuple[str, ed25519.Ed25519PrivateKey]:
    mode = path.stat().st_mode
    if mode & 0o077:
        raise click.ClickException(f"{path} may be read by others; chmod 600 it")
    data = json.loads(path.read_text(encoding="utf-8"))
    seed = base64.b64decode(data["private_key"])
    return data["name"], ed25519.Ed25519PrivateKey.from_private_bytes(seed)


@witness_group.command("init")
@click.argument("name")
@click.option("--key-file", type=click.Path(path_type=Path), required=True)
def witness_init(name: str, key_file: Path) -> None:
    """Make the witness's Ed25519 key NAME in KEY_FILE (0600); print its verifier key, for
    the log's CEHOURS_LOG_WITNESSES."""
    try:
        check_name(name)
    except NoteError as exc:
        raise click.ClickException(str(exc)) from None
    private = ed25519.Ed25519PrivateKey.generate()
    seed = private.private_bytes_raw()
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"name": name, "private_key": base64.b64encode(seed).decode()}, fh)
    click.echo(make_witness_verifier(name, private).vkey())


def _get(url: str) -> requests.Response:
    response = requests.get(url, timeout=HTTP_TIMEOUT)
    response.raise_for_status()
    return response


def _proof_fetcher(base: str) -> Any:
    def fetch(old: int, new: int) -> list[bytes]:
        answer = _get(f"{base}/v1/log/proof/consistency?from={old}&to={new}").json()
        return [base64.b64decode(h, validate=True) for h in answer["hashes"]]

    return fetch


def witness_round(
    base: str, log_key: Verifier, key_file: Path, state_file: Path
) -> tuple[str, WitnessState]:
    """Fetch, judge, cosign and hand back one checkpoint; return what was done.

    Raises:
        WitnessAlarm: the log misbehaved.
        requests.RequestException: the log could not be reached.
    """
    name, private = _read_witness_key(key_file)
    state = WitnessState.from_json(state_file.read_text()) if state_file.exists() else None
    note = _get(f"{base}/v1/log/checkpoint").text
    judged = judge(note, log_key, state, _proof_fetcher(base), cosigner(name, private, _now))
    new_state = state_of(judged)
    if judged.cosignature is None:
        return "unchanged", new_state
    # Kept before it is handed in: a witness that crashed after cosigning must still refuse
    # anything smaller than what it signed.
    tmp = state_file.with_suffix(".tmp")
    tmp.write_text(new_state.to_json(), encoding="utf-8")
    tmp.replace(state_file)
    response = requests.post(
        f"{base}/v1/log/cosignatures",
        data=(note + judged.cosignature).encode("utf-8"),
        headers={"Content-Type": "text/plain; charset=utf-8"},
        timeout=HTTP_TIMEOUT,
    )
    response.raise_for_status()
    return "cosigned", new_state


def _now() -> int:
    return int(time.time())


@witness_group.command("run")
@click.option("--log", "log_url", required=True, help="the log's base URL")
@click.option("--log-key", required=True, help="the log's verifier key (from /v1/log/key, pinned)")
@click.option("--key-file", type=click.Path(path_type=Path, exists=True), required=True)
@click.option("--state", "state_file", type=click.Path(path_type=Path), required=True)
@click.option("--interval", type=click.FloatRange(0.1), default=10.0, show_default=True)
@click.option("--once", is_flag=True, help="one round, then exit")
def witness_run(
    log_url: str, log_key: str, key_file: Path, state_file: Path, interval: float, once: bool
) -> None:
    """Poll the log's checkpoint, verify it extends the last one cosigned, cosign and hand the
    cosignature back. A rollback, a fork or a bad signature: ALARM on stderr, exit 3."""
    try:
        verifier = parse_vkey(log_key)
    except NoteError as exc:
        raise click.ClickException(str(exc)) from None
    base = log_url.rstrip("/")
    while True:
        try:
            done, state = witness_round(base, verifier, key_file, state_file)
            click.echo(f"witness: {done} {state.origin} at size {state.tree_size}")
        except WitnessAlarm as alarm:
            click.echo(f"ALARM {alarm}", err=True)
            sys.exit(ALARM_EXIT)
        except (requests.RequestException, ValueError, KeyError) as exc:
            click.echo(
                f"witness: the log did not answer well: {type(exc).__name__}: {exc}", err=True
            )
            if once:
                sys.exit(2)
        if once:
            return
        time.sleep(interval)


COMMANDS: list[click.Command] = [log_group, witness_group]
