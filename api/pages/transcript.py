"""The signed-in person's transcript, by year and category."""

from __future__ import annotations

from flask import Response, request

from api.db import db_session
from api.pages.base import CATEGORIES, DEFAULT_PROFILE, bp, html, latest_profiles, signed_in
from ledger.compliance.transcripts import STATUS_LABELS, EntryStatus, Transcript, build_transcript
from ledger.values.dates import today_in_business_tz
from ledger.values.reasons import SERVICE_REASON_LABELS, service_reason_code


def reason_text(text: str | None) -> str | None:
    """A correction's reason as the page shows it: the words of whoever reversed the record, or
    the Chinese label of a reason the service wrote itself."""
    code = service_reason_code(text)
    return SERVICE_REASON_LABELS[code].zh if code is not None else text


@bp.get("/me")
def transcript() -> Response:
    """The signed-in person's transcript, by year and category."""
    person = signed_in()
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
    return html(
        "pages/transcript.html",
        person=person,
        transcript=data,
        entries=entries,
        year=year,
        category=category,
        status_labels=STATUS_LABELS,
        reason_text=reason_text,
        counted=EntryStatus.COUNTED,
        profiles=latest_profiles(),
        default_profile=DEFAULT_PROFILE,
        today=today_in_business_tz(),
    )
