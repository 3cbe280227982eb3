"""Sources: the learning platforms that register hours."""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.db.transactions import read_transaction, write_transaction
from ledger.entries.tables import Source
from ledger.errors import ConflictError, UnknownSourceError, ValidationError


class SourceKind(enum.StrEnum):
    """What kind of platform a source is; a profile's source policy (R6) names these."""

    CITY = "city"  # 市专业技术人员继续教育学习平台: hours of record by default (R6)
    PROVINCE_INDUSTRY = "province_industry"  # 省行业平台: prevails where its industry is managed
    PROVINCE = "province"
    OTHER = "other"


SOURCE_KIND_LABELS_ZH: dict[str, str] = {
    SourceKind.CITY: "市继续教育学习平台",
    SourceKind.PROVINCE_INDUSTRY: "省行业平台",
    SourceKind.PROVINCE: "省级平台",
    SourceKind.OTHER: "其他平台",
}
"""A source kind in Chinese, as printed on proofs and pages (R6 names these)."""


_SOURCE_ID = re.compile(r"[a-z0-9][a-z0-9_-]{1,63}")


_REGION = re.compile(r"\d{6}")


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """A source as shown to callers."""

    id: str
    kind: str
    region_code: str
    display_name: str
    config: dict[str, Any] | None
    created_at: dt.datetime


def _info(source: Source) -> SourceInfo:
    return SourceInfo(
        source.id,
        source.kind,
        source.region_code,
        source.display_name,
        source.config,
        source.created_at,
    )


def add_source(
    session: Session,
    source_id: str,
    *,
    kind: str,
    region_code: str,
    display_name: str,
    config: dict[str, Any] | None = None,
) -> SourceInfo:
    """Register a source.

    Raises:
        ValidationError: a malformed id, kind or region code.
        ConflictError: the id is taken.
    """
    errors: dict[str, list[str]] = {}
    if not _SOURCE_ID.fullmatch(source_id or ""):
        errors["id"] = ["must be 2-64 characters of a-z, 0-9, '-' and '_'"]
    if kind not in tuple(SourceKind):
        errors["kind"] = [f"must be one of {', '.join(SourceKind)}"]
    if not _REGION.fullmatch(region_code or ""):
        errors["region_code"] = ["must be a six-digit administrative region code"]
    if not display_name or not display_name.strip() or len(display_name) > 200:
        errors["display_name"] = ["must be 1-200 characters"]
    if errors:
        raise ValidationError(errors)
    with write_transaction(session):
        if session.get(Source, source_id) is not None:
            raise ConflictError(f"source {source_id!r} already exists")
        source = Source(
            id=source_id,
            kind=kind,
            region_code=region_code,
            display_name=display_name.strip(),
            config=config,
            created_at=dt.datetime.now(dt.UTC),
        )
        session.add(source)
    return _info(source)


def set_source_config(session: Session, source_id: str, config: dict[str, Any] | None) -> None:
    """Replace a source's pull configuration.

    Raises:
        UnknownSourceError: no such source.
    """
    with write_transaction(session):
        source = session.get(Source, source_id)
        if source is None:
            raise UnknownSourceError(f"unknown source {source_id!r}")
        source.config = config


def get_source(session: Session, source_id: str) -> SourceInfo:
    """Return one source.

    Raises:
        UnknownSourceError: no such source.
    """
    with read_transaction(session):
        source = session.get(Source, source_id)
        if source is None:
            raise UnknownSourceError(f"unknown source {source_id!r}")
        return _info(source)


def list_sources(session: Session) -> list[SourceInfo]:
    """All sources, by id."""
    with read_transaction(session):
        return [_info(s) for s in session.scalars(select(Source).order_by(Source.id))]
