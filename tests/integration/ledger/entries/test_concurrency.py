"""Eight writers racing with overlapping batches leave exactly one entry per record."""

from __future__ import annotations

import random
import threading
from collections import Counter

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from ledger.entries.append import append_records
from ledger.entries.audit import verify_ledger
from ledger.entries.tables import Entry
from tests.factories import city_source, record

WRITERS = 8
RECORDS = 240


def test_racing_writers_append_each_record_exactly_once(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as s:
        src = city_source(s)
    # Few people, so writers also race to create the same person and to extend the same chain.
    everything = [record(f"r{i}", person=i % 12, hours=str(1 + i % 5)) for i in range(RECORDS)]
    outcomes: list[tuple[str | None, str]] = []
    failures: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(WRITERS)

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        try:
            start.wait()
            with session_factory() as s:
                for _ in range(6):
                    batch = rng.sample(everything, 60)
                    results = append_records(s, src, batch, actor=f"writer-{seed}")
                    with lock:
                        outcomes.extend((r.external_id, r.status) for r in results)
        except BaseException as exc:  # reported below: a thread must not die silently
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not failures, failures
    assert len(outcomes) == WRITERS * 6 * 60

    created = Counter(ext for ext, status in outcomes if status == "created")
    assert all(n == 1 for n in created.values()), created.most_common(3)
    assert {status for _, status in outcomes} <= {"created", "duplicate"}
    with session_factory() as s, s.begin():
        per_record = Counter(s.scalars(sa.select(Entry.external_id)))
    assert set(per_record.values()) == {1}
    assert set(per_record) == set(created)
    with session_factory() as s:
        report = verify_ledger(s)
    assert report.ok, report.problems[:5]
