"""Issuing attestations, their status, and staleness when a counted entry is corrected."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from ledger.attestations import signing_keys
from ledger.attestations.issuance import Issued, issue_attestation
from ledger.attestations.status import (
    AttestationState,
    get_attestation,
    get_attestation_status,
    list_attestation_events,
    revoke_attestation,
)
from ledger.attestations.verification import VerificationCode, verify_token
from ledger.db.engine import make_engine, make_session_factory
from ledger.entries.append import append_records
from ledger.entries.reversal import reverse_entry, reverse_record
from ledger.errors import (
    AttestationStatusError,
    SigningKeyError,
    UnknownAttestationError,
    UnknownPersonError,
    ValidationError,
)
from tests.factories import city_source, id_number, record
from tests.integration.ledger.attestations.helpers import ISSUER, count_active_credits


def issue(session: Session, person_id: str, ref: str | None = None) -> Issued:
    return issue_attestation(
        session,
        person_id,
        "r1-annual-90",
        dt.date(2025, 1, 1),
        ref,
        "filing@test",
        evaluate=count_active_credits,
    )


def person_with_hours(session: Session, hours: tuple[str, ...] = ("50", "45")) -> str:
    source = city_source(session)
    results = append_records(
        session,
        source,
        [record(f"c-{i}", hours=h) for i, h in enumerate(hours)],
        actor="platform",
    )
    assert all(r.person_id for r in results)
    person_id = results[0].person_id
    assert person_id is not None
    return person_id


def check(session: Session, token: str, jti: str, **kw: object) -> str:
    status = get_attestation_status(session, jti).to_dict()
    return verify_token(
        token,
        signing_keys.get_jwks(session),
        issuer=ISSUER,
        status=status,
        **kw,  # type: ignore[arg-type]
    ).reason


def test_issued_token_verifies_with_jwks_id_number_and_status(
    session: Session, active_key: signing_keys.KeyInfo
) -> None:
    person_id = person_with_hours(session)
    issued = issue(session, person_id, ref="2025-ZC-0001")
    assert issued.compliant is True
    assert issued.kid == active_key.kid
    result = verify_token(
        issued.token,
        signing_keys.get_jwks(session),
        issuer=ISSUER,
        id_number=id_number(1),
        status=get_attestation_status(session, issued.jti).to_dict(),
    )
    assert result.ok, result.reason
    claims = result.claims
    assert claims["sub"] == person_id
    assert claims["jti"] == issued.jti
    assert claims["exp"] == int(issued.expires_at.timestamp())
    assert claims["application_ref"] == "2025-ZC-0001"
    assert claims["totals"] == {"2024": {"specialised": "95.0"}}
    assert claims["ledger"]["entry_count"] == 2
    assert claims["entries"]["count"] == 2
    assert claims["name"] == "张三"


def test_issuance_is_recorded_and_fetchable(
    session: Session, active_key: signing_keys.KeyInfo
) -> None:
    person_id = person_with_hours(session)
    issued = issue(session, person_id)
    info = get_attestation(session, issued.jti)
    assert info.token == issued.token
    assert info.status == AttestationState.VALID
    assert info.issued_by == "filing@test"
    events = list_attestation_events(session, issued.jti)
    assert [(e["event"], e["actor"]) for e in events] == [("issued", "filing@test")]
    status = get_attestation_status(session, issued.jti).to_dict()
    assert set(status) == {"jti", "status", "reason", "reason_code", "changed_at"}
    assert status["status"] == "valid"


@pytest.mark.postgres
def test_tokens_are_stored_in_their_row_on_postgresql(pg_db_url: str, kek: bytes) -> None:
    """Migration 0009: a token of a few kB is neither compressed nor moved to TOAST."""
    engine = make_engine(pg_db_url)
    try:
        with make_session_factory(engine)() as session:
            signing_keys.create_key(session, kek, actor="ops@test")
            # 200 counted entries: their ids make the token about 3 kB, as in the benchmark.
            issued = issue(session, person_with_hours(session, ("0.5",) * 200))
            conn = session.connection()
            stored = conn.execute(
                sa.text("SELECT pg_column_size(token) FROM attestations WHERE jti = :j"),
                {"j": issued.jti},
            ).scalar()
            toast = conn.execute(
                sa.text(
                    "SELECT reltoastrelid::regclass::text FROM pg_class"
                    " WHERE relname = 'attestations'"
                )
            ).scalar()
            chunks = conn.execute(sa.text(f"SELECT count(*) FROM {toast}")).scalar()
    finally:
        engine.dispose()
    assert len(issued.token) > 2100  # above the default threshold that moved tokens out of line
    assert stored == len(issued.token) + 4  # the text and its length word: not compressed
    assert chunks == 0


def test_reversing_a_counted_entry_makes_it_stale_at_once(
    session: Session, active_key: signing_keys.KeyInfo
) -> None:
    person_id = person_with_hours(session)
    issued = issue(session, person_id)
    untouched = issue(session, person_with_hours_of_another(session))
    reverse_record(session, "quzhou-city", "c-1", reason="certificate was forged", actor="auditor")
    status = get_attestation_status(session, issued.jti)
    assert status.status == AttestationState.STALE
    # The public status carries no free text from the platform or the auditor.
    assert "forged" not in status.reason
    assert (
        check(session, issued.token, issued.jti, id_number=id_number(1)) == VerificationCode.STALE
    )
    assert get_attestation_status(session, untouched.jti).status == "valid"
    events = list_attestation_events(session, issued.jti)
    assert events[-1]["event"] == "stale"
    assert events[-1]["actor"] == "auditor"
    assert "forged" in (events[-1]["reason"] or "")
    assert get_attestation(session, issued.jti).status_reason is not None


def person_with_hours_of_another(session: Session) -> str:
    results = append_records(
        session, "quzhou-city", [record("other-1", person=2, hours="100")], actor="platform"
    )
    assert results[0].person_id is not None
    return results[0].person_id


def test_superseding_a_counted_entry_makes_it_stale(
    session: Session, active_key: signing_keys.KeyInfo
) -> None:
    person_id = person_with_hours(session)
    issued = issue(session, person_id)
    results = append_records(
        session, "quzhou-city", [record("c-0", hours="5")], actor="platform", supersede=True
    )
    assert results[0].status == "superseded"
    assert get_attestation_status(session, issued.jti).status == "stale"
    fresh = issue(session, person_id)
    assert fresh.compliant is False
    assert get_attestation_status(session, fresh.jti).status == "valid"


def test_reversing_an_entry_it_did_not_count_leaves_it_valid(
    session: Session, active_key: signing_keys.KeyInfo
) -> None:
    person_id = person_with_hours(session)
    reversed_before = append_records(
        session, "quzhou-city", [record("late", hours="3")], actor="platform"
    )[0]
    reverse_entry(session, reversed_before.entry_id or 0, reason="typo", actor="ops")
    issued = issue(session, person_id)
    # A later credit and its reversal are not what the attestation counted.
    later = append_records(session, "quzhou-city", [record("later", hours="4")], actor="p")[0]
    reverse_entry(session, later.entry_id or 0, reason="typo", actor="ops")
    assert get_attestation_status(session, issued.jti).status == "valid"


def test_revocation_is_final_and_recorded(
    session: Session, active_key: signing_keys.KeyInfo
) -> None:
    person_id = person_with_hours(session)
    issued = issue(session, person_id)
    status = revoke_attestation(
        session, issued.jti, reason="hours falsified (R11)", actor="admin@test"
    )
    assert status.status == AttestationState.REVOKED
    assert check(session, issued.token, issued.jti) == VerificationCode.REVOKED
    with pytest.raises(AttestationStatusError):
        revoke_attestation(session, issued.jti, reason="again", actor="admin")
    events = list_attestation_events(session, issued.jti)
    assert [e["event"] for e in events] == ["issued", "revoked"]
    assert events[-1]["reason"] == "hours falsified (R11)"


def test_a_stale_attestation_can_still_be_revoked(
    session: Session, active_key: signing_keys.KeyInfo
) -> None:
    person_id = person_with_hours(session)
    issued = issue(session, person_id)
    reverse_record(session, "quzhou-city", "c-0", reason="dup", actor="ops")
    revoke_attestation(session, issued.jti, reason="fraud", actor="admin")
    assert get_attestation_status(session, issued.jti).status == "revoked"
    assert [e["event"] for e in list_attestation_events(session, issued.jti)] == [
        "issued",
        "stale",
        "revoked",
    ]


def test_tokens_of_a_rotated_key_verify_and_of_a_retired_key_do_not(
    session: Session, kek: bytes, active_key: signing_keys.KeyInfo
) -> None:
    person_id = person_with_hours(session)
    before = issue(session, person_id)
    signing_keys.rotate_key(session, kek, actor="ops")
    after = issue(session, person_id)
    assert after.kid != before.kid
    assert check(session, before.token, before.jti) == VerificationCode.OK
    assert check(session, after.token, after.jti) == VerificationCode.OK
    signing_keys.retire_key(session, before.kid, reason="compromised", actor="ops")
    assert check(session, before.token, before.jti) == VerificationCode.KEY_RETIRED
    assert check(session, after.token, after.jti) == VerificationCode.OK


def test_rotation_publishes_the_old_key_until_its_last_token_expires(
    session: Session, kek: bytes, active_key: signing_keys.KeyInfo
) -> None:
    person_id = person_with_hours(session)
    issued = issue(session, person_id)
    _, old = signing_keys.rotate_key(session, kek, actor="ops")
    assert old is not None
    assert old.publish_until is not None
    assert old.publish_until >= issued.expires_at


def test_token_for_another_person_fails_the_id_check(
    session: Session, active_key: signing_keys.KeyInfo
) -> None:
    issued = issue(session, person_with_hours(session))
    assert (
        check(session, issued.token, issued.jti, id_number=id_number(2))
        == VerificationCode.ID_MISMATCH
    )


def test_audit_trail_is_append_only(session: Session, active_key: signing_keys.KeyInfo) -> None:
    issue(session, person_with_hours(session))
    for statement in (
        "UPDATE attestation_events SET actor = 'x'",
        "DELETE FROM attestation_events",
    ):
        with pytest.raises(sa.exc.DBAPIError), session.begin():
            session.execute(sa.text(statement))


def test_refusals(session: Session, kek: bytes) -> None:
    person_id = person_with_hours(session)
    with pytest.raises(SigningKeyError):
        issue(session, person_id)
    signing_keys.create_key(session, kek, actor="ops")
    with pytest.raises(UnknownPersonError):
        issue(session, "p_nobody")
    with pytest.raises(ValidationError):
        issue(session, person_id, ref="x" * 200)
    with pytest.raises(UnknownAttestationError):
        get_attestation_status(session, "att_nope")
    with pytest.raises(UnknownAttestationError):
        revoke_attestation(session, "att_nope", reason="r", actor="a")
    with pytest.raises(ValidationError):
        revoke_attestation(session, "att_nope", reason=" ", actor="a")
