"""The compliance page explains its figures: every entry not counted or counted once, with its
reason in Chinese and the rules concerned, a chart of the years against each rule's line; and no
page a Chinese reader reads shows an English sentence the service wrote.

The site's person 1 holds 2024 hours on the city platform and one course on the provincial
industry platform too (``tests/e2e/pages/site.py``), so that under R6 (seed
002_3f11e0b9a6581793.txt: 以省行业平台登记的学时为准) the industry platform's hours prevail.
Here they also get a reversed course, a corrected one, one after the as-of date (R10, seeds
001_c7af0360a742f8df.txt and 003_befbf03be78c027b.txt) and one of the next year.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import requests

from ledger.compliance.catalogue import catalogue
from ledger.entries.append import append_records
from ledger.entries.reversal import reverse_record
from tests.e2e.pages.reading import english_sentences, marked, shown_text
from tests.e2e.pages.site import Site
from tests.factories import record

PROVINCE = "zj-industry"
PROFILE = "quzhou-annual-90"
AS_OF = "2024-12-15"


def _more_hours(site: Site) -> None:
    course = {"code": "ZY2406", "title": "绿色建筑技术", "provider": "衢州市建设学院"}
    append_records(
        site.session,
        PROVINCE,
        [
            record("p2", hours="10", completed_on="2024-06-01", course=course),
            record("p3", category="general_public", hours="8", completed_on="2024-07-01"),
            record("p4", hours="20", completed_on="2025-01-05"),
            record("p5", hours="12", completed_on="2024-12-20"),
        ],
        actor="test",
    )
    reverse_record(site.session, PROVINCE, "p2", reason="课程未完成考核", actor="test")
    fixed = record("p3", category="general_public", hours="6", completed_on="2024-07-01")
    (result,) = append_records(site.session, PROVINCE, [fixed], actor="test", supersede=True)
    assert result.status == "superseded"


@pytest.fixture
def explained(site: Site) -> tuple[Site, requests.Session, str]:
    _more_hours(site)
    browser = site.signed_in()
    page = browser.get(
        f"{site.base}/me/compliance", params={"profile": PROFILE, "as_of": AS_OF}, timeout=10
    )
    assert page.status_code == 200, page.text
    return site, browser, page.text


def _hours(text: str) -> Decimal:
    found = re.search(r"(\d+(?:\.\d)?) 学时", text)
    assert found is not None, text
    return Decimal(found.group(1))


def test_every_entry_not_counted_is_listed_with_its_chinese_reason_and_rule(
    explained: tuple[Site, requests.Session, str],
) -> None:
    _, _, html = explained
    cards = marked(html, "data-reason")
    reasons = sorted(code for code, _ in cards)
    assert reasons == sorted(
        [
            "duplicate",  # c1: the same course as p1, which counts
            "not_authoritative",  # c2 (city): not of record
            "not_authoritative",  # c3 (city)
            "reversed",  # p2
            "superseded",  # p3's first version
            "after_cutoff",  # p5, 2024-12-20
            "outside_window",  # p4, 2025
        ]
    )
    by_reason: dict[str, list[str]] = {}
    for code, text in cards:
        by_reason.setdefault(code, []).append(text)
    assert "与另一平台的同一课程重复登记,只计一次" in by_reason["duplicate"][0]
    assert "浙江省工业和信息化领域继续教育平台" in by_reason["duplicate"][0]
    for text in by_reason["not_authoritative"]:
        assert "不以该平台登记的学时为准(R6)" in text
        assert "本项要求以省行业平台登记的学时为准,此记录登记在市平台" in text
        assert "衢州市继续教育平台" in text
        assert "涉及要求" in text
        assert "年度学时合计" in text
    (reversed_,) = by_reason["reversed"]
    assert "2024-06-01" in reversed_
    assert "绿色建筑技术" in reversed_
    assert _hours(reversed_) == Decimal("10.0")
    assert "原因:课程未完成考核" in reversed_
    (superseded,) = by_reason["superseded"]
    assert "已被更正记录取代" in superseded
    assert "更正为 6.0 学时" in superseded
    (late,) = by_reason["after_cutoff"]
    assert "2024-12-20 完成,只计入 2024-12-15 及以前完成的学时" in late
    (outside,) = by_reason["outside_window"]
    assert "2025 年完成,统计年度为 2024" in outside


def test_the_listed_entries_account_for_the_difference_from_the_transcript(
    explained: tuple[Site, requests.Session, str],
) -> None:
    _, _, html = explained
    # Counted: p1 40 and p3's corrected 6. The transcript counts every platform alike and has
    # no cut-off: 40 once, c2 18, c3 12.5, p3 6, p5 12 = 88.5.
    (reconcile,) = [text for mark, text in marked(html, "id") if mark == "reconcile"]
    assert "计入 88.5 学时,本项要求计入 46.0 学时,相差 42.5 学时" in reconcile
    lost = sum(
        (
            _hours(text)
            for code, text in marked(html, "data-reason")
            if code in {"not_authoritative", "after_cutoff"}
        ),
        Decimal(0),
    )
    assert lost == Decimal("42.5")


def test_the_chart_draws_bars_by_category_against_the_rules_line(
    explained: tuple[Site, requests.Session, str],
) -> None:
    _, _, html = explained
    chart = html[html.index('<div id="chart">') :]
    chart = chart[: chart.index("</div>")]
    assert chart.count("<svg") >= 2  # the rule's panel and the legend's keys
    assert 'role="img"' in chart
    assert "年度学时合计:每年要求 90.0 学时,实际 2024 年 46.0 学时,差 44.0 学时" in chart
    bars = re.findall(r'<rect class="bar" data-category="(\w+)"', chart)
    assert bars == ["specialised", "general_public"]  # 2024: 40 specialised, 6 general public
    assert chart.count('class="rule-line"') == 1
    assert "要求 90.0" in chart


def test_a_window_rule_has_its_line_across_the_total_only(site: Site) -> None:
    page = site.signed_in().get(
        f"{site.base}/me/compliance",
        params={"profile": "quzhou-2020-intermediate", "as_of": "2020-12-31"},
        timeout=10,
    )
    assert page.status_code == 200
    # No hours in 2019-2020: empty bars, three rules' lines, nothing listed.
    assert page.text.count('class="rule-line"') == 3
    assert page.text.count('<rect class="bar"') == 0
    assert "合计" in shown_text(page.text)
    assert 'id="all-counted"' in page.text


def test_no_page_a_chinese_reader_reads_shows_an_english_sentence_of_the_service(
    explained: tuple[Site, requests.Session, str],
) -> None:
    site, browser, html = explained
    pages = {"/me/compliance?explained": html}
    for path in ("/me", "/me?year=2024", "/me/compliance"):
        pages[path] = browser.get(f"{site.base}{path}", timeout=10).text
    for profile in catalogue().latest():
        for as_of in ("2020-12-31", AS_OF):
            path = f"/me/compliance?profile={profile.id}&as_of={as_of}"
            pages[path] = browser.get(f"{site.base}{path}", timeout=10).text
    for path, text in pages.items():
        assert "<html" in text, path
        assert english_sentences(text) == [], path
    # The transcript shows the corrected entry's reason, written by the service, in Chinese.
    assert "平台报送了更正后的记录" in shown_text(pages["/me"])
    assert "superseded by corrected record" not in pages["/me"]


def test_the_english_detector_finds_an_english_sentence_outside_the_glosses() -> None:
    page = (
        "<html><head><title>A B C D</title></head><body><p>已更正 <span class='en'>"
        "superseded by corrected record</span></p><p>原因:superseded by corrected record</p>"
        "</body></html>"
    )
    assert english_sentences(page) == ["superseded by corrected record"]
