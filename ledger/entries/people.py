"""People: the opaque person id, and finding a person and their totals."""

from __future__ import annotations

import secrets
from collections import defaultdict
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ledger.db import fast
from ledger.entries.tables import Balance, Person
from ledger.errors import (
    UnknownPersonError,
    ValidationError,
)
from ledger.values.id_numbers import validate_id_number


def new_person_ids(count: int) -> list[str]:
    """``count`` new opaque person ids (random, 96 bits each; they carry nothing about the
    person), from one read of the system's random source: a batch can bring hundreds."""
    pool = secrets.token_bytes(12 * count)
    return ["p_" + pool[i : i + 12].hex() for i in range(0, 12 * count, 12)]


def find_person_id(session: Session, id_number: str) -> str:
    """Return the opaque person id for an ID number.

    Raises:
        ValidationError: the ID number is invalid.
        UnknownPersonError: nobody with this ID number has hours in the ledger.
    """
    try:
        number = validate_id_number(id_number)
    except ValueError as exc:
        raise ValidationError({"id_number": [str(exc)]}) from None
    rows = fast.fetch_alone(session, _PERSON_BY_ID_NUMBER, {"id_number": number})
    if not rows:
        raise UnknownPersonError("no person with this ID number")
    return rows[0].id


class _PersonId(NamedTuple):
    id: str


_PERSON_BY_ID_NUMBER = fast.Query(
    select(Person.id).where(Person.id_number == bindparam("id_number")), _PersonId
)


def get_person_totals(session: Session, person_id: str) -> dict[int, dict[str, Decimal]]:
    """Hours per year and category for a person, from balances: O(years), not O(entries).

    Raises:
        UnknownPersonError: no such person.
    """
    with session.begin():
        if session.get(Person, person_id) is None:
            raise UnknownPersonError("no such person")
        totals: dict[int, dict[str, Decimal]] = defaultdict(dict)
        rows = session.execute(
            select(Balance.year, Balance.category, Balance.hours).where(
                Balance.person_id == person_id
            )
        )
        for year, category, hours in rows:
            totals[year][category] = totals[year].get(category, Decimal("0.0")) + hours
    return dict(totals)
