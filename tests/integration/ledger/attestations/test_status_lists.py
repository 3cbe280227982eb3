"""Status lists in a real ledger: a place for each attestation, bits that follow its status in
the same transaction, a signed list token, and the status at a past moment."""

from __future__ import annotations

import datetime as dt

import jwt
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.attestations import signing_keys
from ledger.attestations.status import (
    get_attestation_status_at,
    revoke_attestation,
)
from ledger.attestations.status_bits import CAPACITY, StatusType, slot_of, status_at
from ledger.attestations.status_lists import (
    forget_built_lists,
    get_status_list_token,
    status_list_uri,
)
from ledger.attestations.tables import Attestation, StatusList
from ledger.attestations.verification import StatusList as ListRead
from ledger.attestations.verification import read_status_list
from ledger.entries.reversal import reverse_record
from ledger.errors import UnknownAttestationError, UnknownStatusListError, ValidationError
from tests.integration.ledger.attestations.helpers import ISSUER
from tests.integration.ledger.attestations.test_issue_and_status import (
    issue,
    person_with_hours,
    person_with_hours_of_another,
)

URI = status_list_uri(ISSUER, 1)


@pytest.fixture(autouse=True)
def _no_remembered_lists() -> None:
    forget_built_lists()


def served(
    session: Session, kek: bytes, list_id: int = 1, now: dt.datetime | None = None
) -> tuple[str, ListRead]:
    token = get_status_list_token(session, list_id, uri=URI, issuer=ISSUER, kek=kek, now=now)
    return token, read_status_list(token, signing_keys.get_jwks(session), issuer=ISSUER, uri=URI)


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_each_attestation_gets_its_own_place_named_in_its_status_claim(
    session: Session, active_key: signing_keys.KeyInfo
) -> None:
    person_id = person_with_hours(session)
    first, second = issue(session, person_id), issue(session, person_id)
    references = [claims_of(t)["status"]["status_list"] for t in (first.token, second.token)]
    assert [r["uri"] for r in references] == [URI, URI]
    positions = session.scalars(select(Attestation.status_position).order_by(Attestation.issued_at))
    stored = sorted(p for p in positions if p is not None)
    assert len(set(stored)) == 2
    assert sorted(r["idx"] for r in references) == sorted(slot_of(p).idx for p in stored)


def test_the_list_token_is_signed_as_the_draft_says_and_starts_all_valid(
    session: Session, active_key: signing_keys.KeyInfo, kek: bytes
) -> None:
    issued = issue(session, person_with_hours(session))
    token, listed = served(session, kek)
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "statuslist+jwt"
    assert header["kid"] == active_key.kid
    claims = claims_of(token)
    assert claims["sub"] == URI
    assert claims["iss"] == ISSUER
    assert claims["ttl"] > 0
    assert claims["exp"] > claims["iat"]
    assert claims["status_list"]["bits"] == 2
    assert len(listed.raw) == CAPACITY // 4
    assert listed.document(claims_of(issued.token)) == {"jti": issued.jti, "status": "valid"}


def test_a_reversal_flips_the_bits_and_the_version_in_its_own_transaction(
    session: Session, active_key: signing_keys.KeyInfo, kek: bytes
) -> None:
    stale = issue(session, person_with_hours(session))
    revoked = issue(session, person_with_hours_of_another(session))
    _, before = served(session, kek)
    assert session.get(StatusList, 1) is None  # no bit has changed yet: no row
    session.rollback()
    reverse_record(session, "quzhou-city", "c-1", reason="forged certificate", actor="auditor")
    row = session.get(StatusList, 1)
    assert row is not None
    assert row.version == 1
    session.rollback()
    revoke_attestation(session, revoked.jti, reason="falsified", actor="admin")
    session.expire_all()
    assert session.get(StatusList, 1).version == 2  # type: ignore[union-attr]
    session.rollback()
    _, after = served(session, kek)
    assert after.document(claims_of(stale.token))["status"] == "stale"
    assert after.document(claims_of(revoked.token))["status"] == "revoked"
    idx = claims_of(revoked.token)["status"]["status_list"]["idx"]
    assert status_at(after.raw, idx) == StatusType.INVALID
    assert before.document(claims_of(stale.token))["status"] == "valid"


def test_an_unchanged_list_is_served_again_without_being_rebuilt(
    session: Session, active_key: signing_keys.KeyInfo, kek: bytes
) -> None:
    issue(session, person_with_hours(session))
    now = dt.datetime.now(dt.UTC)
    first, _ = served(session, kek, now=now)
    assert served(session, kek, now=now + dt.timedelta(seconds=10))[0] == first
    # Past its ttl it is built again (a fresh iat), though nothing changed.
    later, _ = served(session, kek, now=now + dt.timedelta(seconds=400))
    assert later != first
    assert claims_of(later)["status_list"] == claims_of(first)["status_list"]


def test_a_list_nobody_has_a_place_in_does_not_exist(
    session: Session, active_key: signing_keys.KeyInfo, kek: bytes
) -> None:
    with pytest.raises(UnknownStatusListError):
        served(session, kek)
    issue(session, person_with_hours(session))
    for list_id in (0, 2, 1 << 62):
        with pytest.raises(UnknownStatusListError):
            served(session, kek, list_id)


def test_the_status_at_a_moment_follows_the_audit_trail(
    session: Session, active_key: signing_keys.KeyInfo
) -> None:
    issued = issue(session, person_with_hours(session))
    issued_at = session.scalar(select(Attestation.issued_at).where(Attestation.jti == issued.jti))
    assert issued_at is not None
    session.rollback()
    reverse_record(session, "quzhou-city", "c-1", reason="forged", actor="auditor")
    changed = session.scalar(
        select(Attestation.status_changed_at).where(Attestation.jti == issued.jti)
    )
    assert changed is not None
    session.rollback()
    at_issue = get_attestation_status_at(session, issued.jti, issued_at)
    assert (at_issue.status, at_issue.changed_at) == ("valid", issued_at)
    moment = changed - dt.timedelta(microseconds=1)
    assert get_attestation_status_at(session, issued.jti, moment).status == "valid"
    at_change = get_attestation_status_at(session, issued.jti, changed)
    assert (at_change.status, at_change.changed_at) == ("stale", changed)
    now = get_attestation_status_at(session, issued.jti, dt.datetime.now(dt.UTC))
    assert now.status == "stale"
    # Any time zone names the same moment.
    shanghai = dt.timezone(dt.timedelta(hours=8))
    assert get_attestation_status_at(session, issued.jti, changed.astimezone(shanghai)).status == (
        "stale"
    )


def test_a_moment_before_the_attestation_or_in_the_future_is_refused(
    session: Session, active_key: signing_keys.KeyInfo
) -> None:
    issued = issue(session, person_with_hours(session))
    now = dt.datetime.now(dt.UTC)
    for at in (now - dt.timedelta(days=1), now + dt.timedelta(minutes=5), now.replace(tzinfo=None)):
        with pytest.raises(ValidationError) as caught:
            get_attestation_status_at(session, issued.jti, at)
        assert "at" in caught.value.errors
    with pytest.raises(UnknownAttestationError):
        get_attestation_status_at(session, "att_nope", now)


def test_the_tokens_of_a_retired_key_read_revoked_in_the_list_and_from_its_retirement_on(
    session: Session, active_key: signing_keys.KeyInfo, kek: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(signing_keys, "_sleep", lambda seconds: None)
    issued = issue(session, person_with_hours(session))
    _, before = served(session, kek)
    assert before.document(claims_of(issued.token))["status"] == "valid"
    signing_keys.rotate_key(session, kek, actor="ops@test")
    retired = signing_keys.retire_key(session, active_key.kid, reason="stolen", actor="ops@test")
    assert retired.retired_at is not None
    # The list's version moved on in the retirement's transaction: the list is read again.
    _, after = served(session, kek)
    assert after.document(claims_of(issued.token))["status"] == "revoked"
    idx = claims_of(issued.token)["status"]["status_list"]["idx"]
    assert status_at(after.raw, idx) == StatusType.INVALID
    # At a moment: valid before the retirement, revoked (key-retired) from it on.
    just_before = retired.retired_at - dt.timedelta(microseconds=1)
    assert get_attestation_status_at(session, issued.jti, just_before).status == "valid"
    since = get_attestation_status_at(session, issued.jti, dt.datetime.now(dt.UTC))
    assert (since.status, since.reason_code) == ("revoked", "key-retired")
    assert since.changed_at == retired.retired_at
