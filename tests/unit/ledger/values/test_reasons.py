"""The one table of reasons and statuses: every code the service uses has both labels, and the
Chinese label is Chinese (what a Chinese page shows)."""

from __future__ import annotations

import re

import pytest

from ledger.attestations.status import PUBLIC_REASONS, StatusReason
from ledger.compliance.judgement import ExclusionReason
from ledger.compliance.transcripts import STATUS_LABELS, EntryStatus
from ledger.entries import append
from ledger.entries.sources import SourceKind
from ledger.values.reasons import (
    ENTRY_STATUSES,
    EXCLUSION_REASONS,
    SERVICE_REASON_LABELS,
    SOURCE_KINDS,
    STATUS_REASONS,
    SUPERSEDE_REASON,
    Label,
    service_reason_code,
    source_kind_label,
)

# Latin words in a Chinese label: only rule ids such as "R6" may appear.
_ENGLISH_WORD = re.compile(r"\b(?!R\d+\b)[A-Za-z]{2,}\b")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _labels() -> list[tuple[str, Label]]:
    tables = (EXCLUSION_REASONS, ENTRY_STATUSES, SERVICE_REASON_LABELS, STATUS_REASONS)
    return [(code, label) for table in (*tables, SOURCE_KINDS) for code, label in table.items()]


@pytest.mark.parametrize(("code", "label"), _labels())
def test_every_label_is_chinese_with_an_english_gloss(code: str, label: Label) -> None:
    assert _CJK.search(label.zh), code
    assert not _ENGLISH_WORD.search(label.zh), code
    assert label.en, code
    assert label.en.isascii(), code


def test_every_code_the_ledger_uses_has_a_label() -> None:
    assert {r.value for r in ExclusionReason} <= set(EXCLUSION_REASONS)
    assert {s.value for s in EntryStatus} == set(ENTRY_STATUSES)
    assert {r.value for r in StatusReason} == set(STATUS_REASONS) == set(PUBLIC_REASONS)
    assert {k.value for k in SourceKind} <= set(SOURCE_KINDS)


def test_the_transcript_statuses_come_from_the_table() -> None:
    assert STATUS_LABELS[EntryStatus.DUPLICATE] == tuple(ENTRY_STATUSES["duplicate"])


def test_the_reason_the_service_writes_on_a_supersede_has_a_code_and_a_platforms_does_not() -> None:
    # The append path stores this very text on the reversal a supersede appends.
    assert append.SUPERSEDE_REASON == SUPERSEDE_REASON
    assert service_reason_code(SUPERSEDE_REASON) == "corrected-record"
    assert service_reason_code("课程未完成考核") is None
    assert service_reason_code(None) is None


def test_an_unknown_kind_of_platform_is_named_by_its_code() -> None:
    assert source_kind_label("city").zh == "市平台"
    assert source_kind_label("regional") == Label("regional", "regional")
