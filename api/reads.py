"""Reads on replicas: the session a read-only view gets, and what happens when a replica fails.

A view decorated with :func:`replica_reads` may be answered from a streaming replica
(``READ_DATABASE_URL``); it takes its session from :func:`read_session`, which asks the app's
:class:`ledger.db.routing.ReadRouter` (the one place that decides) for a server once per
request. Every other view, authentication included (a revoked key must be refused at once, a
new one accepted at once), uses ``db_session()``: the primary.

Read-your-writes: after a request that may have written (any method but GET, HEAD, OPTIONS,
outside :func:`replica_reads` views) the primary's WAL position is remembered for its caller
(API client, or individual) for ``READ_YOUR_WRITES_SECONDS``; meanwhile that caller's reads go
to a replica only if it has replayed that far. The memory is each worker's own; a caller whose
next request lands on another worker is covered by the two fallbacks below, and by the lag
bound.

Fallbacks, each counted in ``cehours_db_read_fallbacks_total``: a replica that fails during a
read (stopped, a recovery conflict) is marked down and the view runs again on the primary; a
replica that answers "not found" (an attestation issued a moment ago, not yet replayed) is
asked again of the primary. When the primary fails too the usual 503 with ``Retry-After``
answers.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, Response, current_app, g, request
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from api import metrics
from api.db import db_session, ping_when_idle, statement_timeout
from ledger.db.engine import make_engine, make_session_factory
from ledger.db.routing import PRIMARY, PRIMARY_LSN_SQL, Choice, ReadRouter, RecentWrites, parse_lsn
from ledger.errors import NotFoundError

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger(__name__)
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def replica_urls(value: Any) -> list[str]:
    """``READ_DATABASE_URL`` as a list: comma-separated text, or a JSON list."""
    if not value:
        return []
    if isinstance(value, (list, tuple)):
        return [str(url).strip() for url in value if str(url).strip()]
    return [url.strip() for url in str(value).split(",") if url.strip()]


class Replicas:
    """The app's router, a session factory per replica and the recent writers."""

    def __init__(self, router: ReadRouter, recent: RecentWrites) -> None:
        self.router = router
        self.recent = recent
        self.sessions: dict[str, sessionmaker[Session]] = {
            name: make_session_factory(engine) for name, engine in router.replicas.items()
        }


def init_app(app: Flask, primary: Engine, engine_options: dict[str, Any]) -> None:
    """Build the replicas' engines and router when ``READ_DATABASE_URL`` names any."""
    urls = replica_urls(app.config.get("READ_DATABASE_URL"))
    if not urls:
        return
    pooler = bool(app.config.get("DB_TRANSACTION_POOLER"))
    engines = []
    for url in urls:
        # A stopped replica must not hold a request up: connecting gives up after 2 seconds.
        engine = make_engine(
            url,
            hide_parameters=True,
            transaction_pooler=pooler,
            connect_timeout=2,
            statement_timeout=statement_timeout(app.config),
            **{"pool_pre_ping": False, **engine_options},
        )
        ping_when_idle(engine, float(app.config.get("DB_PING_AFTER_IDLE_SECONDS", 10)))
        metrics.instrument_engine(engine)
        engines.append(engine)
    max_bytes = app.config.get("READ_MAX_LAG_BYTES")
    router = ReadRouter(
        primary,
        engines,
        max_lag_seconds=float(app.config["READ_MAX_LAG_SECONDS"]),
        max_lag_bytes=int(max_bytes) if max_bytes not in (None, "") else None,
        check_every=float(app.config["READ_CHECK_SECONDS"]),
        on_state=metrics.observe_replica,
    )
    recent = RecentWrites(float(app.config["READ_YOUR_WRITES_SECONDS"]))
    app.extensions["cehours_replicas"] = Replicas(router, recent)
    app.after_request(note_write)


def replicas(app: Flask | None = None) -> Replicas | None:
    """The app's :class:`Replicas`, or None when it has none."""
    found: Replicas | None = (app or current_app).extensions.get("cehours_replicas")
    return found


def caller_key() -> str | None:
    """Who is asking, for read-your-writes: the API client or the individual, if known."""
    client = g.get("client")
    if client is not None:
        return f"client:{client.id}"
    person = g.get("individual")
    if person is not None:
        return f"person:{person.person_id}"
    return None


def read_session() -> Session:
    """This request's session for reading: a replica's in a :func:`replica_reads` view when
    one qualifies, else the primary's (``db_session()``)."""
    found = replicas()
    if found is None or not g.get("replica_reads") or g.get("reads_on_primary"):
        return db_session()
    session: Session | None = g.get("read_session")
    if session is not None:
        return session
    choice = _choose(found)
    g.read_target = choice.target
    metrics.count_read(choice.target)
    for name, reason in choice.skipped:
        metrics.count_read_fallback(name, reason)
    if not choice.on_replica:
        return db_session()
    session = found.sessions[choice.target]()
    g.read_session = session
    return session


def _choose(found: Replicas) -> Choice:
    caller = caller_key()
    if caller is not None:
        fenced, lsn = found.recent.fence(caller)
        if fenced and lsn is None:
            return Choice(PRIMARY, found.router.primary, (("*", "own-write"),))
        if fenced:
            return found.router.choose(after_lsn=lsn)
    return found.router.choose()


def _drop_read_session() -> None:
    session = g.pop("read_session", None)
    if session is not None:
        session.close()


def replica_reads(view: F) -> F:
    """Let ``view`` read from a replica (its reads must use :func:`read_session`).

    Place it below the ``blp`` decorators and ``require_role``, like ``require_role``.
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.replica_reads = True
        try:
            return view(*args, **kwargs)
        except (SQLAlchemyError, NotFoundError) as exc:
            target = g.get("read_target")
            found = replicas()
            if found is None or target in (None, PRIMARY):
                raise
            if isinstance(exc, SQLAlchemyError):
                found.router.mark_down(target)
                reason = "error"
                log.warning("replica %s failed a read; the primary answers", target)
            else:
                reason = "not-found"
            metrics.count_read_fallback(target, reason)
            _drop_read_session()
            g.reads_on_primary = True
            metrics.count_read(PRIMARY)
            return view(*args, **kwargs)

    return cast(F, wrapper)


def note_write(response: Response) -> Response:
    """``after_request``: remember where the primary's WAL stands after a caller's write."""
    found = replicas()
    session = g.get("db_session")
    if (
        found is None
        or request.method in _SAFE_METHODS
        or g.get("replica_reads")
        or session is None
        or response.status_code >= 500
    ):
        return response
    caller = caller_key()
    if caller is None:
        return response
    lsn: int | None = None
    try:
        if not session.in_transaction():
            with session.begin():
                lsn = parse_lsn(str(session.execute(PRIMARY_LSN_SQL).scalar_one()))
    except (SQLAlchemyError, DBAPIError, ValueError):
        lsn = None  # unknown: the caller reads from the primary for the while
    found.recent.note(caller, lsn)
    return response
