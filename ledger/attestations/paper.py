"""What a printed proof needs beyond the token: its verification code, and the courses counted.

The code is stored (table ``proof_codes``) rather than derived from the ``jti``: a stored random
code can be held unique by the database, so it names exactly one attestation however many are
issued, and it carries no information about the ``jti`` (55 random bits plus a check symbol;
see :mod:`ledger.attestations.codes`). A derived code of that length would collide, rarely but
with no way to tell which attestation a reader meant.

The courses are the entries the attestation counted (``attestation_entries``, written in the
issuance's transaction, the same ids as the token's ``entries`` claim); entries are never
changed, so what is printed is what was counted.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.attestations.codes import new_code
from ledger.attestations.tables import Attestation, AttestationEntry, ProofCode
from ledger.db.transactions import read_transaction, run_with_retries, write_transaction
from ledger.entries.tables import Entry, Source
from ledger.errors import UnknownAttestationError


class CountedCourse(NamedTuple):
    """One entry an attestation counted, as the proof's appendix lists it."""

    entry_id: int
    completed_on: dt.date
    course_title: str | None
    course_code: str | None
    source_name: str
    source_kind: str
    category: str
    hours: Decimal


def code_for(session: Session, jti: str) -> str:
    """The verification code of attestation ``jti``, created the first time it is asked for.

    A new random code that happens to be taken already (or a concurrent first request for the
    same attestation) fails on a unique key and the transaction runs again.

    Raises:
        UnknownAttestationError: no such attestation.
    """

    def transaction() -> str:
        with write_transaction(session):
            existing = session.scalar(select(ProofCode.code).where(ProofCode.jti == jti))
            if existing is not None:
                return existing
            if session.get(Attestation, jti) is None:
                raise UnknownAttestationError("no attestation with this jti")
            code = new_code()
            session.add(ProofCode(code=code, jti=jti, created_at=dt.datetime.now(dt.UTC)))
            session.flush()
            return code

    return run_with_retries(transaction)


def find_by_code(session: Session, code: str) -> str:
    """The ``jti`` of the attestation a (normalised) verification code names.

    Raises:
        UnknownAttestationError: no proof carries this code.
    """
    with read_transaction(session):
        jti = session.scalar(select(ProofCode.jti).where(ProofCode.code == code))
    if jti is None:
        raise UnknownAttestationError("no proof carries this code")
    return jti


_COURSES = (
    select(
        Entry.id,
        Entry.completed_on,
        Entry.course_title,
        Entry.course_code,
        Source.display_name,
        Source.kind,
        Entry.category,
        Entry.hours,
    )
    .join(AttestationEntry, AttestationEntry.entry_id == Entry.id)
    .join(Source, Source.id == Entry.source_id)
)


def counted_courses(session: Session, jti: str) -> list[CountedCourse]:
    """The entries attestation ``jti`` counted, by completion date (then entry id)."""
    statement = _COURSES.where(AttestationEntry.jti == jti).order_by(Entry.completed_on, Entry.id)
    with read_transaction(session):
        return [CountedCourse(*row) for row in session.execute(statement)]
