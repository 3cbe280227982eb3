"""People: opaque person ids."""

from __future__ import annotations


def test_new_person_ids_are_opaque_and_distinct() -> None:
    from ledger.entries.people import new_person_ids

    ids = new_person_ids(500)
    assert len(set(ids)) == 500
    assert all(len(pid) == 26 and pid.startswith("p_") for pid in ids)
    assert all(int(pid[2:], 16) >= 0 for pid in ids)
