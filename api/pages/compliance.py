"""Checking one's hours against a profile: each rule passed or failed, with the shortfall."""

from __future__ import annotations

from flask import Response, request

from api.db import db_session
from api.errors import Problem
from api.pages.base import as_of_date, bp, html, latest_profiles, signed_in
from ledger.compliance.catalogue import catalogue
from ledger.compliance.evaluation import evaluate
from ledger.errors import UnknownProfileError


@bp.get("/me/compliance")
def compliance() -> Response:
    """Pick a profile and see each rule pass or fail, with the shortfall."""
    person = signed_in()
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
            result = evaluate(db_session(), person.person_id, profile, as_of_date(as_of_text))
    return html(
        "pages/compliance.html",
        person=person,
        profiles=latest_profiles(),
        chosen=chosen,
        profile=profile,
        as_of=as_of_text,
        result=result,
    )
