"""Signed attestations of compliance results (issue, status, staleness)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session


def mark_stale_for_entries(
    session: Session, entry_ids: Sequence[int], *, reason: str, actor: str
) -> int:
    """Mark every valid attestation that counted one of ``entry_ids`` as stale, in the caller's
    transaction. Returns how many changed.

    Attestations are not issued yet in this version of the ledger, so there is nothing to mark.
    """
    return 0
