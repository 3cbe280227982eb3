"""Quarantine: records a platform sent that failed validation, kept as sent, shown masked."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.db.transactions import read_transaction
from ledger.entries.tables import Source
from ledger.errors import UnknownSourceError
from ledger.sync.tables import QuarantinedRecord, upsert_into
from ledger.values.id_numbers import mask_id_number, mask_text

MAX_PAYLOAD_BYTES = 64 * 1024
"""The most a quarantined payload (or its reasons) may take as JSON; a bigger one is cut down
(:func:`bounded`): a platform must not be able to fill the database through its errors."""
MAX_KEPT_FIELDS = 50
MAX_KEPT_CHARS = 200
MAX_EXTERNAL_ID = 128


@dataclass(frozen=True, slots=True)
class Quarantine:
    """A record to quarantine: its key, the validation errors and the payload as sent."""

    record_key: str
    external_id: str | None
    reason: dict[str, Any]
    payload: dict[str, Any]
    id_field: str | None = None


@dataclass(frozen=True, slots=True)
class QuarantineInfo:
    """A quarantined record as shown to operators: ID numbers in the payload masked."""

    source_id: str
    record_key: str
    external_id: str | None
    reason: dict[str, Any]
    payload: dict[str, Any]
    first_seen_at: dt.datetime
    last_seen_at: dt.datetime
    times_seen: int
    cleared_at: dt.datetime | None


def file_quarantine(
    session: Session,
    source_id: str,
    run_id: int,
    items: Sequence[Quarantine],
    now: dt.datetime,
) -> None:
    """Keep (or update) quarantined records of a page, each payload within
    :data:`MAX_PAYLOAD_BYTES`, in the caller's transaction."""
    # The last occurrence of a key in a page wins (a page may repeat a record).
    latest = {item.record_key: item for item in items}
    rows = [
        {
            "source_id": source_id,
            "record_key": item.record_key[:140],
            "external_id": item.external_id[:MAX_EXTERNAL_ID] if item.external_id else None,
            "id_field": item.id_field[:64] if item.id_field else None,
            "reason": bounded(item.reason),
            "payload": bounded(item.payload),
            "first_seen_at": now,
            "last_seen_at": now,
            "times_seen": 1,
            "run_id": run_id,
            "cleared_at": None,
        }
        for item in latest.values()
    ]
    ins = upsert_into(session, QuarantinedRecord)
    session.execute(
        ins.on_conflict_do_update(
            index_elements=["source_id", "record_key"],
            set_={
                "external_id": ins.excluded.external_id,
                "id_field": ins.excluded.id_field,
                "reason": ins.excluded.reason,
                "payload": ins.excluded.payload,
                "last_seen_at": ins.excluded.last_seen_at,
                "times_seen": QuarantinedRecord.times_seen + 1,
                "run_id": ins.excluded.run_id,
                "cleared_at": None,
            },
        ),
        rows,
    )


def _json_size(value: Any) -> int:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return len(text.encode("utf-8", "surrogatepass"))


def bounded(payload: Mapping[str, Any]) -> dict[str, Any]:
    """``payload`` as it is, if its JSON fits :data:`MAX_PAYLOAD_BYTES`; else its first
    :data:`MAX_KEPT_FIELDS` fields with each value cut to :data:`MAX_KEPT_CHARS` characters,
    under a ``_truncated`` note of the original size (what an operator needs to see why the
    record was refused, not a copy of whatever the platform sent)."""
    size = _json_size(payload)
    if size <= MAX_PAYLOAD_BYTES:
        return dict(payload)
    kept: dict[str, Any] = {"_truncated": {"bytes": size, "fields": len(payload)}}
    for key, value in list(payload.items())[:MAX_KEPT_FIELDS]:
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        small = isinstance(value, int | float | bool) or value is None
        kept[str(key)[:MAX_KEPT_CHARS]] = value if small else text[:MAX_KEPT_CHARS]
    return kept


def list_quarantine(
    session: Session, source_id: str, *, include_cleared: bool = False, limit: int = 1000
) -> list[QuarantineInfo]:
    """A source's quarantined records, most recently seen first, ID numbers masked.

    Raises:
        UnknownSourceError: no such source.
    """
    stmt = (
        select(QuarantinedRecord)
        .where(QuarantinedRecord.source_id == source_id)
        .order_by(QuarantinedRecord.last_seen_at.desc(), QuarantinedRecord.record_key)
        .limit(limit)
    )
    if not include_cleared:
        stmt = stmt.where(QuarantinedRecord.cleared_at.is_(None))
    with read_transaction(session):
        if session.get(Source, source_id) is None:
            raise UnknownSourceError(f"unknown source {source_id!r}")
        return [
            QuarantineInfo(
                source_id=q.source_id,
                record_key=q.record_key,
                external_id=q.external_id,
                reason=q.reason,
                payload=mask_payload(q.payload, q.id_field),
                first_seen_at=q.first_seen_at,
                last_seen_at=q.last_seen_at,
                times_seen=q.times_seen,
                cleared_at=q.cleared_at,
            )
            for q in session.scalars(stmt)
        ]


def _mask_id_value(value: str) -> str:
    # A value too short to be an ID number is usually a cut-off one: mask all of it.
    return mask_id_number(value) if len(value) >= 15 else "*" * len(value)


def mask_payload(payload: Any, id_field: str | None = None) -> Any:
    """A copy of a raw payload safe to display: the ID field and anything ID-shaped masked."""
    if isinstance(payload, Mapping):
        return {
            str(k): (
                _mask_id_value(str(v))
                if id_field is not None and k == id_field and v is not None
                else mask_payload(v, id_field)
            )
            for k, v in payload.items()
        }
    if isinstance(payload, list):
        return [mask_payload(v, id_field) for v in payload]
    if isinstance(payload, str):
        return mask_text(payload)
    return payload
