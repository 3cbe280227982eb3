"""Quarantine keeps what a platform sent within bounds: a huge payload is cut down under a
note of its size, an over-long record id is cut to the column, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from ledger.sync.quarantine import MAX_PAYLOAD_BYTES, Quarantine, list_quarantine
from ledger.sync.runs import PageCounts, RunTrigger, record_page, start_run
from tests.factories import city_source, id_number


def test_a_huge_payload_and_an_over_long_record_id_are_kept_bounded(session: Session) -> None:
    source = city_source(session)
    run = start_run(session, source, trigger=RunTrigger.IMPORT, holder="test")
    number = id_number(5)
    payload = {"sfzh": number, "note": "注" * 200_000, **{f"f{n}": "x" for n in range(500)}}
    long_id = "E" * 1000
    item = Quarantine(
        record_key=long_id,
        external_id=long_id,
        reason={"hours": ["hours must be greater than 0"]},
        payload=payload,
        id_field="sfzh",
    )
    record_page(session, run, cursor=None, counts=PageCounts(1, rejected=1), quarantine=[item])
    [kept] = list_quarantine(session, source)
    assert kept.external_id == "E" * 128
    assert len(kept.record_key) == 140
    assert kept.payload["_truncated"]["fields"] == len(payload)
    assert kept.payload["_truncated"]["bytes"] > MAX_PAYLOAD_BYTES
    assert len(kept.payload["note"]) == 200
    assert kept.payload["sfzh"] != number
    assert kept.payload["sfzh"].startswith(number[:6])
    size = len(json.dumps(kept.payload, ensure_ascii=False).encode())
    assert size <= MAX_PAYLOAD_BYTES


def test_a_payload_within_bounds_is_kept_as_sent(session: Session) -> None:
    source = city_source(session)
    run = start_run(session, source, trigger=RunTrigger.IMPORT, holder="test")
    payload = {"jlid": "Q1", "xs": "-1", "kcmc": "课程"}
    item = Quarantine("Q1", "Q1", {"hours": ["hours must be greater than 0"]}, payload)
    record_page(session, run, cursor=None, counts=PageCounts(1, rejected=1), quarantine=[item])
    [kept] = list_quarantine(session, source)
    assert kept.payload == payload
