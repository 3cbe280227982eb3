"""Signing keys in the database: create, rotate, retire, the published JWK Set, nothing in clear."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from ledger.attestations import jose, key_encryption, signing_keys, tables
from ledger.errors import SigningKeyError, UnknownSigningKeyError, ValidationError


@pytest.fixture(autouse=True)
def _no_waiting_for_other_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retiring a just-rotated key waits for other workers' caches; these tests have none.
    (The wait itself is held by test_retiring_returns_only_once_no_worker_can_still_sign...)"""
    monkeypatch.setattr(signing_keys, "_sleep", lambda seconds: None)


def test_first_key_is_active_and_published(session: Session, kek: bytes) -> None:
    key = signing_keys.create_key(session, kek, actor="ops@test")
    assert key.status == signing_keys.KeyStatus.ACTIVE
    assert key.alg == "EdDSA"
    published = signing_keys.get_jwks(session)
    assert [k["kid"] for k in published["keys"]] == [key.kid]
    assert published["keys"][0] == {
        **published["keys"][0],
        "kty": "OKP",
        "crv": "Ed25519",
        "alg": "EdDSA",
        "use": "sig",
    }
    assert "d" not in published["keys"][0]


def test_a_second_create_is_refused_rotate_instead(session: Session, kek: bytes) -> None:
    signing_keys.create_key(session, kek, actor="ops@test")
    with pytest.raises(SigningKeyError, match="rotate"):
        signing_keys.create_key(session, kek, actor="ops@test")


def test_private_key_is_not_stored_in_clear(session: Session, kek: bytes) -> None:
    key = signing_keys.create_key(session, kek, actor="ops@test")
    with session.begin():
        row = session.execute(text("SELECT * FROM signing_keys")).mappings().one()
    private = key_encryption.unseal(row["private_key_sealed"], kek, key.kid)
    from cryptography.hazmat.primitives.asymmetric import ed25519

    assert isinstance(private, ed25519.Ed25519PrivateKey)
    raw = private.private_bytes_raw()
    for value in row.values():
        assert raw.hex() not in str(value)
        assert jose.b64url(raw) not in str(value)


def test_rotation_keeps_the_old_key_published_until_its_tokens_expire(
    session: Session, kek: bytes
) -> None:
    old = signing_keys.create_key(session, kek, actor="ops@test")
    new, replaced = signing_keys.rotate_key(session, kek, actor="ops@test", alg="ES256")
    assert replaced is not None
    assert replaced.kid == old.kid
    assert replaced.status == signing_keys.KeyStatus.VERIFY_ONLY
    assert new.alg == "ES256"
    assert new.status == signing_keys.KeyStatus.ACTIVE
    assert replaced.publish_until is not None
    lifetime = signing_keys.token_lifetime()
    assert replaced.publish_until >= dt.datetime.now(dt.UTC) + lifetime - dt.timedelta(minutes=1)
    assert {k["kid"] for k in signing_keys.get_jwks(session)["keys"]} == {old.kid, new.kid}
    later = replaced.publish_until + dt.timedelta(seconds=1)
    after = signing_keys.get_jwks(session, now=later)
    assert [k["kid"] for k in after["keys"]] == [new.kid]
    assert after["retired"] == [old.kid]


def test_retiring_withdraws_a_key_at_once(session: Session, kek: bytes) -> None:
    old = signing_keys.create_key(session, kek, actor="ops@test")
    signing_keys.rotate_key(session, kek, actor="ops@test")
    retired = signing_keys.retire_key(session, old.kid, reason="laptop stolen", actor="ops@test")
    assert retired.status == signing_keys.KeyStatus.RETIRED
    assert not retired.published
    published = signing_keys.get_jwks(session)
    assert old.kid not in {k["kid"] for k in published["keys"]}
    assert published["retired"] == [old.kid]
    with pytest.raises(SigningKeyError, match="already retired"):
        signing_keys.retire_key(session, old.kid, reason="again", actor="ops@test")


def test_the_active_key_cannot_be_retired(session: Session, kek: bytes) -> None:
    key = signing_keys.create_key(session, kek, actor="ops@test")
    with pytest.raises(SigningKeyError, match="rotate"):
        signing_keys.retire_key(session, key.kid, reason="x", actor="ops@test")
    with pytest.raises(UnknownSigningKeyError):
        signing_keys.retire_key(session, "nope", reason="x", actor="ops@test")
    with pytest.raises(ValidationError):
        signing_keys.retire_key(session, key.kid, reason=" ", actor="ops@test")


def test_a_key_is_retired_with_the_same_reason_rule_as_a_revocation(
    session: Session, kek: bytes
) -> None:
    # One reason rule (ledger.values.texts): a retirement's reason, like a revocation's or a
    # reversal's, is at most 2,000 characters (retirements had no limit before) and is kept
    # without its surrounding spaces.
    old = signing_keys.create_key(session, kek, actor="ops@test")
    signing_keys.rotate_key(session, kek, actor="ops@test")
    with pytest.raises(ValidationError, match="at most 2000 characters"):
        signing_keys.retire_key(session, old.kid, reason="x" * 2001, actor="ops@test")
    retired = signing_keys.retire_key(session, old.kid, reason=" compromised \n", actor="ops")
    assert retired.retired_reason == "compromised"


def test_key_history_records_who_and_when(session: Session, kek: bytes) -> None:
    old = signing_keys.create_key(session, kek, actor="alice")
    signing_keys.rotate_key(session, kek, actor="bob")
    signing_keys.retire_key(session, old.kid, reason="routine", actor="carol")
    with session.begin():
        row = session.scalars(
            select(tables.SigningKey).where(tables.SigningKey.kid == old.kid)
        ).one()
        assert (row.created_by, row.rotated_by, row.retired_by) == ("alice", "bob", "carol")
        assert row.created_at <= row.rotated_at <= row.retired_at  # type: ignore[operator]
        assert row.retired_reason == "routine"


def test_ensure_active_key_creates_only_when_missing(session: Session, kek: bytes) -> None:
    first = signing_keys.ensure_active_key(session, kek, actor="dev")
    again = signing_keys.ensure_active_key(session, kek, actor="dev")
    assert first.kid == again.kid
    assert len(signing_keys.list_keys(session)) == 1


def test_no_active_key_means_no_signing(session: Session, kek: bytes) -> None:
    with pytest.raises(SigningKeyError, match="keys create"), session.begin():
        signing_keys.active_signing_key(session, kek)


def test_servers_creating_a_development_key_at_once_end_with_one(
    session_factory: sessionmaker[Session], kek: bytes
) -> None:
    barrier = threading.Barrier(4)

    def start() -> str:
        with session_factory() as own:
            barrier.wait()
            return signing_keys.ensure_active_key(own, kek, actor="dev").kid

    with ThreadPoolExecutor(4) as pool:
        kids = set(pool.map(lambda _: start(), range(4)))
    assert len(kids) == 1
    with session_factory() as own:
        assert [k.status for k in signing_keys.list_keys(own)] == [signing_keys.KeyStatus.ACTIVE]


def test_at_most_one_active_key_is_enforced_by_the_database(session: Session, kek: bytes) -> None:
    key = signing_keys.create_key(session, kek, actor="ops")
    with pytest.raises(sa.exc.IntegrityError), session.begin():
        session.execute(
            text(
                "INSERT INTO signing_keys (kid, alg, public_jwk, private_key_sealed, status,"
                " created_at, created_by) SELECT 'other', alg, public_jwk, private_key_sealed,"
                " status, created_at, created_by FROM signing_keys WHERE kid = :kid"
            ),
            {"kid": key.kid},
        )


def test_a_rotation_here_is_seen_at_once_and_one_elsewhere_within_the_ttl(
    session: Session, kek: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = signing_keys.create_key(session, kek, actor="ops")

    def active() -> str:
        with session.begin():
            return signing_keys.active_signing_key(session, kek).kid

    assert active() == first.kid
    second, _ = signing_keys.rotate_key(session, kek, actor="ops")
    assert active() == second.kid  # this process forgot the key it remembered
    # Another process rotating cannot tell this one: it goes on signing with the key it
    # remembers (which rotation keeps published) until ACTIVE_KEY_TTL has passed.
    monkeypatch.setattr(signing_keys, "forget_active_key", lambda: None)
    third, _ = signing_keys.rotate_key(session, kek, actor="elsewhere")
    assert active() == second.kid
    later = signing_keys._clock() + signing_keys.ACTIVE_KEY_TTL + 1
    monkeypatch.setattr(signing_keys, "_clock", lambda: later)
    assert active() == third.kid


def test_signing_keys_are_never_deleted(session: Session, kek: bytes, engine: sa.Engine) -> None:
    """Attestations name their key without a foreign key (migration 0007); the key stays."""
    key = signing_keys.create_key(session, kek, actor="ops")
    with (
        engine.connect() as conn,
        pytest.raises(sa.exc.DatabaseError, match=r"never deleted|DELETE"),
    ):
        conn.exec_driver_sql("DELETE FROM signing_keys")
    with (
        engine.connect() as conn,
        pytest.raises(sa.exc.DatabaseError, match=r"never change|UPDATE"),
    ):
        conn.exec_driver_sql("UPDATE signing_keys SET kid = 'other'")
    assert [k.kid for k in signing_keys.list_keys(session)] == [key.kid]


def test_retiring_returns_only_once_no_worker_can_still_sign_with_the_key(
    session: Session, kek: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker remembers the active key for ACTIVE_KEY_TTL. The operator rotates and retires
    # at once (a compromise): by the time `retire` returns, the worker must have let it go.
    now = [1000.0]
    waited: list[float] = []

    def sleep(seconds: float) -> None:
        waited.append(seconds)
        now[0] += seconds

    monkeypatch.setattr(signing_keys, "_clock", lambda: now[0])
    monkeypatch.setattr(signing_keys, "_sleep", sleep)
    compromised = signing_keys.create_key(session, kek, actor="ops")

    def worker_signs_with() -> str:
        with session.begin():
            return signing_keys.active_signing_key(session, kek).kid

    assert worker_signs_with() == compromised.kid
    # The rotation and retirement happen in another process: this one is not told.
    monkeypatch.setattr(signing_keys, "forget_active_key", lambda: None)
    replacement, _ = signing_keys.rotate_key(session, kek, actor="ops")
    assert worker_signs_with() == compromised.kid  # remembered, as rotation allows
    signing_keys.retire_key(session, compromised.kid, reason="key leaked", actor="ops")
    assert len(waited) == 1
    assert (
        signing_keys.ACTIVE_KEY_TTL
        < waited[0]
        <= (signing_keys.ACTIVE_KEY_TTL + signing_keys.RETIRE_MARGIN)
    )
    assert worker_signs_with() == replacement.kid


def test_retiring_a_key_rotated_long_ago_does_not_wait(
    session: Session, kek: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    waited: list[float] = []
    monkeypatch.setattr(signing_keys, "_sleep", waited.append)
    old = signing_keys.create_key(session, kek, actor="ops")
    signing_keys.rotate_key(session, kek, actor="ops")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=signing_keys.ACTIVE_KEY_TTL + 2)
    monkeypatch.setattr(signing_keys, "_now", lambda: later)
    signing_keys.retire_key(session, old.kid, reason="old", actor="ops")
    assert waited == []
