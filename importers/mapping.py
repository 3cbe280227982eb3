"""Field mappings: from a platform's field names and labels to the ledger's record fields.

Platforms name fields in pinyin abbreviations (``sfzh`` 身份证号, ``xm`` 姓名, ``kclb`` 课程类别,
``xs`` 学时, ``wcrq`` 完成日期, ``jlid`` 记录id) or, in exports, with Chinese headers; they label
categories in Chinese (专业科目 ...). A mapping says which of their fields is which of ours, and
which of their labels is which category.

A mapping, as found in a source's configuration or a ``--mapping`` file::

    {"fields": {"external_id": "jlid", "id_number": "sfzh", "name": "xm", "category": "kclb",
                "hours": "xs", "completed_on": "wcrq", "course.code": "kcdm",
                "course.title": "kcmc", "course.provider": "pxjg"},
     "categories": {"专业科目": "specialised"}}

A field may name several alternatives (``["身份证号", "身份证号码"]``); the first present wins.
``categories`` adds to (and may override) :data:`PLATFORM_CATEGORY_LABELS`.

The mapping step
----------------
Import and sync accept what platforms write, which is more than the push API takes. Each
``map_*`` function below turns one field's platform form into the push API's form, and nothing
else; whether a record is valid is then decided by the ledger's one validator
(:func:`ledger.entries.records.parse_record`), so a record is judged the same whichever door it
came in by. What the step accepts beyond the push API:

- ID number (:func:`map_id_number`): a number cell, as text; a final ``x`` in upper case.
- Category (:func:`map_category`): a platform's label (专业科目, 专业课, 公需科目(行业) ... and the
  source's own ``categories``), as our key.
- Hours (:func:`map_hours`): a spreadsheet's binary float, as the decimal that was typed.
- Completion date (:func:`map_date`): ``20240501``, ``2024/5/1``, ``2024.5.1``, ``2024年5月1日``,
  any of these followed by a time, an ISO 8601 date-time (``2024-05-01T10:00:00+08:00``, its
  day in Asia/Shanghai), or a spreadsheet's date-time, as a date.
- Hours (:func:`map_hours`) also: a text with surrounding spaces, as the text inside them.
- External id and course texts (:func:`map_text`): a number cell, as text.

Anything the step does not recognise is passed on as it came, for the ledger to reject with a
reason: nothing is dropped or guessed silently.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from importers.errors import ConfigError
from ledger.values.categories import CATEGORY_LABELS_ZH, Category
from ledger.values.dates import BUSINESS_TZ
from ledger.values.id_numbers import normalise_id_number

RECORD_FIELDS = ("external_id", "id_number", "name", "category", "hours", "completed_on")
COURSE_FIELDS = ("course.code", "course.title", "course.provider")
REQUIRED_FIELDS = RECORD_FIELDS

# How platforms label the categories: the service's own Chinese labels, and the older or
# shorter labels seen in exports. A source's mapping may add its own.
PLATFORM_CATEGORY_LABELS: dict[str, str] = {
    label: category.value for category, label in CATEGORY_LABELS_ZH.items()
} | {
    "专业课": Category.SPECIALISED.value,
    "公需科目(行业)": Category.INDUSTRY_PUBLIC.value,
    "公需科目(一般)": Category.GENERAL_PUBLIC.value,
}

# Headers seen in platform exports; used for files when neither the source nor the command
# line gives a mapping.
STANDARD_FILE_FIELDS: dict[str, tuple[str, ...]] = {
    "external_id": ("记录编号", "记录ID", "学时记录编号", "登记编号", "jlid"),
    "id_number": ("身份证号", "身份证号码", "公民身份号码", "证件号码", "sfzh"),
    "name": ("姓名", "xm"),
    "category": ("课程类别", "科目类别", "学时类别", "科目", "kclb"),
    "hours": ("学时", "学时数", "xs"),
    "completed_on": ("完成日期", "完成时间", "结业日期", "wcrq"),
    "course.code": ("课程编号", "课程代码", "kcdm"),
    "course.title": ("课程名称", "kcmc"),
    "course.provider": ("培训机构", "主办单位", "pxjg"),
}

_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_LOOSE_DATE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?")


@dataclass(frozen=True, slots=True)
class FieldMapping:
    """Which platform field feeds each of our fields, and what each category label means."""

    fields: dict[str, tuple[str, ...]]
    categories: dict[str, str]

    @property
    def id_field(self) -> str | None:
        """The platform's (first) name for the ID number field, to mask it when displayed."""
        names = self.fields.get("id_number")
        return names[0] if names else None

    @property
    def external_id_fields(self) -> tuple[str, ...]:
        """The platform's names for its record id."""
        return self.fields.get("external_id", ())

    def value(self, row: Mapping[str, Any], ours: str) -> Any:
        """The platform's value for one of our fields (``None`` when absent or blank)."""
        for name in self.fields.get(ours, ()):
            value = row.get(name)
            if isinstance(value, str):
                value = value.strip()
            if value is not None and value != "":
                return value
        return None

    def to_record(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """A platform row as a record in the push API's shape, for the ledger to validate:
        each field found by its platform names, then through its step of the mapping (see the
        module's docstring).

        Nothing is dropped silently: an unknown label or an odd date is passed through as it
        came, and the ledger rejects it with a reason.
        """
        # self.value() inlined: this runs for every field of every record synced.
        record: dict[str, Any] = {}
        get = row.get
        for ours in RECORD_FIELDS:
            found = None
            for name in self.fields.get(ours, ()):
                value = get(name)
                if isinstance(value, str):
                    value = value.strip()
                if value is not None and value != "":
                    found = value
                    break
            record[ours] = found
        record["external_id"] = map_text(record["external_id"])
        record["id_number"] = map_id_number(record["id_number"])
        record["category"] = map_category(record["category"], self.categories)
        record["hours"] = map_hours(record["hours"])
        record["completed_on"] = map_date(record["completed_on"])
        course = {}
        for ours in COURSE_FIELDS:
            value = self.value(row, ours)
            if value is not None:
                course[ours.split(".", 1)[1]] = map_text(value)
        if course:
            record["course"] = course
        return record


def map_text(value: Any) -> Any:
    """A text field (external id, course code, title or provider): a number cell as its digits."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def map_id_number(value: Any) -> Any:
    """An ID number: a number cell as its digits, and in the ledger's normal form."""
    value = map_text(value)
    return normalise_id_number(value) if isinstance(value, str) else value


def map_category(value: Any, labels: Mapping[str, str]) -> Any:
    """A category: the platform's label as our key (an unknown label is passed on)."""
    return labels.get(value, value) if isinstance(value, str) else value


def map_hours(value: Any) -> Any:
    """Hours as the ledger takes them: a float from a spreadsheet becomes its shortest decimal.

    A spreadsheet cell holds 1.5 as a binary float; its shortest repr ("1.5") is what the person
    typed. The ledger still refuses more than one decimal place.
    """
    if isinstance(value, float):
        try:
            return Decimal(repr(value))
        except InvalidOperation:
            return str(value)
    if isinstance(value, str):
        return value.strip()
    return value


def map_date(value: Any) -> Any:
    """A completion date in the forms platforms use (20240501, 2024/5/1, 2024年5月1日...)."""
    if isinstance(value, dt.datetime):
        return value.date() if value.tzinfo is None else value
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return value
    text = value.strip()
    if "T" in text[8:]:
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            return value
        return (moment if moment.tzinfo is None else moment.astimezone(BUSINESS_TZ)).date()
    for pattern in (_COMPACT_DATE, _LOOSE_DATE):
        match = pattern.fullmatch(text) or pattern.fullmatch(text.split(" ")[0])
        if match:
            try:
                return dt.date(*(int(g) for g in match.groups()))
            except ValueError:
                return value
    return value


def parse_mapping(
    raw: object,
    *,
    where: str,
    default_fields: Mapping[str, tuple[str, ...]] | None = None,
) -> FieldMapping:
    """Check a mapping from configuration or a file.

    Raises:
        ConfigError: an unknown field of ours, a field without a name, or a bad label.
    """
    if raw is None and default_fields is not None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be an object with 'fields' (and optional 'categories')")
    unknown = set(raw) - {"fields", "categories"}
    if unknown:
        raise ConfigError(f"{where}: unknown keys {', '.join(sorted(map(str, unknown)))}")
    fields: dict[str, tuple[str, ...]] = dict(default_fields or {})
    raw_fields = raw.get("fields") or {}
    if not isinstance(raw_fields, Mapping):
        raise ConfigError(f"{where}.fields must be an object")
    for ours, theirs in raw_fields.items():
        if ours not in RECORD_FIELDS + COURSE_FIELDS:
            allowed = ", ".join(RECORD_FIELDS + COURSE_FIELDS)
            raise ConfigError(f"{where}.fields: {ours!r} is not one of {allowed}")
        names = (theirs,) if isinstance(theirs, str) else theirs
        if not isinstance(names, list | tuple) or not names:
            raise ConfigError(f"{where}.fields.{ours} must be a field name or a list of them")
        if not all(isinstance(n, str) and n for n in names):
            raise ConfigError(f"{where}.fields.{ours} must be a field name or a list of them")
        fields[ours] = tuple(names)
    missing = [f for f in REQUIRED_FIELDS if f not in fields]
    if missing:
        raise ConfigError(f"{where}.fields must map {', '.join(missing)}")
    categories = dict(PLATFORM_CATEGORY_LABELS)
    raw_categories = raw.get("categories") or {}
    if not isinstance(raw_categories, Mapping):
        raise ConfigError(f"{where}.categories must be an object")
    ours_values = set(PLATFORM_CATEGORY_LABELS.values())
    for label, category in raw_categories.items():
        if category not in ours_values:
            raise ConfigError(
                f"{where}.categories: {label!r} must map to one of {', '.join(sorted(ours_values))}"
            )
        categories[str(label)] = category
    return FieldMapping(fields=fields, categories=categories)


def file_mapping(raw: object | None) -> FieldMapping:
    """The mapping for an export file: the standard Chinese headers, overridden by ``raw``.

    Raises:
        ConfigError: the mapping is malformed.
    """
    return parse_mapping(raw, where="mapping", default_fields=STANDARD_FILE_FIELDS)
