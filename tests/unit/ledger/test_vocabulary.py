"""The closed sets' words: outside systems and stored rows rely on them, whatever the names."""

from __future__ import annotations

import enum

import pytest

from ledger.access.clients import Role
from ledger.attestations.jose import SigningAlgorithm
from ledger.attestations.signing_keys import KeyStatus
from ledger.attestations.status import AttestationEventKind, AttestationState
from ledger.compliance.judgement import IndustryDecidedBy
from ledger.compliance.profile import Cutoff, IndustryManaged, Per, RuleKind
from ledger.entries.chain import EntryKind
from ledger.entries.sources import SourceKind
from ledger.entries.tables import RecordStatus
from ledger.sync.runs import RunStatus, RunTrigger
from ledger.values.categories import Category


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        # CONTRACT.md, "Records in (push)" and RULES.md, "Hour categories (科目)".
        (Category, ["specialised", "industry_public", "general_public"]),
        # CONTRACT.md, "Callers and credentials".
        (Role, ["platform", "filing", "admin"]),
        # CONTRACT.md, "Attestations out": the status endpoint's words.
        (AttestationState, ["valid", "stale", "revoked"]),
        # CONTRACT.md: EdDSA or ES256, never HS*.
        (SigningAlgorithm, ["EdDSA", "ES256"]),
        # CONTRACT.md, "Sources and sync": city, province_industry, ...
        (SourceKind, ["city", "province_industry", "province", "other"]),
    ],
)
def test_the_contracts_words_are_the_values(words: type[enum.StrEnum], expected: list[str]) -> None:
    assert [w.value for w in words] == expected


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (RuleKind, ["minimum", "informational"]),
        (Per, ["year", "window"]),
        (Cutoff, ["on_or_before", "before"]),
        (IndustryManaged, ["has_entries", "on_request"]),
        (IndustryDecidedBy, ["profile", "request"]),
        (KeyStatus, ["active", "verify-only", "retired"]),
        (AttestationEventKind, ["issued", "stale", "revoked"]),
        (RecordStatus, ["active", "reversed"]),
        (RunStatus, ["running", "succeeded", "failed"]),
        (RunTrigger, ["manual", "scheduler", "import"]),
        (EntryKind, ["credit", "reversal"]),
    ],
)
def test_stored_and_configured_words_are_unchanged(
    words: type[enum.StrEnum], expected: list[str]
) -> None:
    # Profiles, pull configurations and database rows written before hold these words.
    assert [w.value for w in words] == expected
