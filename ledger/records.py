"""Records as platforms send them: strict parsing into domain values, and content digests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ledger.canonical import sha256_hex
from ledger.errors import ValidationError
from ledger.people import validate_id_number
from ledger.values import Category, parse_category, parse_completed_on, parse_hours

MAX_EXTERNAL_ID = 128
MAX_NAME = 100
COURSE_LIMITS = {"code": 64, "title": 200, "provider": 200}


@dataclass(frozen=True, slots=True)
class RecordIn:
    """A validated record: one completion reported by one platform."""

    external_id: str
    id_number: str
    name: str
    category: Category
    hours: Decimal
    completed_on: dt.date
    course_code: str | None = None
    course_title: str | None = None
    course_provider: str | None = None

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
        return sha256_hex(self.content())


def _text(value: object, field: str, limit: int, errors: dict[str, list[str]]) -> str | None:
    if not isinstance(value, str):
        errors.setdefault(field, []).append("must be a string")
        return None
    text = value.strip()
    if not text:
        errors.setdefault(field, []).append("must not be empty")
        return None
    if len(text) > limit:
        errors.setdefault(field, []).append(f"must be at most {limit} characters")
        return None
    if any(ord(c) < 32 for c in text):
        errors.setdefault(field, []).append("must not contain control characters")
        return None
    return text


def parse_record(raw: object, *, today: dt.date | None = None) -> RecordIn:
    """Validate one record as sent by a platform.

    Every problem is reported at once, keyed by field path (``course.title``). Messages never
    repeat the ID number.

    Raises:
        ValidationError: listing every invalid field.
    """
    errors: dict[str, list[str]] = {}
    if not isinstance(raw, Mapping):
        raise ValidationError({"_record": ["must be an object"]})
    required = ("external_id", "id_number", "name", "category", "hours", "completed_on")
    for field in required:
        if raw.get(field) is None:
            errors.setdefault(field, []).append("is required")
    known = {*required, "course", "supersede"}
    for field in raw:
        if field not in known:
            errors.setdefault(str(field)[:64], []).append("is not a known field")

    external_id = _text(raw.get("external_id"), "external_id", MAX_EXTERNAL_ID, errors)
    name = _text(raw.get("name"), "name", MAX_NAME, errors) if "name" not in errors else None
    values: dict[str, Any] = {}
    checks = (
        ("id_number", validate_id_number),
        ("category", parse_category),
        ("hours", parse_hours),
        ("completed_on", lambda v: parse_completed_on(v, today=today)),
    )
    for field, parse in checks:
        if field in errors:
            continue
        try:
            values[field] = parse(raw[field])
        except ValueError as exc:
            errors.setdefault(field, []).append(str(exc))

    course: dict[str, str | None] = {}
    raw_course = raw.get("course")
    if raw_course is not None:
        if not isinstance(raw_course, Mapping):
            errors.setdefault("course", []).append("must be an object")
        else:
            for key in raw_course:
                if key not in COURSE_LIMITS:
                    errors.setdefault(f"course.{str(key)[:64]}", []).append("is not a known field")
            for key, limit in COURSE_LIMITS.items():
                if raw_course.get(key) is not None:
                    course[key] = _text(raw_course[key], f"course.{key}", limit, errors)
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
