"""Attestations over the real compliance engine and the built-in rule profiles."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from ledger import attestations, signing
from ledger.compliance import evaluate
from ledger.errors import UnknownProfileError
from ledger.profiles import get_profile
from ledger.services import append_records, reverse_record
from ledger.verifier import verify_token
from tests.factories import city_source, id_number, record
from tests.integration.attestations.helpers import ISSUER


def test_token_states_what_the_compliance_engine_found(
    session: Session, active_key: signing.KeyInfo
) -> None:
    # R1 (seed 002): at least 90 hours per year.
    source = city_source(session)
    results = append_records(
        session,
        source,
        [
            record("a", hours="60", completed_on="2024-03-01"),
            record("b", hours="30.5", category="general_public", completed_on="2024-09-01"),
        ],
        actor="platform",
    )
    person_id = results[0].person_id
    assert person_id is not None
    as_of = dt.date(2024, 12, 31)
    issued = attestations.issue_attestation(
        session, person_id, "quzhou-annual-90", as_of, "APP-1", "filing@test"
    )
    expected = evaluate(session, person_id, get_profile("quzhou-annual-90"), as_of)
    result = verify_token(
        issued.token, signing.jwks(session), issuer=ISSUER, id_number=id_number(1)
    )
    assert result.ok, result.reason
    claims = result.claims
    assert issued.compliant is True
    assert claims["compliant"] is expected.compliant
    assert claims["profile"] == {
        "id": "quzhou-annual-90",
        "version": str(expected.profile_version),
        "digest": expected.profile_digest,
    }
    assert claims["as_of"] == "2024-12-31"
    assert claims["window"]["years"] == [2024]
    assert claims["totals"]["2024"]["total"] == "90.5"
    assert claims["rules"] == expected.outcome()["rules"]
    assert claims["entries"]["ids"] == sorted(expected.counted_entry_ids)
    assert claims["ledger"] == {"head": expected.head_hash, "entry_count": 2}

    reverse_record(session, source, "b", reason="never attended", actor="platform")
    assert attestations.attestation_status(session, issued.jti).status == "stale"
    again = attestations.issue_attestation(
        session, person_id, "quzhou-annual-90", as_of, None, "filing@test"
    )
    assert again.compliant is False


def test_unknown_profile_is_refused(session: Session, active_key: signing.KeyInfo) -> None:
    source = city_source(session)
    person_id = append_records(session, source, [record("a")], actor="p")[0].person_id
    assert person_id is not None
    with pytest.raises(UnknownProfileError):
        attestations.issue_attestation(session, person_id, "no-such", None, None, "f")
