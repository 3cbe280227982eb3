"""The CLI's human forms: moments in Asia/Shanghai to the second, tables under a header row,
and what ``cehours verify`` says it did not check."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from api.cli.attestations import not_checked
from api.cli.output import display_width, human_time, table


@pytest.mark.parametrize(
    ("moment", "shown"),
    [
        (dt.datetime(2026, 12, 2, 3, 32, 5, 918273, tzinfo=dt.UTC), "2026-12-02 11:32:05 +08:00"),
        # Late evening UTC is the next day in Shanghai.
        (dt.datetime(2026, 12, 31, 16, 0, 0, tzinfo=dt.UTC), "2027-01-01 00:00:00 +08:00"),
        # A naive moment is UTC, as the database's columns are.
        (dt.datetime(2026, 6, 1, 0, 0, 1, 5), "2026-06-01 08:00:01 +08:00"),
        (
            dt.datetime(2026, 6, 1, 9, 0, 0, tzinfo=ZoneInfo("Europe/Berlin")),
            "2026-06-01 15:00:00 +08:00",
        ),
    ],
)
def test_a_moment_is_shown_in_shanghai_time_without_microseconds(
    moment: dt.datetime, shown: str
) -> None:
    assert human_time(moment) == shown


def test_no_moment_is_a_dash_or_what_the_caller_says() -> None:
    assert human_time(None) == "-"
    assert human_time(None, missing="never") == "never"


def test_a_table_has_its_header_first_and_columns_aligned_for_chinese_text() -> None:
    lines = table(
        ["ID", "NAME", "MODE"], [["qz", "衢州市平台", "push"], ["zj-industry", "x", "pull"]]
    )
    assert lines[0].split() == ["ID", "NAME", "MODE"]
    assert len(lines) == 3
    # Each column starts at the same terminal column on every line (CJK characters are wide).
    starts = {
        display_width(line[: line.index(word)])
        for line, word in zip(lines, ["MODE", "push", "pull"], strict=True)
    }
    assert len(starts) == 1
    assert not any(line.endswith(" ") for line in lines)


def test_an_empty_table_is_still_its_header() -> None:
    assert table(["ID", "NAME"], []) == ["ID  NAME"]


def test_verify_names_every_check_it_was_not_asked_to_do() -> None:
    offline = not_checked(id_number=False, status=False, status_list=False, log=False)
    assert list(offline) == ["id-binding", "status", "log-inclusion"]
    assert "--id-number" in offline["id-binding"]
    endpoint = not_checked(id_number=True, status=True, status_list=False, log=False)
    assert list(endpoint) == ["status-list", "log-inclusion"]
    assert not_checked(id_number=True, status=True, status_list=True, log=True) == {}
