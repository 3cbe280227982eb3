"""API clients and their keys (stored only as hashes), and replayable responses for idempotency.

A key is ``ceh_<prefix>_<secret>``: 32 random bytes from :mod:`secrets` behind a short random
prefix. Only the SHA-256 of the whole key is stored; a fast hash is enough because the key is
high-entropy (nothing to brute-force), and it lets a request find its client by one indexed
lookup. The prefix is not secret: it is stored in clear so that operators can tell keys apart.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.access.tables import Client
from ledger.db.transactions import read_transaction, write_transaction
from ledger.entries.tables import Source
from ledger.errors import NotFoundError, UnknownSourceError, ValidationError


class Role(enum.StrEnum):
    """What a client's key may do (CONTRACT.md, "Callers and credentials")."""

    PLATFORM = "platform"  # a learning platform: post and reverse its own source's records
    FILING = "filing"  # a filing system: look up people, evaluate, attest, read transcripts
    ADMIN = "admin"  # everything


KEY_SCHEME: Final = "ceh"


_KEY_SHAPE = re.compile(r"ceh_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """A client as shown to operators and to the request handling it (never the key)."""

    id: int
    name: str
    role: str
    source_id: str | None
    key_prefix: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None

    @property
    def active(self) -> bool:
        """Whether the key still authenticates."""
        return self.revoked_at is None


def _info(client: Client) -> ClientInfo:
    return ClientInfo(
        client.id,
        client.name,
        client.role,
        client.source_id,
        client.key_prefix,
        client.created_at,
        client.revoked_at,
    )


def hash_key(key: str) -> str:
    """The stored form of an API key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> tuple[str, str]:
    """Return a new API key and its non-secret display prefix."""
    prefix = f"{KEY_SCHEME}_{secrets.token_hex(4)}"
    return f"{prefix}_{secrets.token_urlsafe(32)}", prefix


def create_client(
    session: Session, *, name: str, role: str, source_id: str | None = None
) -> tuple[ClientInfo, str]:
    """Create a client and its key; the key is returned here and never again.

    A ``platform`` client is bound to exactly one source; ``filing`` and ``admin`` clients to none.

    Raises:
        ValidationError: a bad name or role, or a source given (or missing) for the role.
        UnknownSourceError: the source is not registered.
    """
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name or len(name) > 100 or any(ord(c) < 32 for c in name):
        errors["name"] = ["must be 1-100 printable characters"]
    if role not in tuple(Role):
        errors["role"] = [f"must be one of {', '.join(Role)}"]
    elif role == Role.PLATFORM and not source_id:
        errors["source_id"] = ["a platform client must be bound to a source"]
    elif role != Role.PLATFORM and source_id:
        errors["source_id"] = [f"a {role} client is not bound to a source"]
    if errors:
        raise ValidationError(errors)
    key, prefix = new_key()
    with write_transaction(session):
        if source_id is not None and session.get(Source, source_id) is None:
            raise UnknownSourceError(f"unknown source {source_id!r}")
        client = Client(
            name=name,
            role=role,
            source_id=source_id,
            key_hash=hash_key(key),
            key_prefix=prefix,
            created_at=dt.datetime.now(dt.UTC),
            revoked_at=None,
        )
        session.add(client)
        session.flush()
        info = _info(client)
    return info, key


def list_clients(session: Session) -> list[ClientInfo]:
    """Every client, revoked ones included, by id."""
    with read_transaction(session):
        return [_info(c) for c in session.scalars(select(Client).order_by(Client.id))]


def revoke_client(session: Session, client_id: int) -> ClientInfo:
    """Revoke a client's key at once. Revoking twice keeps the first revocation time.

    This process forgets every key it remembered (see :func:`authenticate`); another process
    that remembers the key refuses it once its ``max_age`` has passed.

    Raises:
        NotFoundError: no such client.
    """
    with write_transaction(session):
        client = session.get(Client, client_id)
        if client is None:
            raise NotFoundError(f"no client {client_id}")
        if client.revoked_at is None:
            client.revoked_at = dt.datetime.now(dt.UTC)
        info = _info(client)
    recent_keys.clear()
    return info


class _RecentKeys:
    """Keys that authenticated lately: (engine id, key hash) -> (client, when looked up).

    The engine's id keeps two databases in one process (tests) apart without holding on to
    the engine. Only active clients are kept, never a key's absence, so a new key works at
    once. Bounded: the oldest half goes when it is full. ``clock`` is injected so that a test
    can pass the time without sleeping (a sleeping test fails when the machine is slow).
    """

    def __init__(self, size: int = 4096, clock: Callable[[], float] = time.monotonic) -> None:
        self._items: dict[tuple[int, str], tuple[ClientInfo, float]] = {}
        self._size = size
        self._lock = threading.Lock()
        self.clock = clock

    def get(self, where: int, digest: str, max_age: float) -> ClientInfo | None:
        found = self._items.get((where, digest))
        if found is None or self.clock() - found[1] >= max_age:
            return None
        return found[0]

    def put(self, where: int, digest: str, client: ClientInfo) -> None:
        with self._lock:
            if len(self._items) >= self._size:
                for stale in list(self._items)[: self._size // 2]:
                    self._items.pop(stale, None)
            self._items[(where, digest)] = (client, self.clock())

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


recent_keys = _RecentKeys()
"""The keys this process authenticated lately (its ``clock`` may be replaced in tests)."""


def authenticate(session: Session, key: str, *, max_age: float = 0.0) -> ClientInfo | None:
    """Return the active client holding ``key``, or ``None`` (unknown, malformed or revoked).

    With ``max_age`` (seconds) a key this process authenticated less than that long ago is
    trusted without reading the database again, so a revocation made by another process (the
    ``cehours clients revoke`` command while a server runs) takes effect within ``max_age``.
    :func:`revoke_client` forgets every remembered key of its own process at once.
    """
    if not _KEY_SHAPE.fullmatch(key):
        return None
    digest = hash_key(key)
    where = id(session.get_bind())
    if max_age > 0:
        remembered = recent_keys.get(where, digest, max_age)
        if remembered is not None:
            return remembered
    with read_transaction(session):
        client = session.scalars(select(Client).where(Client.key_hash == digest)).one_or_none()
        if client is None or client.revoked_at is not None:
            return None
        info = _info(client)
    if max_age > 0:
        recent_keys.put(where, digest, info)
    return info
