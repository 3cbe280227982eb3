"""Records as platforms send them: strict parsing into domain values, and content digests."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ledger.canonical import encode_normalised
from ledger.errors import ValidationError
from ledger.values.categories import Category, parse_category
from ledger.values.dates import parse_completed_on
from ledger.values.hours import parse_hours
from ledger.values.id_numbers import validate_id_number
from ledger.values.texts import UNFIT_IN_LINE, parse_text, printable

MAX_EXTERNAL_ID = 128


MAX_NAME = 100


COURSE_LIMITS = {"code": 64, "title": 200, "provider": 200}


@dataclass(slots=True)
class RecordIn:
    """A validated record: one completion reported by one platform.

    Never changed once built (nothing assigns to it). Not a frozen dataclass: building a frozen
    one costs several microseconds per record, which every appended record pays.
    """

    external_id: str
    id_number: str
    name: str
    category: Category
    hours: Decimal
    completed_on: dt.date
    course_code: str | None = None
    course_title: str | None = None
    course_provider: str | None = None
    digest_hex: str = field(default="", compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.digest_hex:
            self.digest_hex = _content_digest(self)

    @property
    def year(self) -> int:
        """The record's year: its completion date's year (dates are Asia/Shanghai dates)."""
        return self.completed_on.year

    def content(self) -> dict[str, Any]:
        """The record's content in canonical form (absent course fields left out)."""
        course = {
            "code": self.course_code,
            "title": self.course_title,
            "provider": self.course_provider,
        }
        return {
            "v": 1,
            "external_id": self.external_id,
            "id_number": self.id_number,
            "name": self.name,
            "category": self.category.value,
            "hours": self.hours,
            "completed_on": self.completed_on,
            "course": {k: v for k, v in course.items() if v is not None} or None,
        }

    def digest(self) -> str:
        """SHA-256 of the canonical content: equal digests mean an identical record."""
        return self.digest_hex


def _content_digest(rec: RecordIn) -> str:
    # Equal to sha256_hex(rec.content()) (a unit test holds the two together), built flat
    # because every record sent is digested.
    document: dict[str, Any] = {
        "v": 1,
        "external_id": rec.external_id,
        "id_number": rec.id_number,
        "name": rec.name,
        "category": rec.category.value,
        "hours": str(rec.hours),
        "completed_on": rec.completed_on.isoformat(),
    }
    course = {}
    if rec.course_code is not None:
        course["code"] = rec.course_code
    if rec.course_title is not None:
        course["title"] = rec.course_title
    if rec.course_provider is not None:
        course["provider"] = rec.course_provider
    if course:
        document["course"] = course
    return hashlib.sha256(encode_normalised(document)).hexdigest()


def _text(value: object, field: str, limit: int, errors: dict[str, list[str]]) -> str | None:
    try:
        return parse_text(value, limit=limit)
    except ValueError as exc:
        errors.setdefault(field, []).append(str(exc))
        return None


def parse_record(raw: object, *, today: dt.date | None = None) -> RecordIn:
    """Validate one record as sent by a platform.

    Every problem is reported at once, keyed by field path (``course.title``). Messages never
    repeat the ID number.

    Raises:
        ValidationError: listing every invalid field.
    """
    if type(raw) is dict:
        record = _parse_plain(raw, today)
        if record is not None:
            return record
    return _parse_checked(raw, today=today)


_KNOWN = frozenset(
    ("external_id", "id_number", "name", "category", "hours", "completed_on", "course", "supersede")
)


_CATEGORIES = {c.value: c for c in Category}


# Hours as JSON brings them (text, integers) or as importers normalise a spreadsheet's (Decimal).
_PLAIN_HOURS = (str, int, Decimal)


@functools.lru_cache(maxsize=4096, typed=True)
def _hours_text(value: str | int | Decimal) -> Decimal | None:
    try:
        return parse_hours(value)
    except ValueError:
        return None


def _parse_plain(raw: dict[str, Any], today: dt.date | None) -> RecordIn | None:
    """The common case, quickly: a well-formed record of plain strings. Anything unusual
    (a wrong type, a bad value, an unknown field) returns ``None`` and goes through
    :func:`_parse_checked`, which accepts exactly what this accepts (a property test holds them
    together) and explains what it does not."""
    if not raw.keys() <= _KNOWN:
        return None
    external_id = raw.get("external_id")
    number = raw.get("id_number")
    name = raw.get("name")
    category_key = raw.get("category")
    hours_raw = raw.get("hours")
    day_raw = raw.get("completed_on")
    if not (
        type(external_id) is str
        and type(number) is str
        and type(name) is str
        and type(category_key) is str
        and type(hours_raw) in _PLAIN_HOURS
        and (type(day_raw) is dt.date or (type(day_raw) is str and len(day_raw) == 10))
    ):
        return None
    external_id = external_id.strip()
    name = name.strip()
    category = _CATEGORIES.get(category_key)
    if type(hours_raw) is Decimal and not hours_raw.is_finite():
        return None  # a signalling NaN cannot even be hashed for the cache
    hours = _hours_text(hours_raw)
    if (
        category is None
        or hours is None
        or not 0 < len(external_id) <= MAX_EXTERNAL_ID
        or not 0 < len(name) <= MAX_NAME
    ):
        return None
    course = _plain_course(raw.get("course"))
    if course is None or UNFIT_IN_LINE.search("".join((external_id, name, *course.values()))):
        return None
    try:
        completed_on = parse_completed_on(day_raw, today=today)
        id_number = validate_id_number(number)
    except ValueError:
        return None
    return RecordIn(
        external_id=external_id,
        id_number=id_number,
        name=name,
        category=category,
        hours=hours,
        completed_on=completed_on,
        course_code=course.get("code"),
        course_title=course.get("title"),
        course_provider=course.get("provider"),
    )


def _plain_course(raw_course: object) -> dict[str, str] | None:
    """A plain course object's stripped texts (``{}`` for none), or ``None`` if anything in it
    is unusual (control characters are for the caller to look for)."""
    course: dict[str, str] = {}
    if raw_course is None:
        return course
    if type(raw_course) is not dict or not raw_course.keys() <= COURSE_LIMITS.keys():
        return None
    for key, value in raw_course.items():
        if value is None:
            continue
        if type(value) is not str:
            return None
        value = value.strip()
        if not 0 < len(value) <= COURSE_LIMITS[key]:
            return None
        course[key] = value
    return course


def _parse_checked(raw: object, *, today: dt.date | None) -> RecordIn:
    """The full validation, which finds and explains every problem.

    Every problem is reported at once, keyed by field path (``course.title``). Messages never
    repeat the ID number.

    Raises:
        ValidationError: listing every invalid field.
    """
    errors: dict[str, list[str]] = {}
    if not isinstance(raw, Mapping):
        raise ValidationError({"_record": ["must be an object"]})
    required = ("external_id", "id_number", "name", "category", "hours", "completed_on")
    for name_ in required:
        if raw.get(name_) is None:
            errors.setdefault(name_, []).append("is required")
    known = {*required, "course", "supersede"}
    for key in raw:
        if key not in known:
            errors.setdefault(printable(str(key)[:64]), []).append("is not a known field")

    external_id = _text(raw.get("external_id"), "external_id", MAX_EXTERNAL_ID, errors)
    name = _text(raw.get("name"), "name", MAX_NAME, errors) if "name" not in errors else None
    values: dict[str, Any] = {}
    checks = (
        ("id_number", validate_id_number),
        ("category", parse_category),
        ("hours", parse_hours),
        ("completed_on", lambda v: parse_completed_on(v, today=today)),
    )
    for name_, parse in checks:
        if name_ in errors:
            continue
        try:
            values[name_] = parse(raw[name_])
        except ValueError as exc:
            errors.setdefault(name_, []).append(str(exc))

    course = _checked_course(raw.get("course"), errors)
    if errors:
        raise ValidationError(errors)
    assert external_id is not None
    assert name is not None
    return RecordIn(
        external_id=external_id,
        id_number=values["id_number"],
        name=name,
        category=values["category"],
        hours=values["hours"],
        completed_on=values["completed_on"],
        course_code=course.get("code"),
        course_title=course.get("title"),
        course_provider=course.get("provider"),
    )


def _checked_course(raw_course: object, errors: dict[str, list[str]]) -> dict[str, str | None]:
    """A course object's texts, every problem added to ``errors`` (``{}`` for no course)."""
    course: dict[str, str | None] = {}
    if raw_course is None:
        return course
    if not isinstance(raw_course, Mapping):
        errors.setdefault("course", []).append("must be an object")
        return course
    for key in raw_course:
        if key not in COURSE_LIMITS:
            errors.setdefault(f"course.{printable(str(key)[:64])}", []).append(
                "is not a known field"
            )
    for key, limit in COURSE_LIMITS.items():
        if raw_course.get(key) is not None:
            course[key] = _text(raw_course[key], f"course.{key}", limit, errors)
    return course
