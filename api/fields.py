"""Fields marshmallow does not have: the domain's values in requests (an ID number, a reason),
and in answers hours, inlined parts and omissions.

A request field checks its value with the ledger's one definition of it (``ledger.values``), so
an ID number or a reason is judged the same through every door.

Each is an ordinary marshmallow field (apispec documents it by its base class, so the OpenAPI
document shows a string, an object, an integer...), and :mod:`api.schema_compiler` writes each as
marshmallow would run it.

A field may declare ``serialize_value``, a function of the value alone equal to its
``_serialize``; the compiled dump then calls it directly (see :class:`Hours`).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from decimal import Decimal
from typing import Any, ClassVar

import marshmallow as ma

from ledger.values.dates import parse_date
from ledger.values.hours import format_hours
from ledger.values.id_numbers import validate_id_number
from ledger.values.texts import MAX_REASON, parse_reason

# A compliance answer formats the hours of every entry it lists, and they take few distinct
# values. Equal non-zero decimals (2 and 2.0) format alike, so sharing a cache slot between them
# is exact; zero is left out of the cache because -0 and 0 are equal but print differently.
_cached_hours = functools.lru_cache(maxsize=1024)(format_hours)


def hours_text(value: Decimal | None) -> str | None:
    """Hours as the contract writes them: a string with one decimal place (``"1.5"``)."""
    if value is None:
        return None
    if value.__class__ is Decimal and value:
        return _cached_hours(value)
    return format_hours(value)


class IdNumber(ma.fields.String):
    """A resident ID number in a request, checked by
    :func:`ledger.values.id_numbers.validate_id_number` (GB 11643, the check character included)
    and given back in its one written form. The message never repeats the number."""

    def __init__(self, *, who: str = "the person", instead: str = "", **kwargs: Any) -> None:
        alternative = f" (or give {instead})" if instead else ""
        metadata = {
            "description": f"{who}'s 18-character resident ID number{alternative}: 17 digits and"
            " a digit or X, the check character counts",
            "example": "11010519491231002X",
            "pattern": "^[1-9][0-9]{16}[0-9Xx]$",
            **kwargs.pop("metadata", {}),
        }
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        try:
            return validate_id_number(value)
        except ValueError as exc:
            raise ma.ValidationError(str(exc)) from None


class IsoDate(ma.fields.Date):
    """A date in a request, ``YYYY-MM-DD`` and nothing else, as
    :func:`ledger.values.dates.parse_date` reads it (marshmallow's own Date also takes
    ``20240501``, week dates and other scripts' digits)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.date:
        if not isinstance(value, str):
            raise ma.ValidationError("must be a date YYYY-MM-DD")
        try:
            return parse_date(value)
        except ValueError as exc:
            raise ma.ValidationError(str(exc)) from None


class Reason(ma.fields.String):
    """Why something is undone (a reversal, a revocation), checked by
    :func:`ledger.values.texts.parse_reason`: 1 to ``MAX_REASON`` characters, not blank."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=ma.validate.Length(1, MAX_REASON), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            parse_reason(text)
        except ValueError as exc:
            raise ma.ValidationError(str(exc)) from None
        return text


class Hours(ma.fields.String):
    """Hours held as a ``Decimal``, answered as a string with one decimal place (``"18.5"``).

    Loads as a plain string (the tests read answers back through the schemas); hours a caller
    sends are parsed and checked by the ledger, not here.
    """

    serialize_value: ClassVar[Callable[[Any], str | None]] = staticmethod(hours_text)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return hours_text(value)


class Inline(ma.fields.Nested):
    """A nested object made of the parent object's own attributes.

    ``profile = Inline(EvaluatedProfileSchema)`` answers ``{"profile": {"id": ..., ...}}`` with the
    nested schema reading the parent (``attribute="profile_id"`` and so on): the answer groups
    what the ledger's result holds flat.
    """

    def get_value(
        self, obj: Any, attr: str, accessor: Any = None, default: Any = ma.missing
    ) -> Any:
        return obj


class LeftOutWhenEmpty:
    """A mixin: answer nothing at all (the member is left out) when there is no value, ``None``
    or an empty dict. (Marshmallow leaves out any member whose field answers ``missing``.)"""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if value is None or (value.__class__ is dict and not value):
            return ma.missing
        return super()._serialize(value, attr, obj, **kwargs)  # type: ignore[misc]


class OptionalInteger(LeftOutWhenEmpty, ma.fields.Integer):
    """An integer member present only when there is one (``null`` is never sent)."""


class OptionalDict(LeftOutWhenEmpty, ma.fields.Dict):
    """An object member present only when it has members (``null`` and ``{}`` are never sent)."""


def year_totals(value: Any) -> dict[str, dict[str, str | None]] | None:
    """``{year: {category: hours}}`` as answered: each year's hours as text, and its ``total``."""
    if value is None:
        return None
    return {
        str(year): {
            **{category: hours_text(hours) for category, hours in hours_by_category.items()},
            "total": hours_text(sum(hours_by_category.values(), Decimal(0))),
        }
        for year, hours_by_category in value.items()
    }


class YearTotals(ma.fields.Dict):
    """Counted hours per year and category with each year's ``total``, from the ledger's
    ``{year: {category: Decimal}}``: ``{"2024": {"specialised": "40.0", ..., "total": "70.5"}}``."""

    serialize_value: ClassVar[Callable[[Any], Any]] = staticmethod(year_totals)

    def __init__(self, **kwargs: Any) -> None:
        values = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
        super().__init__(keys=ma.fields.String(), values=values, **kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return year_totals(value)


class PassThrough(ma.fields.Nested):
    """Documented as its nested schema, passed through unchanged: for batches whose items the
    ledger checks one by one, answering a bad item with an error of its own instead of refusing
    the whole request."""

    def _deserialize(
        self,
        value: Any,
        attr: str | None,
        data: Mapping[str, Any] | None,
        partial: bool | Sequence[str] | AbstractSet[str] | None = None,
        **kwargs: Any,
    ) -> Any:
        return value
