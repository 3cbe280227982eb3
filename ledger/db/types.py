"""Column types and annotated column aliases shared by every aggregate's tables."""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal
from typing import Annotated, Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    String,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import mapped_column
from sqlalchemy.types import TypeDecorator


class Hours(TypeDecorator[Decimal]):
    """Hours stored exactly as a signed integer number of tenths; read back as ``Decimal``.

    SQLite has no exact decimal type, and a float must never hold hours, so both databases store
    tenths in an integer column and sums stay exact.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        return None if value is None else tenths_of(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else hours_from_tenths(int(value))


@functools.lru_cache(maxsize=4096)
def tenths_of(hours: Decimal | int) -> int:
    """Hours as the integer number of tenths the ``Hours`` column stores. Memoised, as
    :func:`hours_from_tenths`: every appended entry and balance converts its hours.

    Raises:
        ValueError: the hours have more than one decimal place (they cannot be stored exactly).
    """
    tenths = Decimal(hours).scaleb(1)
    whole = int(tenths)
    if whole != tenths:
        raise ValueError("hours may have at most one decimal place")
    return whole


@functools.lru_cache(maxsize=4096)
def hours_from_tenths(tenths: int) -> Decimal:
    """Stored tenths as hours with one decimal place (``Decimal("1.5")`` from 15, ``"2.0"`` from
    20). Memoised: people's hours take few distinct values, so an evaluation's rows mostly hit
    the memo; Decimals are immutable, so sharing them is safe."""
    return Decimal(tenths).scaleb(-1)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp that is always timezone-aware UTC in Python, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)  # type: ignore[no-any-return]
        return value.astimezone(dt.UTC)  # type: ignore[no-any-return]


PersonId = Annotated[str, mapped_column(String(32))]
SourceId = Annotated[str, mapped_column(String(64))]
Sha256 = Annotated[str, mapped_column(String(64))]
Timestamp = Annotated[dt.datetime, mapped_column(UTCDateTime())]
HoursValue = Annotated[Decimal, mapped_column(Hours())]
EntryId = BigInteger().with_variant(Integer(), "sqlite")
