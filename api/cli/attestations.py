"""Commands of the attestations area: ``keys``, ``attestations`` and the offline ``verify``."""

from __future__ import annotations

import base64
import datetime as dt
import getpass
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import click
import requests

from api.cli import fail, open_session
from api.cli.output import echo_table, human_time
from ledger.attestations import key_encryption, signing_keys
from ledger.attestations.jose import SigningAlgorithm
from ledger.attestations.status import (
    get_attestation_status,
    list_attestation_events,
    revoke_attestation,
)
from ledger.attestations.tokens import configured_issuer
from ledger.attestations.verification import (
    StatusList,
    StatusListError,
    Verification,
    load_jwks,
    read_status_list,
    status_reference,
    verify_token,
)
from ledger.errors import LedgerError
from ledger.log.binding import LogBindingError, check_log_binding
from ledger.log.notes import NoteError, parse_vkey

HTTP_TIMEOUT = 10
_ALGORITHMS = [a.value for a in SigningAlgorithm]


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _kek() -> bytes:
    try:
        return key_encryption.load_kek()
    except LedgerError as exc:
        fail(exc)
        raise AssertionError("unreachable") from None


def _show(key: signing_keys.KeyInfo) -> str:
    until = human_time(key.publish_until)
    published = "published" if key.published else "unpublished"
    return f"{key.kid}\t{key.alg}\t{key.status}\t{published}\tuntil {until}"


@click.group()
def keys() -> None:
    """Attestation signing keys (private keys sealed under $CEHOURS_KEY_ENCRYPTION_KEY)."""


@keys.command("create")
@click.option("--alg", type=click.Choice(_ALGORITHMS), default=signing_keys.DEFAULT_ALGORITHM.value)
def keys_create(alg: str) -> None:
    """Create the first active signing key."""
    kek = _kek()
    with open_session() as session:
        try:
            key = signing_keys.create_key(session, kek, actor=_actor(), alg=alg)
        except LedgerError as exc:
            fail(exc)
    click.echo(f"created {_show(key)}")


@keys.command("rotate")
@click.option("--alg", type=click.Choice(_ALGORITHMS), default=None, help="default: same")
def keys_rotate(alg: str | None) -> None:
    """Sign with a new key from now on; the old one stays published until its tokens expire."""
    kek = _kek()
    with open_session() as session:
        try:
            new, old = signing_keys.rotate_key(session, kek, actor=_actor(), alg=alg)
        except LedgerError as exc:
            fail(exc)
    click.echo(f"active  {_show(new)}")
    if old is not None:
        click.echo(f"rotated {_show(old)}")


@keys.command("list")
def keys_list() -> None:
    """List signing keys, newest first (kid, alg, status, published, created, published
    until)."""
    with open_session() as session:
        listed = signing_keys.list_keys(session)
    rows = [
        [
            key.kid,
            key.alg,
            key.status,
            "yes" if key.published else "no",
            human_time(key.created_at),
            human_time(key.publish_until),
        ]
        for key in listed
    ]
    header = ["KID", "ALG", "STATUS", "PUBLISHED", "CREATED", "PUBLISHED UNTIL"]
    echo_table(header, rows, empty="no signing keys: run `cehours keys create`")


@keys.command("retire")
@click.argument("kid")
@click.option("--reason", required=True, help="why (e.g. suspected compromise)")
def keys_retire(kid: str, reason: str) -> None:
    """Withdraw a key from the JWKS now: tokens it signed stop verifying (key-retired)."""
    with open_session() as session:
        try:
            key = signing_keys.retire_key(session, kid, reason=reason, actor=_actor())
        except LedgerError as exc:
            fail(exc)
    click.echo(f"retired {_show(key)}")


@click.group("attestations")
def attestations_group() -> None:
    """Issued attestations."""


@attestations_group.command("revoke")
@click.argument("jti")
@click.option("--reason", required=True, help="why (recorded in the audit trail)")
def attestations_revoke(jti: str, reason: str) -> None:
    """Revoke an attestation; its public status becomes revoked."""
    with open_session() as session:
        try:
            status = revoke_attestation(session, jti, reason=reason, actor=_actor())
        except LedgerError as exc:
            fail(exc)
    click.echo(f"{status.jti} {status.status} at {human_time(status.changed_at)}")


@attestations_group.command("show")
@click.argument("jti")
def attestations_show(jti: str) -> None:
    """Print an attestation's status and audit trail as JSON (not its token or personal data)."""
    with open_session() as session:
        try:
            status = get_attestation_status(session, jti)
        except LedgerError as exc:
            fail(exc)
        events = list_attestation_events(session, jti)
    click.echo(json.dumps({**status.to_dict(), "events": events}, ensure_ascii=False, indent=2))


def _fetch_json(location: str) -> Any:
    if location.startswith(("https://", "http://")):
        response = requests.get(location, timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        return response.json()
    return json.loads(Path(location).read_text(encoding="utf-8"))


def _status_url(template: str, jti: str) -> str:
    if "{jti}" in template:
        return template.replace("{jti}", jti)
    return f"{template.rstrip('/')}/v1/attestations/{jti}/status"


@click.command("verify")
@click.argument("token")
@click.option("--jwks", "jwks_location", required=True, help="JWK Set file or URL")
@click.option(
    "--id-number",
    default=None,
    envvar="CEHOURS_VERIFY_ID_NUMBER",
    help="the applicant's ID number, to check the binding (or $CEHOURS_VERIFY_ID_NUMBER, which"
    " keeps it out of the shell history and the process list)",
)
@click.option(
    "--check-status",
    "status_url",
    default=None,
    help="the service's base URL, or a status URL with {jti}, to check valid/stale/revoked",
)
@click.option(
    "--status-list",
    "use_status_list",
    is_flag=True,
    help="check valid/stale/revoked through the status list the token names (its"
    " status.status_list.uri): one download serves every token of that list",
)
@click.option(
    "--status-cache",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="with --status-list: a directory where fetched lists are kept and used again while"
    " their ttl lasts",
)
@click.option(
    "--issuer",
    default=configured_issuer,
    show_default="$CEHOURS_ISSUER or https://cehours.example/",
)
@click.option(
    "--log",
    "log_url",
    default=None,
    help="the service's base URL: prove the token's chain head is in the log checkpoint it"
    " names, and that today's log extends that checkpoint",
)
@click.option(
    "--log-key",
    default=None,
    help="the log's verifier key, pinned (default: fetched from the --log URL's /v1/log/key)",
)
@click.option("--json", "as_json", is_flag=True, help="print the result (and claims) as JSON")
def verify(
    token: str,
    jwks_location: str,
    id_number: str | None,
    status_url: str | None,
    use_status_list: bool,
    status_cache: Path | None,
    issuer: str,
    log_url: str | None,
    log_key: str | None,
    as_json: bool,
) -> None:
    """Verify an attestation TOKEN ("-" reads it from stdin) offline against a JWK Set.

    Exits 0 when it is genuine, unaltered, live (and matches the ID number and status when
    asked); 1 with a reason code otherwise; 2 when the JWK Set cannot be read.
    """
    if token == "-":  # noqa: S105 (the stdin marker, not a password)
        token = sys.stdin.read().strip()
    try:
        jwks = load_jwks(json.dumps(_fetch_json(jwks_location)))
    except (OSError, ValueError, requests.RequestException) as exc:
        click.echo(f"error: cannot read the JWK Set: {type(exc).__name__}: {exc}", err=True)
        sys.exit(2)
    result = verify_token(token, jwks, issuer=issuer, id_number=id_number)
    if result.ok and use_status_list:
        status = _status_from_list(result.claims, jwks, issuer, status_cache)
        result = verify_token(token, jwks, issuer=issuer, id_number=id_number, status=status)
    elif result.ok and status_url is not None:
        try:
            status = _fetch_json(_status_url(status_url, str(result.claims["jti"])))
        except (OSError, ValueError, requests.RequestException):
            # Fail closed: no answer about the status is not a "valid".
            status = {"status": "unknown"}
        if not isinstance(status, dict):
            status = {"status": "unknown"}
        result = verify_token(token, jwks, issuer=issuer, id_number=id_number, status=status)
    log_failed = False
    if result.ok and log_url is not None:
        log_failure = check_log(result.claims, log_url, log_key)
        if log_failure is not None:
            log_failed = True
            reason, message = log_failure
            result = Verification(False, reason, message, result.header, result.claims)
    skipped = not_checked(
        id_number=id_number is not None,
        status=use_status_list or status_url is not None,
        status_list=use_status_list,
        log=log_url is not None,
    )
    _print_verification(result, skipped, as_json, log_failed=log_failed)
    sys.exit(0 if result.ok else 1)


def not_checked(*, id_number: bool, status: bool, status_list: bool, log: bool) -> dict[str, str]:
    """What ``verify`` did not check, given what it was asked, each with what would check it:
    the signature, issuer and lifetime are always checked; these only on request."""
    skipped: dict[str, str] = {}
    if not id_number:
        skipped["id-binding"] = (
            "the token was not matched to an applicant: give --id-number"
            " (or $CEHOURS_VERIFY_ID_NUMBER)"
        )
    if not status:
        skipped["status"] = (
            "offline: the token may since have become stale or revoked; give --check-status URL"
            " or --status-list"
        )
    elif not status_list:
        skipped["status-list"] = (
            "the status was asked of the status endpoint, not read from the token's status list"
        )
    if not log:
        skipped["log-inclusion"] = (
            "the ledger state it names was not proved to be in the public log: give --log URL"
        )
    return skipped


def _print_verification(
    result: Verification, skipped: dict[str, str], as_json: bool, *, log_failed: bool
) -> None:
    if as_json:
        if log_failed:  # the form a failed log check has always had
            answer = {"valid": False, "reason": result.reason, "message": result.message}
        else:
            answer = result.to_dict()
        answer["not_checked"] = [{"check": k, "why": v} for k, v in skipped.items()]
        click.echo(json.dumps(answer, ensure_ascii=False, indent=2))
        return
    if not result.ok:
        click.echo(f"FAIL {result.reason}: {result.message}")
        return
    claims = result.claims
    expires = human_time(dt.datetime.fromtimestamp(int(claims["exp"]), dt.UTC))
    click.echo(
        f"OK {claims['jti']}: compliant={str(claims.get('compliant')).lower()}"
        f" profile={claims.get('profile', {}).get('id')}"
        f"@{claims.get('profile', {}).get('version')} as_of={claims.get('as_of')}"
        f" person={claims.get('name')} {claims.get('id_number_masked')}"
        f" expires={expires}"
    )
    for check, why in skipped.items():
        click.echo(f"not checked: {check}: {why}")


def _status_from_list(
    claims: dict[str, Any], jwks: dict[str, Any], issuer: str, cache: Path | None
) -> dict[str, Any]:
    """The token's status read from its status list (fetched, or a cached copy within its
    ``ttl``); ``unknown`` when the token names none or the list cannot be relied on."""
    reference = status_reference(claims)
    if reference is None:
        return {"status": "unknown"}
    uri = reference[1]
    listed = _cached_list(cache, uri, jwks, issuer)
    if listed is None:
        try:
            response = requests.get(
                uri, headers={"Accept": "application/statuslist+jwt"}, timeout=HTTP_TIMEOUT
            )
            response.raise_for_status()
            listed = read_status_list(response.text.strip(), jwks, issuer=issuer, uri=uri)
        except (requests.RequestException, StatusListError):
            return {"status": "unknown"}  # fail closed
        if cache is not None:
            cache.mkdir(parents=True, exist_ok=True)
            _cache_file(cache, uri).write_text(response.text.strip(), encoding="ascii")
    return listed.document(claims)


def _cache_file(cache: Path, uri: str) -> Path:
    return cache / (hashlib.sha256(uri.encode()).hexdigest()[:32] + ".jwt")


def _cached_list(
    cache: Path | None, uri: str, jwks: dict[str, Any], issuer: str
) -> StatusList | None:
    """A list fetched before, verified again, if its ``ttl`` has not run out."""
    if cache is None:
        return None
    try:
        listed = read_status_list(
            _cache_file(cache, uri).read_text(encoding="ascii"), jwks, issuer=issuer, uri=uri
        )
    except (OSError, StatusListError, UnicodeDecodeError):
        return None
    return listed if listed.fresh(dt.datetime.now(dt.UTC)) else None


def check_log(claims: dict[str, Any], base: str, pinned: str | None) -> tuple[str, str] | None:
    """Check a token's ``log`` claim against the log at ``base``: None, or (reason, message)."""
    base = base.rstrip("/")

    def get(path: str) -> requests.Response:
        response = requests.get(base + path, timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        return response

    def inclusion(entry_id: int, size: int) -> dict[str, Any]:
        answer: dict[str, Any] = get(
            f"/v1/log/proof/inclusion?entry_id={entry_id}&tree_size={size}"
        ).json()
        return answer

    def consistency(old: int, new: int) -> list[bytes]:
        hashes = get(f"/v1/log/proof/consistency?from={old}&to={new}").json()["hashes"]
        return [base64.b64decode(h, validate=True) for h in hashes]

    try:
        verifier = parse_vkey(pinned or get("/v1/log/key").text)
        check_log_binding(claims, verifier, get("/v1/log/checkpoint").text, inclusion, consistency)
    except LogBindingError as exc:
        return exc.reason, str(exc)
    except (NoteError, requests.RequestException, ValueError, KeyError) as exc:
        return "log-unavailable", f"{type(exc).__name__}: {exc}"
    return None


COMMANDS: list[click.Command] = [keys, attestations_group, verify]
