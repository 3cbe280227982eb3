"""Mapping a platform's pinyin fields and Chinese labels to the ledger's record fields."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from importers.errors import ConfigError
from importers.mapping import (
    PLATFORM_CATEGORY_LABELS,
    file_mapping,
    map_category,
    map_date,
    map_hours,
    map_id_number,
    map_text,
    parse_mapping,
)
from ledger.values.categories import CATEGORY_LABELS_ZH, Category

PINYIN = {
    "fields": {
        "external_id": "jlid",
        "id_number": "sfzh",
        "name": "xm",
        "category": "kclb",
        "hours": "xs",
        "completed_on": "wcrq",
        "course.title": "kcmc",
    }
}


def test_pinyin_fields_and_chinese_labels_become_a_push_api_record() -> None:
    mapping = parse_mapping(PINYIN, where="mapping")
    row = {
        "jlid": 1234,
        "sfzh": "11010519491231002x",
        "xm": " 张三 ",
        "kclb": "行业公需科目",
        "xs": Decimal("1.5"),
        "wcrq": "20240501",
        "kcmc": "安全生产",
    }

    assert mapping.to_record(row) == {
        "external_id": "1234",
        "id_number": "11010519491231002X",
        "name": "张三",
        "category": "industry_public",
        "hours": Decimal("1.5"),
        "completed_on": dt.date(2024, 5, 1),
        "course": {"title": "安全生产"},
    }


def test_an_unknown_label_is_passed_on_for_the_ledger_to_reject() -> None:
    mapping = parse_mapping(PINYIN, where="mapping")

    assert mapping.to_record({"kclb": "专业课程"})["category"] == "专业课程"


def test_a_missing_field_becomes_none_not_a_guess() -> None:
    record = parse_mapping(PINYIN, where="mapping").to_record({"jlid": "1", "xs": ""})

    assert record["hours"] is None
    assert record["id_number"] is None


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2024-05-01", dt.date(2024, 5, 1)),
        ("20240501", dt.date(2024, 5, 1)),
        ("2024/5/1", dt.date(2024, 5, 1)),
        ("2024年5月1日", dt.date(2024, 5, 1)),
        ("2024-05-01 10:30:00", dt.date(2024, 5, 1)),
        # An ISO 8601 time is on the day it falls on in Asia/Shanghai (the push API takes
        # YYYY-MM-DD only, so the mapping step does this for a platform that sends times).
        ("2020-12-31T17:30:00Z", dt.date(2021, 1, 1)),
        ("2020-12-31T15:30:00+00:00", dt.date(2020, 12, 31)),
        ("2020-12-31T23:59:00", dt.date(2020, 12, 31)),
        ("2020-12-31T99:00:00", "2020-12-31T99:00:00"),
        (dt.datetime(2024, 5, 1, 9), dt.date(2024, 5, 1)),
        ("20241301", "20241301"),
        ("yesterday", "yesterday"),
    ],
)
def test_platform_date_formats_are_read_and_nonsense_is_passed_on(
    text: object, day: object
) -> None:
    assert map_date(text) == day


def test_a_spreadsheet_float_becomes_the_decimal_that_was_typed() -> None:
    assert map_hours(1.5) == Decimal("1.5")
    assert map_hours(0.1 + 0.2) == Decimal("0.30000000000000004")
    assert map_hours("2") == "2"
    assert map_hours(" 2.5 ") == "2.5"  # a text cell's spaces go; the rest is the ledger's


def test_the_services_own_chinese_labels_and_older_platform_labels_map_to_the_keys() -> None:
    # RULES.md "Hour categories"; CONTRACT.md: platforms use 专业科目 / 行业公需科目 / 一般公需科目.
    for category, label in CATEGORY_LABELS_ZH.items():
        assert map_category(label, PLATFORM_CATEGORY_LABELS) == category.value
    assert map_category("专业课", PLATFORM_CATEGORY_LABELS) == Category.SPECIALISED
    assert map_category("specialised", PLATFORM_CATEGORY_LABELS) == "specialised"
    assert map_category(3, PLATFORM_CATEGORY_LABELS) == 3


def test_number_cells_become_text_and_nothing_else_does() -> None:
    assert map_text(1234) == "1234"
    assert map_text("HY2012") == "HY2012"
    # A boolean is no text: it is passed on for the ledger to refuse ("must be a string"), in
    # every text field alike (course texts used to become "True").
    assert map_text(True) is True
    assert map_id_number(110105194912310021) == "110105194912310021"
    assert map_id_number(" 11010519491231002x") == "11010519491231002X"
    assert map_id_number(None) is None


def test_a_boolean_course_cell_is_passed_on_not_turned_into_text() -> None:
    mapping = parse_mapping(
        {"fields": {**PINYIN["fields"], "course.code": "kcdm"}}, where="mapping"
    )
    assert mapping.to_record({"kcdm": 2012})["course"] == {"code": "2012"}
    assert mapping.to_record({"kcdm": True})["course"] == {"code": True}


def test_alternative_header_names_are_tried_in_order() -> None:
    mapping = file_mapping(None)

    assert mapping.value({"身份证号码": "X", "证件号码": "Y"}, "id_number") == "X"
    assert mapping.value({"证件号码": "Y"}, "id_number") == "Y"


def test_a_mapping_file_overrides_one_header_and_keeps_the_standard_rest() -> None:
    mapping = file_mapping({"fields": {"hours": "课时"}, "categories": {"专业": "specialised"}})

    assert mapping.fields["hours"] == ("课时",)
    assert mapping.fields["name"][0] == "姓名"
    assert mapping.categories["专业"] == "specialised"
    assert mapping.categories["一般公需科目"] == "general_public"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"fields": {"sfzh": "x"}}, "'sfzh' is not one of"),
        ({"fields": {"external_id": "jlid"}}, "must map id_number"),
        ({**PINYIN, "categories": {"专业": "professional"}}, "must map to one of"),
        ({**PINYIN, "labels": {}}, "unknown keys labels"),
        ({"fields": {**PINYIN["fields"], "hours": []}}, "field name or a list"),
        ("jlid", "must be an object"),
    ],
)
def test_malformed_mappings_are_refused_with_the_reason(raw: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_mapping(raw, where="mapping")
