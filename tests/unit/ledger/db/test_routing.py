"""ledger.db.routing with fake servers: which server a read goes to, and why."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from ledger.db.routing import PRIMARY, ReadRouter, RecentWrites, parse_lsn


class FakeServer:
    """Answers the router's state query (in recovery, replay LSN, lag) or refuses to connect."""

    def __init__(self, *, lag: float = 0.0, lsn: str = "0/100", recovery: bool = True) -> None:
        self.lag, self.lsn, self.recovery, self.up = lag, lsn, recovery, True
        self.checks = 0

    def connect(self) -> FakeServer:
        if not self.up:
            raise OperationalError("connect", {}, Exception("refused"))
        self.checks += 1
        return self

    def __enter__(self) -> FakeServer:
        return self

    def __exit__(self, *_: Any) -> None:
        return None

    def execute(self, statement: Any) -> FakeServer:
        self.statement = str(statement)
        return self

    def one(self) -> tuple[bool, str, float]:
        return self.recovery, self.lsn, self.lag

    def scalar_one(self) -> str:
        return self.lsn


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def router(*replicas: FakeServer, clock: Clock | None = None, **kwargs: Any) -> ReadRouter:
    options: dict[str, Any] = {"max_lag_seconds": 5.0, **kwargs}
    return ReadRouter(
        FakeServer(recovery=False, lsn="0/500"),  # type: ignore[arg-type]
        list(replicas),  # type: ignore[arg-type]
        clock=clock or Clock(),
        **options,
    )


def test_lsns_are_read_as_bytes_of_wal() -> None:
    assert parse_lsn("0/0") == 0
    assert parse_lsn("16/B374D848") == (0x16 << 32) | 0xB374D848
    with pytest.raises(ValueError, match="not an LSN"):
        parse_lsn("B374D848")


def test_a_replica_within_the_bound_answers_and_replicas_take_turns() -> None:
    one, two = FakeServer(lag=0.5), FakeServer()
    r = router(one, two)
    chosen = [r.choose().target for _ in range(4)]
    assert sorted(set(chosen)) == ["replica1", "replica2"]


def test_a_replica_behind_the_bound_is_skipped_for_the_primary() -> None:
    choice = router(FakeServer(lag=9.0)).choose()
    assert choice.target == PRIMARY
    assert choice.skipped == (("replica1", "lag"),)


def test_the_byte_bound_measures_against_the_primary() -> None:
    behind = FakeServer(lsn="0/100")  # the primary is at 0/500: 0x400 bytes behind
    assert router(behind, max_lag_bytes=0x3FF).choose().skipped == (("replica1", "lag"),)
    assert router(FakeServer(lsn="0/100"), max_lag_bytes=0x400).choose().target == "replica1"


def test_a_promoted_server_is_not_read_as_a_replica() -> None:
    choice = router(FakeServer(recovery=False)).choose()
    assert (choice.target, choice.skipped) == (PRIMARY, (("replica1", "not-replica"),))


def test_a_down_replica_is_skipped_until_a_later_check_finds_it_back() -> None:
    clock, replica = Clock(), FakeServer()
    replica.up = False
    r = router(replica, clock=clock, check_every=1.0)
    assert r.choose().skipped == (("replica1", "down"),)
    replica.up = True
    assert r.choose().target == PRIMARY  # the state is trusted for check_every
    clock.now += 1.0
    assert r.choose().target == "replica1"


def test_a_replica_marked_down_after_a_failed_read_is_skipped_until_rechecked() -> None:
    clock, replica = Clock(), FakeServer()
    r = router(replica, clock=clock)
    assert r.choose().target == "replica1"
    r.mark_down("replica1")
    assert r.choose().target == PRIMARY
    clock.now += 1.0
    assert r.choose().target == "replica1"


def test_states_are_measured_at_most_once_per_interval() -> None:
    clock, replica = Clock(), FakeServer()
    r = router(replica, clock=clock, check_every=1.0)
    for _ in range(10):
        r.choose()
    assert replica.checks == 1
    clock.now += 1.5
    r.choose()
    assert replica.checks == 2


def test_a_caller_after_its_write_needs_a_replica_that_replayed_it() -> None:
    r = router(FakeServer(lsn="0/300"))
    assert r.choose(after_lsn=parse_lsn("0/300")).target == "replica1"
    choice = r.choose(after_lsn=parse_lsn("0/301"))
    assert (choice.target, choice.skipped) == (PRIMARY, (("replica1", "behind-write"),))


def test_recent_writes_are_kept_for_their_time_and_bounded_in_number() -> None:
    clock = Clock()
    writes = RecentWrites(30.0, limit=2, clock=clock)
    writes.note("a", 10)
    writes.note("b", None)
    assert writes.fence("a") == (True, 10)
    assert writes.fence("b") == (True, None)
    writes.note("c", 30)  # "a" is the oldest noted: forgotten
    assert writes.fence("a") == (False, None)
    clock.now += 31
    assert writes.fence("c") == (False, None)
