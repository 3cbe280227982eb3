"""Public verification of an attestation: a pasted token, or the page a proof's QR code opens."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from api.db import db_session
from api.errors import Problem
from api.pages.base import bp, html
from ledger.attestations import signing_keys
from ledger.attestations.status import StatusReason, get_attestation, get_attestation_status
from ledger.attestations.tokens import configured_issuer
from ledger.attestations.verification import VerificationCode, verify_token
from ledger.errors import UnknownAttestationError

# Verification outcomes that leave the signature unproven (any other: it verified).
_SIGNATURE_FAILURES = {
    VerificationCode.MALFORMED,
    VerificationCode.WRONG_ALG,
    VerificationCode.WRONG_TYP,
    VerificationCode.UNKNOWN_KID,
    VerificationCode.KEY_RETIRED,
    VerificationCode.BAD_SIGNATURE,
}


def _verification(token: str, jti: str | None = None) -> dict[str, Any]:
    """What the page shows of ``token`` (the attestation ``jti``, when the URL names it)."""
    session = db_session()
    jwks = signing_keys.get_jwks(session)
    result = verify_token(token, jwks, issuer=configured_issuer())
    claims = result.claims
    state = reason_code = None
    jti = jti or claims.get("jti")
    if isinstance(jti, str):
        try:
            status = get_attestation_status(session, jti)
        except UnknownAttestationError:
            pass
        else:
            state, reason_code = status.status, status.reason_code
    if result.reason == VerificationCode.KEY_RETIRED:
        # The token itself says so: its key is listed as withdrawn, whatever jti it names.
        state, reason_code = "revoked", StatusReason.KEY_RETIRED
    return {
        "signature_ok": bool(claims) and result.reason not in _SIGNATURE_FAILURES,
        "reason": result.reason,
        "message": result.message,
        "expired": result.reason == VerificationCode.EXPIRED,
        "status": state,
        "reason_code": reason_code,
        "valid": result.ok and state == "valid",
        "claims": claims,
    }


@bp.get("/verify")
def verify_form() -> Response:
    """Paste an attestation token to check it."""
    return html("pages/verify_form.html", error=None)


@bp.post("/verify")
def verify_pasted() -> Response:
    """Check a pasted token: signature, expiry and current status."""
    token = "".join(request.form.get("token", "").split())
    if not token:
        return html("pages/verify_form.html", status=422, error="请粘贴证明令牌。Paste a token.")
    return html("pages/verify.html", v=_verification(token), jti=None)


@bp.get("/verify/<string:jti>")
def verify_jti(jti: str) -> Response:
    """The page a proof's QR code leads to."""
    try:
        token = get_attestation(db_session(), jti).token
    except UnknownAttestationError:
        raise Problem(404, "没有这份证明。No attestation with this number.") from None
    return html("pages/verify.html", v=_verification(token, jti), jti=jti)
