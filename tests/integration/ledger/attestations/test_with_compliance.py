"""Attestations over the real compliance engine and the built-in rule profiles."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from ledger.attestations import signing_keys
from ledger.attestations.issuance import issue_attestation
from ledger.attestations.status import get_attestation_status
from ledger.attestations.verification import verify_token
from ledger.compliance.catalogue import get_profile
from ledger.compliance.evaluation import evaluate
from ledger.entries.append import append_records
from ledger.entries.reversal import reverse_record
from ledger.errors import UnknownProfileError
from tests.factories import city_source, id_number, record
from tests.integration.ledger.attestations.helpers import ISSUER


def test_token_states_what_the_compliance_engine_found(
    session: Session, active_key: signing_keys.KeyInfo
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
    issued = issue_attestation(
        session, person_id, "quzhou-annual-90", as_of, "APP-1", "filing@test"
    )
    expected = evaluate(session, person_id, get_profile("quzhou-annual-90"), as_of)
    result = verify_token(
        issued.token, signing_keys.get_jwks(session), issuer=ISSUER, id_number=id_number(1)
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
    assert get_attestation_status(session, issued.jti).status == "stale"
    again = issue_attestation(session, person_id, "quzhou-annual-90", as_of, None, "filing@test")
    assert again.compliant is False


def test_unknown_profile_is_refused(session: Session, active_key: signing_keys.KeyInfo) -> None:
    source = city_source(session)
    person_id = append_records(session, source, [record("a")], actor="p")[0].person_id
    assert person_id is not None
    with pytest.raises(UnknownProfileError):
        issue_attestation(session, person_id, "no-such", None, None, "f")
