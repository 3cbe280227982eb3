"""Records that fail validation are quarantined with reason and payload, do not stop the sync,
are shown with ID numbers masked, and are cleared once the platform fixes them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from importers.runner import sync_source
from ledger.sync.quarantine import list_quarantine
from ledger.sync.runs import get_sync_status
from ledger.values.texts import NOT_UNICODE
from tests.factories import id_number
from tests.integration.importers.fake_platform import FakePlatform
from tests.integration.importers.helpers import assert_ledger_matches, platform_record

BAD_ID = id_number(3)[:-1] + ("0" if id_number(3)[-1] != "0" else "1")


def break_three(platform: FakePlatform) -> None:
    platform.put("JL00004", sfzh=BAD_ID)
    platform.put("JL00007", kclb="专业课程")  # not a label the mapping knows
    platform.put("JL00011", xs="0")


def test_invalid_records_are_quarantined_and_the_rest_are_kept(
    session: Session, cursor_platform: FakePlatform, cursor_source: str
) -> None:
    break_three(cursor_platform)

    run = sync_source(session, cursor_source)

    assert run.status == "succeeded"
    assert (run.created, run.rejected) == (22, 3)
    assert_ledger_matches(session, cursor_platform, skip={"JL00004", "JL00007", "JL00011"})
    held = {q.record_key: q for q in list_quarantine(session, cursor_source)}
    assert set(held) == {"JL00004", "JL00007", "JL00011"}
    assert "id_number" in held["JL00004"].reason
    assert "category" in held["JL00007"].reason
    assert "hours" in held["JL00011"].reason
    assert held["JL00007"].payload["kclb"] == "专业课程"
    assert [s.quarantined for s in get_sync_status(session)] == [3]


def test_quarantined_payloads_never_show_the_id_number(
    session: Session, cursor_platform: FakePlatform, cursor_source: str
) -> None:
    break_three(cursor_platform)
    sync_source(session, cursor_source)

    shown = repr(list_quarantine(session, cursor_source))

    assert BAD_ID not in shown
    assert BAD_ID[:6] + "********" + BAD_ID[-4:] in shown
    assert id_number(5) not in shown


def test_a_record_fixed_upstream_leaves_quarantine_on_the_next_sync(
    session: Session, cursor_platform: FakePlatform, cursor_source: str
) -> None:
    break_three(cursor_platform)
    sync_source(session, cursor_source)
    cursor_platform.put("JL00004", sfzh=platform_record(4)["sfzh"])
    cursor_platform.put("JL00007", kclb="行业公需科目")

    run = sync_source(session, cursor_source)

    assert run.created == 2
    assert [q.record_key for q in list_quarantine(session, cursor_source)] == ["JL00011"]
    cleared = {q.record_key for q in list_quarantine(session, cursor_source, include_cleared=True)}
    assert cleared == {"JL00004", "JL00007", "JL00011"}
    assert_ledger_matches(session, cursor_platform, skip={"JL00011"})


def test_a_record_seen_broken_again_is_counted_not_duplicated(
    session: Session, cursor_platform: FakePlatform, cursor_source: str
) -> None:
    cursor_platform.put("JL00011", xs="0")
    sync_source(session, cursor_source)
    cursor_platform.put("JL00011", xs="-1")

    sync_source(session, cursor_source)

    (item,) = list_quarantine(session, cursor_source)
    assert item.times_seen == 2
    assert item.payload["xs"] == "-1"


def test_a_record_without_an_id_is_quarantined_under_a_digest_of_its_content(
    session: Session, cursor_platform: FakePlatform, cursor_source: str
) -> None:
    cursor_platform.put("JL00002", jlid="")

    sync_source(session, cursor_source)

    (item,) = list_quarantine(session, cursor_source)
    assert item.record_key.startswith("sha256:")
    assert "external_id" in item.reason


def test_records_with_text_that_is_not_unicode_are_quarantined_and_the_page_goes_on(
    session: Session, cursor_platform: FakePlatform, cursor_source: str
) -> None:
    # A platform's JSON may carry a lone surrogate ("\ud800") or a NUL; neither can be stored as
    # it is (PostgreSQL refuses both), yet the payload is kept, escaped, and the rest committed.
    cursor_platform.put("JL00003", xm="张\ud800")
    cursor_platform.put("JL00005", kcmc="课程\x00名")
    cursor_platform.put("JL00006", jlid="JL00006\udfff")

    run = sync_source(session, cursor_source)

    assert run.status == "succeeded", run.error
    assert run.rejected == 3
    held = {q.record_key: q for q in list_quarantine(session, cursor_source)}
    assert set(held) == {"JL00003", "JL00005", "JL00006\\udfff"}
    assert held["JL00003"].reason == {"name": [NOT_UNICODE]}
    assert held["JL00003"].payload["xm"] == "张\\ud800"
    assert held["JL00005"].payload["kcmc"] == "课程\\x00名"
    assert "course.title" in held["JL00005"].reason
    assert held["JL00006\\udfff"].external_id == "JL00006\\udfff"
    assert_ledger_matches(session, cursor_platform, skip={"JL00003", "JL00005", "JL00006"})
