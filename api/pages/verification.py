"""Public verification of an attestation: the page a proof's QR code opens, a typed code, or a
pasted token.

The page's headline, text and colour follow one outcome (:class:`Outcome`), decided from the
signature check and the attestation's current status, strongest first: a bad or unverifiable
signature; revoked (by the issuer, or because the key that signed it was withdrawn); stale (an
entry it counted was later reversed or corrected); expired; valid. Only ``valid`` says the proof
may be relied on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Response, redirect, request, url_for

from api.db import db_session
from api.pages.base import bp, html, issuer_name
from api.pages.pdf import business_time
from ledger.attestations import signing_keys
from ledger.attestations.codes import CodeError, normalise_code
from ledger.attestations.paper import find_by_code
from ledger.attestations.status import StatusReason, get_attestation, get_attestation_status
from ledger.attestations.tokens import configured_issuer
from ledger.attestations.verification import VerificationCode, verify_token
from ledger.compliance.catalogue import catalogue
from ledger.errors import UnknownAttestationError, UnknownProfileError

# Verification outcomes that leave the signature unproven (any other: it verified).
_SIGNATURE_FAILURES = {
    VerificationCode.MALFORMED,
    VerificationCode.WRONG_ALG,
    VerificationCode.WRONG_TYP,
    VerificationCode.UNKNOWN_KID,
    VerificationCode.KEY_RETIRED,
    VerificationCode.BAD_SIGNATURE,
    VerificationCode.MISSING_CLAIM,
    VerificationCode.WRONG_ISSUER,
}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the page says: a stable ``key`` (``data-status`` in the page), the colour class,
    the headline and explanation (Chinese, English), and what to do."""

    key: str
    tone: str  # ok, warn, bad, none: the card's colour
    headline: str
    headline_en: str
    text: str
    action: str


def _outcome(key: str, tone: str, head: tuple[str, str], text: str, action: str) -> Outcome:
    return Outcome(key, tone, head[0], head[1], text, action)


def outcome_of(result_reason: str, state: str | None, reason_code: str | None) -> Outcome:
    """The outcome of a verification (``result_reason``, a :class:`VerificationCode`) and of
    the attestation's status (``state``, ``reason_code``; ``None`` when it is not on record)."""
    issuer = issuer_name()
    contact = f"如有疑问,请联系签发单位:{issuer}。"
    reissue = "请申报人登录后重新开具学时证明。"
    if result_reason == VerificationCode.KEY_RETIRED or reason_code == StatusReason.KEY_RETIRED:
        return _outcome(
            "revoked",
            "bad",
            ("已撤销:签名密钥已停用", "Revoked: the key that signed it was withdrawn"),
            "签发单位已停用签署这份证明的密钥,用该密钥签署的证明一律作废。",
            reissue + contact,
        )
    if result_reason == VerificationCode.MALFORMED:
        return _outcome(
            "malformed",
            "bad",
            ("无法识别", "Not a proof token"),
            "输入的内容不是学时证明令牌。",
            "请核对后重新输入,或扫描证明上的二维码。" + contact,
        )
    if result_reason in _SIGNATURE_FAILURES:
        return _outcome(
            "bad-signature",
            "bad",
            ("签名无效", "Signature not valid"),
            "签名无法用签发单位公布的密钥核验:证明被改动、伪造,或不是本服务签发的。",
            f"请勿采信这份证明,并联系签发单位:{issuer}。",
        )
    if state == "revoked":
        return _outcome(
            "revoked",
            "bad",
            ("已撤销", "Revoked by the issuer"),
            "签发单位已撤销这份证明。",
            "请勿采信这份证明。" + contact,
        )
    if state == "stale":
        return _outcome(
            "stale",
            "warn",
            ("已失效:学时记录已更正", "No longer current: an entry it counted was corrected"),
            "开具后,证明计入的学时记录被撤销或更正,下方所列结果已不是当前结果。",
            reissue + contact,
        )
    if result_reason == VerificationCode.EXPIRED:
        return _outcome(
            "expired",
            "warn",
            ("已过期", "Expired"),
            "签名真实,但这份证明已超过有效期。",
            reissue + contact,
        )
    if result_reason == VerificationCode.OK and state == "valid":
        return _outcome(
            "valid",
            "ok",
            ("有效", "Valid"),
            f"这份证明由{issuer}签发,内容未被改动,当前有效。",
            "请核对下方姓名和身份证号与申报人一致。",
        )
    return _outcome(
        "unconfirmed",
        "warn",
        ("无法确认", "Not confirmed"),
        "签名真实,但无法确认这份证明当前的状态。",
        contact,
    )


def _profile_title(claims: dict[str, Any]) -> str | None:
    profile = claims.get("profile")
    if not isinstance(profile, dict):
        return None
    try:
        version = int(profile.get("version") or 0) or None
        return catalogue().get(str(profile.get("id")), version).title_zh
    except (UnknownProfileError, ValueError, TypeError):
        return None


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
    outcome = outcome_of(result.reason, state, reason_code)
    shown = bool(claims) and outcome.key not in ("bad-signature", "malformed")
    return {
        "outcome": outcome,
        "reason_code": reason_code or "",
        "signature_ok": bool(claims) and result.reason not in _SIGNATURE_FAILURES,
        "claims": claims if shown else {},
        "profile_title": _profile_title(claims) if shown else None,
        "issued": business_time(claims["iat"]) if shown else None,
        "expires": business_time(claims["exp"]) if shown else None,
        "expired": result.reason == VerificationCode.EXPIRED,
        "issuer": issuer_name(),
    }


def _not_found(code: str | None = None) -> Response:
    outcome = _outcome(
        "not-found",
        "none",
        ("未找到这份证明", "No such proof"),
        "本服务没有这个编号或核验码的证明。",
        f"请核对网址或核验码;仍无法找到,请联系签发单位:{issuer_name()}。",
    )
    v = {"outcome": outcome, "reason_code": "", "claims": {}, "issuer": issuer_name()}
    return html("pages/verify.html", status=404, v=v, jti=None, code=code)


@bp.get("/verify")
def verify_form() -> Response:
    """Type a proof's verification code, or paste an attestation token, to check it."""
    return html("pages/verify_form.html", error=None, code_error=None, typed="")


@bp.get("/verify/code")
def verify_code() -> Response:
    """A typed verification code: the same page as the proof's QR code leads to."""
    typed = request.args.get("code", "")[:64]
    try:
        code = normalise_code(typed)
    except CodeError as exc:
        return html(
            "pages/verify_form.html", status=422, error=None, code_error=str(exc), typed=typed
        )
    try:
        jti = find_by_code(db_session(), code)
    except UnknownAttestationError:
        return _not_found(code)
    return redirect(url_for("pages.verify_jti", jti=jti), code=303)  # type: ignore[return-value]


@bp.post("/verify")
def verify_pasted() -> Response:
    """Check a pasted token: signature, expiry and current status."""
    token = "".join(request.form.get("token", "").split())
    if not token:
        return html(
            "pages/verify_form.html",
            status=422,
            error="请粘贴证明令牌。Paste a token.",
            code_error=None,
            typed="",
        )
    return html("pages/verify.html", v=_verification(token), jti=None)


@bp.get("/verify/<string:jti>")
def verify_jti(jti: str) -> Response:
    """The page a proof's QR code leads to."""
    try:
        token = get_attestation(db_session(), jti).token
    except UnknownAttestationError:
        return _not_found()
    return html("pages/verify.html", v=_verification(token, jti), jti=jti)
