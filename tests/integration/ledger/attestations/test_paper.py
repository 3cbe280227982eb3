"""A printed proof's verification code names exactly one attestation, for ever; its appendix
lists the entries the attestation counted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import jwt
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from ledger.attestations import paper
from ledger.attestations.codes import check_symbol, is_valid
from ledger.attestations.paper import code_for, counted_courses, find_by_code
from ledger.errors import UnknownAttestationError
from tests.integration.ledger.attestations.test_issue_and_status import issue, person_with_hours

pytestmark = pytest.mark.usefixtures("active_key")


def test_an_attestation_keeps_one_code_and_the_code_finds_it(session: Session) -> None:
    person = person_with_hours(session)
    first, second = issue(session, person), issue(session, person)
    code = code_for(session, first.jti)
    assert is_valid(code)
    assert code_for(session, first.jti) == code  # asked again: the same code
    other = code_for(session, second.jti)
    assert other != code
    assert find_by_code(session, code) == first.jti
    assert find_by_code(session, other) == second.jti


def test_no_code_for_an_unknown_attestation_and_no_attestation_for_an_unknown_code(
    session: Session,
) -> None:
    with pytest.raises(UnknownAttestationError):
        code_for(session, "att_missing")
    with pytest.raises(UnknownAttestationError):
        find_by_code(session, "000000000000")


def test_a_code_already_taken_is_drawn_again(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = person_with_hours(session)
    first, second = issue(session, person), issue(session, person)
    taken = code_for(session, first.jti)
    fresh = "7K3MQ9TD2XW" + check_symbol("7K3MQ9TD2XW")
    draws: Iterator[str] = iter([taken, fresh])
    monkeypatch.setattr(paper, "new_code", lambda: next(draws))
    assert code_for(session, second.jti) == fresh
    assert find_by_code(session, taken) == first.jti


def test_a_printed_code_cannot_be_changed_or_deleted(session: Session) -> None:
    person = person_with_hours(session)
    code = code_for(session, issue(session, person).jti)
    for statement in (
        sa.text("UPDATE proof_codes SET jti = 'att_other' WHERE code = :code"),
        sa.text("DELETE FROM proof_codes WHERE code = :code"),
    ):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), session.begin():
            session.execute(statement, {"code": code})
    assert find_by_code(session, code)


def test_the_courses_are_the_entries_the_token_counted(session: Session) -> None:
    person = person_with_hours(session, ("50", "45", "1.5"))
    issued = issue(session, person)
    claims = jwt.decode(issued.token, options={"verify_signature": False})
    courses = counted_courses(session, issued.jti)
    assert sorted(c.entry_id for c in courses) == claims["entries"]["ids"]
    assert sorted(str(c.hours) for c in courses) == ["1.5", "45.0", "50.0"]
    assert all(c.source_kind == "city" and c.source_name for c in courses)
    assert all(isinstance(c.completed_on, dt.date) for c in courses)
