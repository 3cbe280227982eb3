"""The printable proof: issue an attestation for the signed-in person, answer with its PDF."""

from __future__ import annotations

import logging
from urllib.parse import quote

import jwt
from flask import Response, current_app, request

from api.db import db_session
from api.errors import Problem
from api.issuance import issue_for_person
from api.pages.base import DEFAULT_PROFILE, as_of_date, bp, issuer_name, signed_in
from api.pages.pdf import ProofData, ProofFontError, proof_filename, render_proof
from ledger.attestations.paper import code_for, counted_courses
from ledger.compliance.catalogue import catalogue
from ledger.errors import UnknownProfileError

log = logging.getLogger(__name__)


def public_url() -> str:
    """The base of links printed on proofs."""
    return str(current_app.config.get("PUBLIC_URL") or request.url_root).rstrip("/")


@bp.post("/me/proof")
def proof() -> Response:
    """Issue an attestation for the person and answer with the printable proof (PDF)."""
    person = signed_in()
    if person.person_id is None:
        raise Problem(404, "尚无学时记录。No hours are held for you yet.")
    try:
        profile = catalogue().get(request.form.get("profile") or DEFAULT_PROFILE)
    except UnknownProfileError:
        raise Problem(404, "没有这个规则。No such profile.") from None
    issued = issue_for_person(person.person_id, profile.ref, as_of_date(request.form.get("as_of")))
    # We signed this token a moment ago; its claims are what the proof prints.
    claims = jwt.decode(issued.token, options={"verify_signature": False})
    session = db_session()
    data = ProofData(
        claims=claims,
        profile_title=f"{profile.title_zh}\n{profile.ref}",
        verify_url=f"{public_url()}/verify/{quote(issued.jti)}",
        code=code_for(session, issued.jti),
        issuer_name=issuer_name(),
        courses=counted_courses(session, issued.jti),
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
