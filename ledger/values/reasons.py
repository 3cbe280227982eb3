"""Reasons the service itself gives, as stable codes with a Chinese and an English label.

One table for every reason and status the service writes and a person reads: why an entry did
not count in an evaluation (``ledger.compliance.judgement.ExclusionReason``), an entry's status
in a transcript (``ledger.compliance.transcripts.EntryStatus``), the reason the service stores
on a reversal it appends itself (a superseded record), an attestation's public ``reason_code``
(``ledger.attestations.status.StatusReason``) and the kinds of platform (R6). Pages show the
Chinese label (with the English one beside it as a gloss); the API carries the codes. The
modules that own each code import nothing from here but their labels: this module sits below
them (``db`` <- ``values`` <- ``entries`` <- ``compliance``), so it names codes as strings and
``tests/unit/ledger/values/test_reasons.py`` checks that every code of theirs has a label here.

A reason a platform or an administrator writes (``POST /v1/records/{id}/reversal``) is theirs,
kept word for word: only the texts the service writes are replaced by labels
(:func:`service_reason_code`).
"""

from __future__ import annotations

from typing import NamedTuple


class Label(NamedTuple):
    """A code's label in Chinese (what a page shows) and in English (the gloss, the CLI)."""

    zh: str
    en: str


# Why an entry did not count, or counted once (the evaluation's ``reason`` codes); ``capped``
# is the part of a year's category above a profile's cap, which is not one entry's.
EXCLUSION_REASONS: dict[str, Label] = {
    "not_authoritative": Label(
        "不以该平台登记的学时为准(R6),不计入", "not of record on this platform (R6)"
    ),
    "duplicate": Label("与另一平台的同一课程重复登记,只计一次", "counted once across platforms"),
    "outside_window": Label("不在统计年度内,不计入", "outside the years counted"),
    "after_cutoff": Label("在截至日期之后完成,不计入", "completed after the as-of date"),
    "reversed": Label("已撤销,不计入", "reversed"),
    "superseded": Label("已被更正记录取代,按更正后的学时计入", "superseded by a corrected record"),
    "reversal": Label("撤销记录本身,不计学时", "the reversal itself"),
    "capped": Label("超出每年上限的部分不计入", "above the yearly cap"),
}


# An entry's status in a transcript.
ENTRY_STATUSES: dict[str, Label] = {
    "counted": Label("计入", "counted"),
    "reversed": Label("已撤销", "reversed"),
    "superseded": Label("已更正", "superseded"),
    "duplicate": Label("重复登记,只计一次", "counted once across platforms"),
    "reversal": Label("撤销记录", "reversal"),
}


# The reason the service itself stores on the reversal it appends when a platform supersedes a
# record (``ledger.entries.append`` stores it): stored text -> code. Entries are never
# rewritten, so the stored English text stays; pages look its code up here.
SUPERSEDE_REASON = "superseded by corrected record"
SERVICE_REASONS: dict[str, str] = {SUPERSEDE_REASON: "corrected-record"}
SERVICE_REASON_LABELS: dict[str, Label] = {
    "corrected-record": Label("平台报送了更正后的记录", "superseded by corrected record"),
}


# An attestation's public ``reason_code`` (``GET /v1/attestations/{jti}/status``).
STATUS_REASONS: dict[str, Label] = {
    "issued": Label("已签发", "issued"),
    "entry-corrected": Label(
        "其计入的学时记录后来被撤销或更正,请重新开具",
        "an entry it counted was later reversed or superseded; re-issue it",
    ),
    "revoked": Label("已被签发机构撤销", "revoked by the issuer"),
    "key-retired": Label(
        "签名密钥已被签发机构停用,请重新开具",
        "the key that signed it was withdrawn by the issuer; re-issue it",
    ),
}


# The kinds of platform a source is (``ledger.entries.sources.SourceKind``).
SOURCE_KINDS: dict[str, Label] = {
    "city": Label("市平台", "city platform"),
    "province_industry": Label("省行业平台", "provincial industry platform"),
    "province": Label("省平台", "provincial platform"),
    "other": Label("其他平台", "other platform"),
    "any": Label("任一平台", "any platform"),
}


def exclusion_label(code: str) -> Label:
    """The label of an evaluation's exclusion reason.

    Raises:
        KeyError: not a code of :data:`EXCLUSION_REASONS`.
    """
    return EXCLUSION_REASONS[code]


def service_reason_code(text: str | None) -> str | None:
    """The code of a reason the service wrote itself, or ``None`` for a person's own words."""
    return SERVICE_REASONS.get(text) if text is not None else None


def source_kind_label(kind: str) -> Label:
    """The label of a kind of platform; an unknown kind is named as it is (it is a code)."""
    return SOURCE_KINDS.get(kind, Label(kind, kind))
