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
import logging
import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jwt
from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.exceptions import HTTPException

from api.db import db_session
from api.demo import DEMO_ID_NUMBER, DEMO_NAME
from api.errors import Problem, ledger_status, problem_response
from api.identity import (
    csrf_matches,
    csrf_token,
    dev_idp,
    dev_idp_enabled,
    session_person,
    start_session,
    var_dir,
    verify_identity_token,
)
from api.proof import ProofData, ProofFontError, proof_filename, render_proof
from ledger.access.identity import SignedIn
from ledger.attestations import signing_keys
from ledger.attestations.status import attestation_status, get_attestation
from ledger.attestations.tokens import configured_issuer
from ledger.attestations.verification import Reason, verify_token
from ledger.compliance.catalogue import catalogue
from ledger.compliance.evaluation import evaluate
from ledger.compliance.transcripts import STATUS_LABELS, EntryStatus, Transcript, build_transcript
from ledger.errors import LedgerError, UnknownAttestationError, UnknownProfileError
from ledger.values.categories import CATEGORY_LABELS_ZH, Category
from ledger.values.dates import today_in_business_tz
from ledger.values.id_numbers import mask_id_number

log = logging.getLogger(__name__)

bp = Blueprint(
    "pages",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/assets",
)

SECRET_FILE = "session-secret-key"  # noqa: S105 (a file name, not a secret)
SESSION_LIFETIME = dt.timedelta(hours=2)
DEFAULT_PROFILE = "quzhou-annual-90"
CATEGORIES = [(c.value, CATEGORY_LABELS_ZH[c]) for c in Category]
CATEGORY_EN = {
    "specialised": "Specialised",
    "industry_public": "Industry public",
    "general_public": "General public",
}
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self';"
    " frame-ancestors 'none'; base-uri 'none'"
)
# Verification outcomes whose token still had a good signature (claims were read).
_SIGNATURE_FAILURES = {
    Reason.MALFORMED,
    Reason.WRONG_ALG,
    Reason.WRONG_TYP,
    Reason.UNKNOWN_KID,
    Reason.KEY_RETIRED,
    Reason.BAD_SIGNATURE,
}


# What a proof's QR code leads to works even where browser sign-in is not configured.
_SESSIONLESS = {"pages.verify_jti", "pages.static"}


def _secret_from_var(directory: Path) -> str:
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


# --- plumbing ---------------------------------------------------------------------------------


def _wants_html() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/problem+json"])
    return best != "application/problem+json"


def _error_page(status: int, message: str) -> Response:
    if not _wants_html():
        return problem_response(status, message)
    html = render_template("pages/error.html", status=status, message=message)
    return Response(html, status=status, mimetype="text/html")


@bp.errorhandler(Problem)
def _on_problem(error: Problem) -> Response:
    return _error_page(error.status, error.detail or "")


@bp.errorhandler(LedgerError)
def _on_ledger_error(error: LedgerError) -> Response:
    return _error_page(ledger_status(error), str(error))


@bp.errorhandler(HTTPException)
def _on_http_error(error: HTTPException) -> Response:
    return _error_page(error.code or 500, error.description or "")


@bp.before_request
def _guard() -> None:
    if not current_app.secret_key and request.endpoint not in _SESSIONLESS:
        raise Problem(503, "Sign-in is not configured: set CEHOURS_SECRET_KEY.")
    if request.method == "POST" and not csrf_matches(request.form.get("csrf_token")):
        raise Problem(403, "表单已过期,请返回重试。The form has expired: go back and try again.")


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if response.mimetype == "text/html" or response.mimetype == "application/pdf":
        response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.app_context_processor
def _context() -> dict[str, Any]:
    return {
        "csrf_token": csrf_token,
        "me": session_person,
        "dev_idp": dev_idp_enabled,
        "category_labels": dict(CATEGORIES),
        "category_en": CATEGORY_EN,
    }


def _signed_in() -> SignedIn:
    person = session_person()
    if person is None:
        raise _ToSignIn()
    return person


class _ToSignIn(Exception):
    """Raised by views that need a signed-in person; answered with a redirect."""


@bp.errorhandler(_ToSignIn)
def _to_sign_in(_: _ToSignIn) -> Response:
    return redirect(url_for("pages.sign_in_form"), code=303)  # type: ignore[return-value]


def _html(template: str, status: int = 200, **context: Any) -> Response:
    return Response(render_template(template, **context), status=status, mimetype="text/html")


# --- sign-in ----------------------------------------------------------------------------------


@bp.get("/")
def home() -> Response:
    """Home: to one's transcript when signed in, else the sign-in choices."""
    if session_person() is not None:
        return redirect(url_for("pages.transcript"), code=303)  # type: ignore[return-value]
    return _html("pages/home.html")


@bp.get("/sign-in")
def sign_in_form() -> Response:
    """Sign in with a token from the identity provider."""
    return _html("pages/sign_in.html", error=None)


@bp.post("/sign-in")
def sign_in() -> Response:
    """Accept the identity provider's token (form field ``token``) and start a session."""
    token = request.form.get("token", "").strip()
    try:
        person = verify_identity_token(token)
    except Problem as exc:
        if exc.status != 401:
            raise
        return _html("pages/sign_in.html", status=401, error=exc.detail)
    start_session(person)
    return redirect(url_for("pages.transcript"), code=303)  # type: ignore[return-value]


@bp.post("/sign-out")
def sign_out() -> Response:
    """End the session."""
    from flask import session

    session.clear()
    return redirect(url_for("pages.home"), code=303)  # type: ignore[return-value]


@bp.get("/dev/sign-in")
def dev_sign_in_form() -> Response:
    """The development identity provider's page (404 unless enabled)."""
    dev_idp()
    return _html(
        "pages/dev_sign_in.html",
        demo_name=DEMO_NAME,
        demo_masked=mask_id_number(DEMO_ID_NUMBER),
        error=None,
    )


@bp.post("/dev/sign-in")
def dev_sign_in() -> Response:
    """Mint a development token and sign in with it, exactly as with the real provider."""
    provider = dev_idp()
    name: str | None
    if request.form.get("who") == "demo":
        number, name = DEMO_ID_NUMBER, DEMO_NAME
    else:
        number = request.form.get("id_number", "").strip()
        name = request.form.get("name", "").strip() or None
    try:
        token = provider.mint(number, name)
    except ValueError as exc:
        return _html(
            "pages/dev_sign_in.html",
            status=422,
            demo_name=DEMO_NAME,
            demo_masked=mask_id_number(DEMO_ID_NUMBER),
            error=str(exc),
        )
    start_session(verify_identity_token(token))
    return redirect(url_for("pages.transcript"), code=303)  # type: ignore[return-value]


# --- transcript and compliance ----------------------------------------------------------------


def _profiles() -> list[Any]:
    return sorted(catalogue().latest(), key=lambda p: p.id)


@bp.get("/me")
def transcript() -> Response:
    """The signed-in person's transcript, by year and category."""
    person = _signed_in()
    data: Transcript | None = None
    if person.person_id is not None:
        data = build_transcript(db_session(), person.person_id)
    year = request.args.get("year", "")
    category = request.args.get("category", "")
    entries = list(data.entries) if data else []
    if year.isdigit():
        entries = [e for e in entries if e.year == int(year)]
    if category in dict(CATEGORIES):
        entries = [e for e in entries if e.category == category]
    entries.sort(key=lambda e: (e.completed_on, e.entry_id), reverse=True)
    return _html(
        "pages/transcript.html",
        person=person,
        transcript=data,
        entries=entries,
        year=year,
        category=category,
        status_labels=STATUS_LABELS,
        counted=EntryStatus.COUNTED,
        profiles=_profiles(),
        default_profile=DEFAULT_PROFILE,
        today=today_in_business_tz(),
    )


def _as_of(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise Problem(422, "日期格式应为 YYYY-MM-DD。The date must be YYYY-MM-DD.") from None
    if day.year < 1990 or day.year > 2100:
        raise Problem(422, "日期超出范围。The date is out of range.")
    return day


@bp.get("/me/compliance")
def compliance() -> Response:
    """Pick a profile and see each rule pass or fail, with the shortfall."""
    person = _signed_in()
    chosen = request.args.get("profile") or ""
    as_of_text = request.args.get("as_of") or ""
    result = None
    profile = None
    if chosen:
        try:
            profile = catalogue().get(chosen)
        except UnknownProfileError:
            raise Problem(404, "没有这个规则。No such profile.") from None
        if person.person_id is not None:
            result = evaluate(db_session(), person.person_id, profile, _as_of(as_of_text))
    return _html(
        "pages/compliance.html",
        person=person,
        profiles=_profiles(),
        chosen=chosen,
        profile=profile,
        as_of=as_of_text,
        result=result,
    )


# --- the proof --------------------------------------------------------------------------------


def public_url() -> str:
    """The base of links printed on proofs."""
    return str(current_app.config.get("PUBLIC_URL") or request.url_root).rstrip("/")


@bp.post("/me/proof")
def proof() -> Response:
    """Issue an attestation for the person and answer with the printable proof (PDF)."""
    from api.issuance import issue_for_person

    person = _signed_in()
    if person.person_id is None:
        raise Problem(404, "尚无学时记录。No hours are held for you yet.")
    try:
        profile = catalogue().get(request.form.get("profile") or DEFAULT_PROFILE)
    except UnknownProfileError:
        raise Problem(404, "没有这个规则。No such profile.") from None
    issued = issue_for_person(person.person_id, profile.ref, _as_of(request.form.get("as_of")))
    # We signed this token a moment ago; its claims are what the proof prints.
    claims = jwt.decode(issued.token, options={"verify_signature": False})
    data = ProofData(
        claims=claims,
        profile_title=f"{profile.title_zh}\n{profile.ref}",
        verify_url=f"{public_url()}/verify/{quote(issued.jti)}",
        issued_on=today_in_business_tz(),
    )
    try:
        pdf = render_proof(data)
    except ProofFontError as exc:
        log.error("proof not rendered: %s", exc)
        raise Problem(503, "证明暂时无法生成。The proof cannot be produced now.") from None
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{proof_filename(data.issued_on)}";'
        f" filename*=UTF-8''{quote('学时证明')}-{data.issued_on.isoformat()}.pdf"
    )
    return response


# --- public verification ----------------------------------------------------------------------


def _verification(token: str) -> dict[str, Any]:
    session = db_session()
    jwks = signing_keys.jwks(session)
    result = verify_token(token, jwks, issuer=configured_issuer())
    claims = result.claims
    status = None
    if claims.get("jti"):
        try:
            status = attestation_status(session, str(claims["jti"])).to_dict()
        except UnknownAttestationError:
            status = None
    state = status["status"] if status else None
    return {
        "signature_ok": bool(claims) and result.reason not in _SIGNATURE_FAILURES,
        "reason": result.reason,
        "message": result.message,
        "expired": result.reason == Reason.EXPIRED,
        "status": state,
        "valid": result.ok and state == "valid",
        "claims": claims,
    }


@bp.get("/verify")
def verify_form() -> Response:
    """Paste an attestation token to check it."""
    return _html("pages/verify_form.html", error=None)


@bp.post("/verify")
def verify_pasted() -> Response:
    """Check a pasted token: signature, expiry and current status."""
    token = "".join(request.form.get("token", "").split())
    if not token:
        return _html("pages/verify_form.html", status=422, error="请粘贴证明令牌。Paste a token.")
    return _html("pages/verify.html", v=_verification(token), jti=None)


@bp.get("/verify/<string:jti>")
def verify_jti(jti: str) -> Response:
    """The page a proof's QR code leads to."""
    try:
        token = get_attestation(db_session(), jti).token
    except UnknownAttestationError:
        raise Problem(404, "没有这份证明。No attestation with this number.") from None
    return _html("pages/verify.html", v=_verification(token), jti=jti)
