"""Pages for people in a browser: sign-in, transcript, compliance, the proof, verification.

Server-rendered Jinja, Chinese first with English beside it, one narrow column that works on a
phone, no scripts and nothing from another origin (the Content-Security-Policy says so). The
session is Flask's signed cookie (``Secure``, ``HttpOnly``, ``SameSite=Lax``) holding only the
opaque person id, the name and the masked ID number; every POST form carries the session's CSRF
token. ``init_app`` wires it all into ``create_app``.

Session settings: ``SECRET_KEY`` (``CEHOURS_SECRET_KEY``; a development server generates one
into ``var/session-secret-key``), ``COOKIE_SECURE`` (default on; off on a ``DEV`` server so that
``http://127.0.0.1`` works), ``PUBLIC_URL`` (the base of verification links printed on proofs;
default: the request's own).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

from flask import Flask

from api.errors import install_error_pages
from api.identity import var_dir
from api.pages import (  # noqa: F401 (each registers its views on the blueprint when imported)
    compliance,
    oidc,
    proof,
    sign_in,
    transcript,
    verification,
)
from api.pages.base import bp, error_page

SECRET_FILE = "session-secret-key"  # noqa: S105 (a file name, not a secret)
SESSION_LIFETIME = dt.timedelta(hours=2)


def _secret_from_var(directory: Path) -> str:
    """The session key kept in ``directory``, created there by the first worker to need it."""
    path = directory / SECRET_FILE
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        try:
            # O_EXCL: two workers starting together must agree on one key.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def init_app(app: Flask) -> None:
    """Configure sessions and register the pages (called by ``create_app``)."""
    if not app.config.get("SECRET_KEY") and app.config.get("DEV"):
        app.config["SECRET_KEY"] = _secret_from_var(var_dir(app))
    secure = app.config.get("COOKIE_SECURE")
    app.config.update(
        SESSION_COOKIE_NAME="cehours_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(not app.config.get("DEV") if secure is None else secure),
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
    )
    app.register_blueprint(bp)
    install_error_pages(app, error_page)
