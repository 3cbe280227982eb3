"""Cohorts: one profile evaluated for many people at once (a filing season's applicants).

Each person is evaluated by :func:`ledger.compliance.evaluation.evaluate`, the one evaluation
path, so a person's result is exactly what a check of that person alone gives. A person that
cannot be evaluated (a malformed entry, an invalid ID number, nobody with it in the ledger, the
same person a second time) gets an error of their own; the others are evaluated all the same.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.compliance.evaluation import evaluate
from ledger.compliance.facts import resolve_frame
from ledger.compliance.profile import Profile
from ledger.compliance.results import Evaluation
from ledger.db.transactions import read_transaction
from ledger.entries.tables import Person
from ledger.errors import DuplicatePersonError, LedgerError, UnknownPersonError, ValidationError
from ledger.values.id_numbers import validate_id_number

MAX_COHORT = 1000
MAX_REF = 128
MAX_PERSON_ID = 32
_MEMBER_FIELDS = frozenset({"person_id", "id_number", "ref"})


@dataclass(frozen=True, slots=True)
class Member:
    """One person of a cohort as asked for: by ``person_id`` or by a valid ``id_number``."""

    person_id: str | None
    id_number: str | None
    ref: str | None


@dataclass(frozen=True, slots=True)
class CohortResult:
    """One person's outcome, in the order asked: an evaluation, or the error that stopped it."""

    index: int
    ref: str | None
    person_id: str | None
    evaluation: Evaluation | None = None
    error: LedgerError | None = None


def parse_member(raw: Any) -> Member:
    """A cohort member from its JSON form ``{"person_id" | "id_number", "ref"?}``.

    Raises:
        ValidationError: not an object, unknown members, not exactly one of the two names, an
            invalid ID number or person id, or a ``ref`` that is not 1 to 128 characters.
    """
    if not isinstance(raw, Mapping):
        raise ValidationError({"_schema": ["each person is an object"]})
    errors: dict[str, list[str]] = {
        str(k): ["unknown field"] for k in raw if k not in _MEMBER_FIELDS
    }
    person_id, id_number, ref = raw.get("person_id"), raw.get("id_number"), raw.get("ref")
    if (person_id is None) == (id_number is None):
        errors["_schema"] = ["give exactly one of id_number or person_id"]
    if person_id is not None and not _text(person_id, MAX_PERSON_ID):
        errors["person_id"] = [f"must be 1 to {MAX_PERSON_ID} characters"]
    if id_number is not None:
        try:
            id_number = validate_id_number(id_number)
        except ValueError as exc:
            errors["id_number"] = [str(exc)]
    if ref is not None and not _text(ref, MAX_REF):
        errors["ref"] = [f"must be 1 to {MAX_REF} characters"]
    if errors:
        raise ValidationError(errors)
    return Member(person_id, id_number, ref.strip() if ref is not None else None)


def _text(value: Any, limit: int) -> bool:
    # No NUL: PostgreSQL refuses it in text, and it never belongs in an id or a reference.
    return (
        isinstance(value, str) and bool(value.strip()) and len(value) <= limit and "\0" not in value
    )


def evaluate_cohort(
    session: Session,
    profile: Profile,
    people: Sequence[Any],
    as_of: dt.date | None = None,
    *,
    explain: bool = False,
    industry_platform: bool | None = None,
) -> list[CohortResult]:
    """Evaluate ``profile`` as of a date for each of ``people`` (members in their JSON form),
    in one read transaction; one result per person, in order. ``explain`` and
    ``industry_platform`` are :func:`evaluate`'s (without the entry list by default).

    A person named twice (by the same id, or once by ID number and once by person id) is
    evaluated the first time; each later time is a :class:`DuplicatePersonError`.

    Raises:
        ValidationError: no people, more than :data:`MAX_COHORT`, or an as-of date before 1990.
    """
    if not 1 <= len(people) <= MAX_COHORT:
        raise ValidationError({"people": [f"give 1 to {MAX_COHORT} people"]})
    as_of = resolve_frame(profile, as_of).as_of
    parsed: list[Member | ValidationError] = []
    for raw in people:
        try:
            parsed.append(parse_member(raw))
        except ValidationError as exc:
            parsed.append(exc)
    with read_transaction(session):
        found = _people_by_id_number(
            session, [m.id_number for m in parsed if isinstance(m, Member)]
        )
        seen: dict[str, int] = {}
        results = []
        for index, member in enumerate(parsed):
            if isinstance(member, ValidationError):
                results.append(CohortResult(index, None, None, error=member))
                continue
            results.append(
                _evaluate_one(session, profile, as_of, index, member, found, seen, explain,
                              industry_platform)
            )  # fmt: skip
    return results


def _people_by_id_number(session: Session, numbers: list[str | None]) -> dict[str, str]:
    """ID number -> person id, for those of ``numbers`` the ledger knows (one statement)."""
    wanted = sorted({n for n in numbers if n is not None})
    if not wanted:
        return {}
    rows = session.execute(select(Person.id_number, Person.id).where(Person.id_number.in_(wanted)))
    return {number: person_id for number, person_id in rows}


def _evaluate_one(
    session: Session,
    profile: Profile,
    as_of: dt.date,
    index: int,
    member: Member,
    found: dict[str, str],
    seen: dict[str, int],
    explain: bool,
    industry_platform: bool | None,
) -> CohortResult:
    """One member's result: their evaluation, or why there is none."""
    person_id = member.person_id
    if member.id_number is not None:
        person_id = found.get(member.id_number)
    key = person_id if person_id is not None else f"id:{member.id_number}"
    first = seen.setdefault(key, index)
    if first != index:
        duplicate = DuplicatePersonError(f"this person is already number {first} of the cohort")
        return CohortResult(index, member.ref, person_id, error=duplicate)
    if person_id is None:
        unknown = UnknownPersonError("no person with this ID number")
        return CohortResult(index, member.ref, None, error=unknown)
    try:
        evaluation = evaluate(
            session, person_id, profile, as_of, explain=explain, industry_platform=industry_platform
        )
    except UnknownPersonError as exc:
        return CohortResult(index, member.ref, member.person_id, error=exc)
    return CohortResult(index, member.ref, person_id, evaluation=evaluation)
