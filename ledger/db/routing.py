"""Where a read goes: the primary, or a streaming replica that is up and close enough behind.

The one place that decides (docs/architecture.md, "Reads on replicas"). A caller that only reads
and need not see its own latest write asks :meth:`ReadRouter.choose`; every replica is checked
at most once per ``check_every`` seconds (is it in recovery, how far behind its replay is, in
seconds and, when a byte bound is set, in bytes of WAL behind the primary), and one that is down,
promoted, or behind the bound is skipped. When no replica qualifies the primary answers. A
caller that wrote a moment ago passes the LSN its write left on the primary (``after_lsn``): only
a replica that has replayed that far may answer it. Writes never come here: they use the
primary's engine as always.

Lag in seconds is measured as PostgreSQL's monitoring guide does: zero when the replica has
replayed everything it received, else the age of the last transaction it replayed (so an idle
primary does not look like lag, and a paused or stuck replay does).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

PRIMARY = "primary"
CHECK_EVERY_SECONDS = 1.0
"""How long a replica's measured state is trusted before it is measured again."""

_REPLICA_STATE = text(
    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text,"
    " CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
    " ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END"
)
_PRIMARY_LSN = text("SELECT pg_current_wal_insert_lsn()::text")


def parse_lsn(value: str) -> int:
    """An LSN as PostgreSQL writes it (``16/B374D848``) as one integer (bytes of WAL).

    Raises:
        ValueError: ``value`` is not an LSN.
    """
    high, _, low = value.partition("/")
    if not low:
        raise ValueError(f"not an LSN: {value!r}")
    return (int(high, 16) << 32) | int(low, 16)


@dataclass(frozen=True, slots=True)
class ReplicaState:
    """What the last check of one replica found (``up`` false: it could not be reached)."""

    name: str
    up: bool
    in_recovery: bool = False
    replay_lsn: int | None = None
    lag_seconds: float | None = None
    lag_bytes: int | None = None
    checked_at: float = 0.0


@dataclass(frozen=True, slots=True)
class Choice:
    """Where one read goes (``target`` is ``primary`` or a replica's name), and which replicas
    were passed over and why (``down``, ``lag``, ``not-replica``, ``behind-write``)."""

    target: str
    engine: Engine
    skipped: tuple[tuple[str, str], ...] = ()

    @property
    def on_replica(self) -> bool:
        """Whether the read goes to a replica."""
        return self.target != PRIMARY


class ReadRouter:
    """Chooses the server for each read among the primary and its replicas (thread-safe).

    Replicas are named ``replica1``, ``replica2``... in the order given (never by URL: a URL may
    hold a password). ``on_state`` is told every fresh measurement (the API's lag gauges).
    """

    def __init__(
        self,
        primary: Engine,
        replicas: Sequence[Engine],
        *,
        max_lag_seconds: float,
        max_lag_bytes: int | None = None,
        check_every: float = CHECK_EVERY_SECONDS,
        on_state: Callable[[ReplicaState], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary = primary
        self.replicas = {f"replica{i}": engine for i, engine in enumerate(replicas, 1)}
        self.max_lag_seconds = max_lag_seconds
        self.max_lag_bytes = max_lag_bytes
        self.check_every = check_every
        self._on_state = on_state
        self._clock = clock
        self._states: dict[str, ReplicaState] = {}
        self._lock = threading.Lock()
        self._turn = itertools.count()

    def choose(self, *, after_lsn: int | None = None) -> Choice:
        """The server for one read: a replica that qualifies (in turn, when several do), else
        the primary. ``after_lsn``: the replica must have replayed at least that far."""
        self._refresh_due()
        usable: list[str] = []
        skipped: list[tuple[str, str]] = []
        for name in self.replicas:
            reason = self._unfit(self._states[name], after_lsn)
            if reason is None:
                usable.append(name)
            else:
                skipped.append((name, reason))
        if not usable:
            return Choice(PRIMARY, self.primary, tuple(skipped))
        name = usable[next(self._turn) % len(usable)]
        return Choice(name, self.replicas[name], tuple(skipped))

    def mark_down(self, name: str) -> None:
        """Note that ``name`` failed a read: skip it until its next check finds it back."""
        if name in self.replicas:
            with self._lock:
                self._states[name] = ReplicaState(name, up=False, checked_at=self._clock())

    def dispose(self) -> None:
        """Close every replica's pooled connections (the primary's engine is the caller's)."""
        for engine in self.replicas.values():
            engine.dispose()

    def states(self) -> list[ReplicaState]:
        """The last measured state of every replica (measuring those never measured)."""
        self._refresh_due()
        return [self._states[name] for name in self.replicas]

    def _unfit(self, state: ReplicaState, after_lsn: int | None) -> str | None:
        if not state.up:
            return "down"
        if not state.in_recovery:
            return "not-replica"  # promoted: the operator must make it the primary first
        if state.lag_seconds is not None and state.lag_seconds > self.max_lag_seconds:
            return "lag"
        if (
            self.max_lag_bytes is not None
            and state.lag_bytes is not None
            and state.lag_bytes > self.max_lag_bytes
        ):
            return "lag"
        if after_lsn is not None and (state.replay_lsn is None or state.replay_lsn < after_lsn):
            return "behind-write"
        return None

    def _refresh_due(self) -> None:
        now = self._clock()
        due = [
            name
            for name in self.replicas
            if name not in self._states or now - self._states[name].checked_at >= self.check_every
        ]
        if not due:
            return
        # One thread measures; the others go on with the last state (first use waits).
        blocking = any(name not in self._states for name in due)
        if not self._lock.acquire(blocking=blocking):
            return
        try:
            primary_lsn = self._primary_lsn() if self.max_lag_bytes is not None else None
            for name in due:
                state = self._measure(name, primary_lsn)
                self._states[name] = state
                if self._on_state is not None:
                    self._on_state(state)
        finally:
            self._lock.release()

    def _primary_lsn(self) -> int | None:
        try:
            with self.primary.connect() as conn:
                value = conn.execute(_PRIMARY_LSN).scalar_one()
        except SQLAlchemyError:
            return None  # the primary is down: the byte bound cannot be judged, time still can
        return parse_lsn(str(value))

    def _measure(self, name: str, primary_lsn: int | None) -> ReplicaState:
        try:
            with self.replicas[name].connect() as conn:
                in_recovery, replay, lag = conn.execute(_REPLICA_STATE).one()
        except SQLAlchemyError:
            return ReplicaState(name, up=False, checked_at=self._clock())
        replay_lsn = parse_lsn(replay) if replay else None
        lag_bytes = None
        if primary_lsn is not None and replay_lsn is not None:
            lag_bytes = max(primary_lsn - replay_lsn, 0)
        return ReplicaState(
            name,
            up=True,
            in_recovery=bool(in_recovery),
            replay_lsn=replay_lsn,
            lag_seconds=float(lag) if lag is not None else None,
            lag_bytes=lag_bytes,
            checked_at=self._clock(),
        )


PRIMARY_LSN_SQL = _PRIMARY_LSN
"""The statement that reads the primary's WAL insert position: a write's fence, which a replica
must have replayed before it may answer the writer."""


class RecentWrites:
    """Callers that wrote a moment ago, each with the primary's LSN after its write.

    Kept in this process for ``seconds``, at most ``limit`` callers (the oldest forgotten
    first). ``lsn`` ``None``: the position could not be read; the caller reads from the primary
    until the time is up.
    """

    def __init__(
        self, seconds: float, *, limit: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds = seconds
        self.limit = limit
        self._clock = clock
        self._writes: OrderedDict[str, tuple[int | None, float]] = OrderedDict()
        self._lock = threading.Lock()

    def note(self, caller: str, lsn: int | None) -> None:
        """Remember that ``caller`` wrote, leaving the primary at ``lsn``."""
        with self._lock:
            self._writes.pop(caller, None)
            self._writes[caller] = (lsn, self._clock())
            while len(self._writes) > self.limit:
                self._writes.popitem(last=False)

    def fence(self, caller: str) -> tuple[bool, int | None]:
        """``(True, lsn)`` when ``caller`` wrote within the time (``lsn`` None: primary only),
        else ``(False, None)``."""
        with self._lock:
            found = self._writes.get(caller)
            if found is None:
                return False, None
            lsn, at = found
            if self._clock() - at > self.seconds:
                del self._writes[caller]
                return False, None
            return True, lsn
