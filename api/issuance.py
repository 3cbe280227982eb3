"""Signing attestations from the web: the key-encryption key, the development key, issuing.

The API (``POST /v1/attestations``, ``POST /v1/me/attestations``) and the printable proof of the
pages issue through :func:`issue`. The key-encryption key that opens the signing key is read from
the environment once per process (``CEHOURS_KEY_ENCRYPTION_KEY`` or ``..._FILE``); a development
server (``DEV``) falls back to ``var/dev-key-encryption-key`` and creates a signing key on first
use, so ``make run`` works with no set-up. Without a usable key, issuing answers 503, never a 500.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from pathlib import Path
from typing import Any

from flask import Flask, current_app, request

from api import metrics
from api.auth import current_client
from api.db import db_session
from api.errors import Problem
from ledger.attestations import key_encryption, signing_keys
from ledger.attestations.issuance import Issued, issue_attestation
from ledger.errors import KeyEncryptionKeyError, LogKeyError, SigningKeyError
from ledger.log.checkpoints import publish

_KEK = "cehours_kek"
_DEV_KEY_READY = "cehours_dev_signing_key"
_lock = threading.Lock()


def _app() -> Flask:
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    return app


def key_encryption_key() -> bytes:
    """This server's key-encryption key, read once per process.

    Raises:
        Problem: 503 when none is configured (or the one configured is not usable).
    """
    app = _app()
    kek: bytes | None = app.extensions.get(_KEK)
    if kek is None:
        dev_dir = Path("var") if app.config.get("DEV") else None
        try:
            kek = key_encryption.load_kek(dev_dir=dev_dir)
        except KeyEncryptionKeyError as exc:
            raise Problem(
                503, f"Attestations are not configured: {exc}", code="signing-unavailable"
            ) from None
        app.extensions[_KEK] = kek
    return kek


def ensure_dev_key() -> None:
    """On a development server, create a signing key the first time one is needed.

    Raises:
        Problem: 503 when the development key-encryption key cannot be read.
    """
    app = _app()
    if not app.config.get("DEV") or app.extensions.get(_DEV_KEY_READY):
        return
    with _lock:
        signing_keys.ensure_active_key(db_session(), key_encryption_key(), actor="dev-server")
        app.extensions[_DEV_KEY_READY] = True


def public_base() -> str:
    """The service's base URL as callers reach it: ``PUBLIC_URL``, else the request's own (the
    base of status list URIs in tokens, and the ``sub`` of the list tokens served there)."""
    return str(current_app.config.get("PUBLIC_URL") or request.url_root).rstrip("/")


def issue(
    person_id: str | None,
    profile: str,
    as_of: dt.date | None,
    application_ref: str | None,
    actor: str,
    *,
    id_number: str | None = None,
) -> Issued:
    """Evaluate, sign and record an attestation (``person_id`` or ``id_number`` names whom).

    Raises:
        Problem: 503 when nothing can be signed now (no key-encryption key, no active key).
        LedgerError: as :func:`ledger.attestations.issuance.issue_attestation` raises them.
    """
    ensure_dev_key()
    try:
        return issue_attestation(
            db_session(),
            person_id,
            profile,
            as_of,
            application_ref,
            actor,
            id_number=id_number,
            kek=key_encryption_key(),
            status_base=public_base(),
            refresh_log=_refresh_log,
        )
    except (SigningKeyError, KeyEncryptionKeyError) as exc:
        raise Problem(
            503, f"Attestations cannot be signed now: {exc}", code="signing-unavailable"
        ) from None


def _refresh_log() -> None:
    """Integrate and sign now, for an attestation whose head entry is newer than the newest
    checkpoint; without a usable log key the token says its head is not logged yet."""
    with contextlib.suppress(LogKeyError):
        publish(db_session(), key_encryption_key())


def issue_for_person(
    person_id: str, profile: str, as_of: dt.date | None, application_ref: str | None = None
) -> Issued:
    """Issue an attestation the individual asked for (``/v1/me/attestations``, the proof).

    Raises:
        Problem: 503 when nothing can be signed now.
    """
    return issue(person_id, profile, as_of, application_ref, f"person:{person_id}")


def issue_for_client(args: dict[str, Any]) -> Issued:
    """Issue what a filing or admin key asked for (a request's arguments), and count it.

    Raises:
        Problem: 503 when nothing can be signed now.
    """
    client = current_client()
    issued = issue(
        args.get("person_id"),
        args["profile"],
        args.get("as_of"),
        args.get("application_ref"),
        f"client:{client.id}:{client.name}",
        id_number=args.get("id_number"),
    )
    metrics.count_issued(args["profile"], issued.compliant)
    return issued
