"""Compliance: evaluate a person's hours against a rule profile as of a date, and explain it.

The evaluation is a pure function of the profile, the as-of date and the person's entries (or,
where the source policy allows, their balances); :func:`evaluate` is the use case that reads
them. Every entry the explanation lists says whether it counted and, if not, why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from typing import NamedTuple

from sqlalchemy import and_, bindparam, case, func, select
from sqlalchemy.orm import Session, aliased

from ledger.compliance.facts import BalanceFact, EntryFact, Frame, resolve_frame
from ledger.compliance.judgement import Judgement, judge_entries, sums_from_balances
from ledger.compliance.profile import Profile
from ledger.compliance.results import Evaluation, conclude
from ledger.db import fast
from ledger.db.transactions import read_transaction
from ledger.entries.tables import Balance, Entry, Person, Source
from ledger.errors import UnknownPersonError

# The columns of an EntryFact, in its order.
_ENTRY_COLUMNS = (
    Entry.id,
    Entry.kind,
    Entry.source_id,
    Source.kind,
    Entry.external_id,
    Entry.category,
    Entry.hours,
    Entry.completed_on,
    Entry.course_code,
    Entry.course_title,
    Entry.reverses_id,
    Entry.supersedes_id,
    Entry.reason,
)


class LedgerState(NamedTuple):
    """A person's chain head and entry count: the state an evaluation is computed from."""

    head_hash: str | None
    entry_count: int


class ExplainedRow(NamedTuple):
    """A row of :data:`_EXPLAINED`: the person's state, one entry (all ``None`` when the person
    has none in the years read), and for a reversal the credit that superseded what it
    reversed."""

    head_hash: str | None
    entry_count: int
    entry: EntryFact
    successor_id: int | None


# Built once: building a statement costs more than running it on a person's few hundred rows.
_ENTRIES = fast.Query(
    select(*_ENTRY_COLUMNS)
    .join(Source, Source.id == Entry.source_id)
    .where(
        Entry.person_id == bindparam("person_id"),
        Entry.year.between(bindparam("first"), bindparam("last")),
    )
    .order_by(Entry.id),
    EntryFact,
)
_SUCCESSOR = aliased(Entry, name="successor")
# Everything an explained evaluation reads, in one statement (one round trip, one snapshot): the
# person's chain head and count on every row, their entries of the years asked for (none: one
# row of nulls), and beside each reversal the credit that superseded what it reversed, if any,
# wherever that credit is (a correction can move a completion to another year). PostgreSQL
# costs the sub-select as if it ran for every row; it must stay cheap to plan, or the estimate
# crosses ``jit_above_cost`` and compiling the plan takes longer than running it.
_EXPLAINED = fast.Query(
    select(
        Person.head_hash,
        Person.entry_count,
        *_ENTRY_COLUMNS,
        case(
            (
                Entry.reverses_id.is_not(None),
                # A superseding credit is a new version of the same record (same source and
                # external id as the reversal, which copies them from the credit it reverses):
                # found through the partial index of superseding credits (migration 0008), not
                # by scanning the person's entries.
                select(func.max(_SUCCESSOR.id))
                .where(
                    _SUCCESSOR.source_id == Entry.source_id,
                    _SUCCESSOR.external_id == Entry.external_id,
                    _SUCCESSOR.supersedes_id == Entry.reverses_id,
                )
                .scalar_subquery(),
            )
        ),
    )
    .select_from(Person)
    .outerjoin(
        Entry,
        and_(
            Entry.person_id == bindparam("person_id"),
            Entry.year.between(bindparam("first"), bindparam("last")),
        ),
    )
    .outerjoin(Source, Source.id == Entry.source_id)
    .where(Person.id == bindparam("person_id"))
    .order_by(Entry.id),
    ExplainedRow,
)
_PERSON = fast.Query(
    select(Person.head_hash, Person.entry_count).where(Person.id == bindparam("person_id")),
    LedgerState,
)
_BALANCES = fast.Query(
    select(Balance.year, Balance.category, Balance.source_id, Source.kind, Balance.hours)
    .join(Source, Source.id == Balance.source_id)
    .where(
        Balance.person_id == bindparam("person_id"),
        Balance.year.between(bindparam("first"), bindparam("last")),
    ),
    BalanceFact,
)


def _span(person_id: str, years: Iterable[int]) -> dict[str, str | int]:
    # The statements read a range of years (no IN list: a prebuilt statement runs as it is, see
    # ``ledger.db.fast``); callers keep the years they asked for.
    wanted = list(years)
    return {"person_id": person_id, "first": min(wanted), "last": max(wanted)}


def _load_entries(session: Session, person_id: str, years: Sequence[int]) -> list[EntryFact]:
    wanted = set(years)
    facts = fast.fetch(session, _ENTRIES, _span(person_id, wanted))
    return [f for f in facts if f.completed_on.year in wanted]


def _read_explained(
    session: Session, person_id: str, first: int, last: int
) -> tuple[LedgerState, list[EntryFact], dict[int, int]]:
    """The person's head and entry count, their entries of years ``first`` to ``last``, and for
    each reversed credit among them the credit that superseded it (possibly another year's).

    Raises:
        UnknownPersonError: no such person.
    """
    rows = fast.fetch_alone(session, _EXPLAINED, _span(person_id, (first, last)))
    if not rows:
        raise UnknownPersonError("no such person")
    state = LedgerState(rows[0].head_hash, rows[0].entry_count)
    entries = [row.entry for row in rows if row.entry.id is not None]
    # Reversed credit (the reversal's reverses_id) -> the credit that superseded it.
    superseders = {
        row.entry.reverses_id: row.successor_id
        for row in rows
        if row.successor_id is not None and row.entry.reverses_id is not None
    }
    return state, entries, superseders


def get_ledger_state(session: Session, person_id: str) -> LedgerState:
    """The person's chain head and entry count: what an evaluation of them depends on.

    Every entry of a person moves their head, so two evaluations with equal arguments at the
    same head give the same result (callers may cache on it). Read in the caller's transaction
    when one is open, else as a statement of its own (see :func:`ledger.db.fast.fetch_alone`).

    Raises:
        UnknownPersonError: no such person.
    """
    rows = fast.fetch_alone(session, _PERSON, {"person_id": person_id})
    if not rows:
        raise UnknownPersonError("no such person")
    return rows[0]


def evaluate(
    session: Session,
    person_id: str,
    profile: Profile,
    as_of: dt.date | None = None,
    *,
    industry_platform: bool | None = None,
    explain: bool = True,
) -> Evaluation:
    """Evaluate a person against a profile as of a date (default: the profile's, else today).

    With ``explain`` (the default) every entry of the window years and the year either side is
    listed with its verdict, and the totals come from those entries. Without it only the totals
    and rules are computed, from balances wherever the source policy allows (see
    :func:`sums_from_balances`); both give the same outcome. ``industry_platform`` overrides the
    profile's way of deciding whether the person's industry is managed on the industry platform.

    Reads one snapshot: with the explanation one statement, a transaction of its own (see
    :func:`ledger.db.fast.fetch_alone`); without, a read transaction; or the caller's
    transaction when one is open.

    Raises:
        UnknownPersonError: no such person.
        ValidationError: the as-of date is before 1990.
    """
    frame = resolve_frame(profile, as_of)
    if explain:
        state, judgement = _judge_entries(session, person_id, profile, frame, industry_platform)
        basis = "entries"
    else:
        state, judgement = _judge_balances(session, person_id, profile, frame, industry_platform)
        basis = "balances"
    return conclude(
        profile,
        frame,
        person_id,
        judgement,
        explain=explain,
        head=state.head_hash,
        count=state.entry_count,
        basis=basis,
    )


def _judge_entries(
    session: Session, person_id: str, profile: Profile, frame: Frame, industry: bool | None
) -> tuple[LedgerState, Judgement]:
    """Judge every entry of the window years and the year either side, read in one statement:
    its own transaction (see ``fast.fetch_alone``), or the caller's. Attestations evaluate
    inside their own, after locking the person's chain, so that nothing is appended between the
    evaluation and the record of what it counted."""
    state, entries, superseders = _read_explained(
        session, person_id, min(frame.window) - 1, max(frame.window) + 1
    )
    judgement = judge_entries(
        profile, frame, entries, requested_industry=industry, superseders=superseders
    )
    return state, judgement


def _judge_balances(
    session: Session, person_id: str, profile: Profile, frame: Frame, industry: bool | None
) -> tuple[LedgerState, Judgement]:
    """Counted hours from balances where they suffice, entries where not: several statements,
    one snapshot (a read transaction, or the caller's)."""
    context = nullcontext() if session.in_transaction() else read_transaction(session)
    with context:
        state = get_ledger_state(session, person_id)
        window = set(frame.window)
        rows = fast.fetch(session, _BALANCES, _span(person_id, window))
        judgement = sums_from_balances(
            profile,
            frame,
            [b for b in rows if b.year in window],
            lambda years: _load_entries(session, person_id, years),
            requested_industry=industry,
        )
    return state, judgement
