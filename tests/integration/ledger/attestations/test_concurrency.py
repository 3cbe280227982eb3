"""Issuing while entries are being reversed: no attestation stays valid over a reversed entry."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ledger.attestations import signing_keys
from ledger.attestations.issuance import Evaluator, issue_attestation
from ledger.attestations.tables import Attestation, AttestationEntry
from ledger.entries.append import append_records
from ledger.entries.reversal import reverse_record
from ledger.entries.tables import Entry
from tests.factories import city_source, record
from tests.integration.ledger.attestations.helpers import count_active_credits

AS_OF = dt.date(2024, 12, 31)  # the records' year (tests.factories.record)


@pytest.mark.parametrize(
    ("evaluate", "profile"),
    [(count_active_credits, "any"), (None, "quzhou-annual-90")],
    ids=["locks-then-reads", "compliance-engine-locks-as-it-reads"],
)
def test_reversals_racing_issuance_never_leave_a_valid_attestation_over_a_reversed_entry(
    session_factory: sessionmaker[Session],
    kek: bytes,
    evaluate: Evaluator | None,
    profile: str,
) -> None:
    with session_factory() as setup:
        signing_keys.create_key(setup, kek, actor="ops")
        source = city_source(setup)
        results = append_records(
            setup, source, [record(f"r{i}", hours="10") for i in range(12)], actor="p"
        )
        person_id = results[0].person_id
        assert person_id is not None
    done = threading.Event()
    errors: list[BaseException] = []

    def issue_repeatedly() -> None:
        with session_factory() as own:
            while not done.is_set():
                try:
                    issue_attestation(own, person_id, profile, AS_OF, None, "f", evaluate=evaluate)
                except BaseException as exc:
                    errors.append(exc)
                    return

    issuers = [threading.Thread(target=issue_repeatedly) for _ in range(2)]
    for t in issuers:
        t.start()
    with session_factory() as own:
        for i in range(12):
            reverse_record(own, source, f"r{i}", reason="race", actor="auditor")
    done.set()
    for t in issuers:
        t.join(30)
    assert not errors, errors

    with session_factory() as check, check.begin():
        issued = check.scalar(select(Attestation.jti).limit(1))
        assert issued is not None
        reversed_ids = set(
            check.scalars(select(Entry.reverses_id).where(Entry.reverses_id.isnot(None)))
        )
        valid_over_reversed = check.scalars(
            select(AttestationEntry.jti)
            .join(Attestation, Attestation.jti == AttestationEntry.jti)
            .where(Attestation.status == "valid", AttestationEntry.entry_id.in_(reversed_ids))
        ).all()
        assert valid_over_reversed == []
