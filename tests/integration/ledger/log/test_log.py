"""The log on a real database: every entry a leaf in id order, proofs an independent
implementation accepts, signed checkpoints, and what ``ledger verify`` finds after tampering."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ledger.attestations import key_encryption
from ledger.entries.append import append_records
from ledger.entries.reversal import reverse_record
from ledger.entries.tables import Entry
from ledger.errors import LogError, LogKeyError, NotInLogError
from ledger.log import checkpoints, merkle, notes
from ledger.log.audit import verify_log
from ledger.log.proofs import prove_consistency, prove_inclusion
from ledger.log.sequencer import integrate
from tests import rfc6962_reference as ref
from tests.factories import city_source, record


@pytest.fixture
def kek() -> bytes:
    return key_encryption.parse_kek(key_encryption.new_kek_text())


def entry_leaves(session: Session) -> list[tuple[int, bytes]]:
    with session.begin():
        rows = session.execute(sa.select(Entry.id, Entry.hash).order_by(Entry.id)).all()
    return [(r.id, ref.leaf(bytes.fromhex(r.hash))) for r in rows]


def append(session: Session, source: str, first: int, n: int, person: int = 1) -> None:
    records = [record(f"r{i}", person=person + i % 3) for i in range(first, first + n)]
    append_records(session, source, records, actor="test")


def tamper(engine: Engine, table: str, statement: str) -> None:
    """Run ``statement`` past the append-only triggers (as an attacker with the database)."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            names = (
                conn.exec_driver_sql(
                    f"SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='{table}'"
                )
                .scalars()
                .all()
            )
            for name in names:
                conn.exec_driver_sql(f"DROP TRIGGER {name}")
        else:
            conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
        conn.exec_driver_sql(statement)


def test_every_entry_becomes_a_leaf_in_id_order_with_proofs_the_reference_accepts(
    session: Session,
) -> None:
    source = city_source(session)
    append(session, source, 0, 7)
    first = integrate(session)
    append(session, source, 7, 6)
    reverse_record(session, source, "r2", reason="registered twice", actor="test")
    second = integrate(session)
    leaves = entry_leaves(session)
    assert (first.tree_size, second.tree_size, second.added) == (7, 14, 7)
    hashes = [h for _, h in leaves]
    assert second.root_hash == ref.mth(hashes)
    for size in (first.tree_size, second.tree_size):
        for index, (entry_id, leaf) in enumerate(leaves[:size]):
            proof = prove_inclusion(session, entry_id, size)
            assert (proof.leaf_index, proof.leaf_hash) == (index, leaf)
            assert proof.hashes == ref.path(index, hashes[:size])
            assert ref.includes(index, size, leaf, proof.hashes, ref.mth(hashes[:size]))
    for old in range(1, 15):
        proof = prove_consistency(session, old, 14)
        assert proof.hashes == ref.proof(old, hashes)
        merkle.verify_consistency(old, 14, ref.mth(hashes[:old]), ref.mth(hashes), proof.hashes)
    assert integrate(session).added == 0


def test_proofs_for_sizes_and_entries_the_log_does_not_have_are_refused(session: Session) -> None:
    source = city_source(session)
    append(session, source, 0, 5)
    integrate(session)
    append(session, source, 5, 1)
    late = entry_leaves(session)[-1][0]
    with pytest.raises(NotInLogError):
        prove_inclusion(session, late, 5)
    with pytest.raises(NotInLogError):
        prove_inclusion(session, 999_999, 5)
    integrate(session)
    with pytest.raises(LogError, match="added after"):
        prove_inclusion(session, late, 5)
    for size in (0, 7, -1):
        with pytest.raises(LogError):
            prove_inclusion(session, late, size)
    for old, new in ((0, 3), (4, 3), (2, 7)):
        with pytest.raises(LogError):
            prove_consistency(session, old, new)
    assert prove_consistency(session, 6, 6).hashes == []


def test_publish_signs_a_checkpoint_when_the_tree_grew_and_only_then(
    session: Session, kek: bytes
) -> None:
    with pytest.raises(LogKeyError):
        checkpoints.publish(session, kek)
    verifier = checkpoints.create_log_key(session, kek, actor="ops@test")
    source = city_source(session)
    append(session, source, 0, 3)
    published = checkpoints.publish(session, kek)
    assert published.added == 3
    assert published.checkpoint is not None
    assert checkpoints.publish(session, kek).checkpoint is None
    note = checkpoints.checkpoint_note(session)
    text, others = notes.verify_note(note, notes.parse_vkey(verifier.vkey()))
    checkpoint = notes.parse_checkpoint(text)
    assert others == []
    assert (checkpoint.origin, checkpoint.tree_size) == (checkpoints.DEFAULT_ORIGIN, 3)
    assert checkpoint.root_hash == ref.mth([h for _, h in entry_leaves(session)])
    report = verify_log(session)
    assert report.ok, report.problems
    assert (report.leaves, report.checkpoints, report.pending) == (3, 1, 0)


def test_cosignatures_of_configured_witnesses_are_kept_and_served(
    session: Session, kek: bytes
) -> None:
    checkpoints.create_log_key(session, kek, actor="ops@test")
    append(session, city_source(session), 0, 2)
    checkpoints.publish(session, kek)
    note = checkpoints.checkpoint_note(session)
    text = notes.split_note(note)[0]
    witness = ed25519.Ed25519PrivateKey.generate()
    line = notes.cosign(text, "audit.example/w1", witness, 1_700_000_000)
    verifier = notes.Verifier(
        "audit.example/w1", notes.COSIGNATURE_V1, witness.public_key().public_bytes_raw()
    )
    with pytest.raises(LogError, match="no cosignature"):
        checkpoints.add_cosignatures(session, note + line, [])
    assert checkpoints.add_cosignatures(session, note + line, [verifier]) == (2, 1)
    assert checkpoints.add_cosignatures(session, note + line, [verifier]) == (2, 1)
    served = checkpoints.checkpoint_note(session)
    assert served == note + line
    forged = notes.cosign(text.replace("\n2\n", "\n3\n"), "audit.example/w1", witness, 1)
    with pytest.raises(LogError):
        checkpoints.add_cosignatures(session, note + forged, [verifier])


def test_verify_finds_an_entry_rewritten_with_its_chain_recomputed(
    session: Session, engine: Engine, kek: bytes
) -> None:
    checkpoints.create_log_key(session, kek, actor="ops@test")
    append(session, city_source(session), 0, 4)
    checkpoints.publish(session, kek)
    victim = entry_leaves(session)[1][0]
    # The attacker changes the hours and stores a hash as if the chain had been recomputed.
    tamper(
        engine,
        "entries",
        f"UPDATE entries SET hours = 990, hash = '{'ab' * 32}' WHERE id = {victim}",
    )
    problems = verify_log(session).problems
    assert any(f"(entry {victim}): the leaf hash is not the entry's" in p for p in problems)


def test_verify_finds_a_tree_truncated_and_regrown(
    session: Session, engine: Engine, kek: bytes
) -> None:
    checkpoints.create_log_key(session, kek, actor="ops@test")
    append(session, city_source(session), 0, 6)
    checkpoints.publish(session, kek)
    # The attacker rewrites the last entry (its chain hash recomputed), empties the log and
    # lets it grow again from the rewritten ledger: leaves, nodes and heads all agree again.
    last = entry_leaves(session)[-1][0]
    tamper(engine, "entries", f"UPDATE entries SET hash = '{'cd' * 32}' WHERE id = {last}")
    for table in ("log_leaves", "log_nodes", "log_heads"):
        tamper(engine, table, f"DELETE FROM {table}")
    assert integrate(session).tree_size == 6
    problems = verify_log(session).problems
    assert problems == [
        "checkpoint at size 6: the signed root is not the root of the log's leaves: the log "
        "was rewritten after it was signed"
    ]


def test_verify_finds_a_checkpoint_signed_by_another_key(
    session: Session, engine: Engine, kek: bytes
) -> None:
    checkpoints.create_log_key(session, kek, actor="ops@test")
    append(session, city_source(session), 0, 2)
    stored = checkpoints.publish(session, kek).checkpoint
    assert stored is not None
    other = ed25519.Ed25519PrivateKey.generate()
    text = notes.split_note(stored.note)[0]
    forged = notes.sign_note(text, checkpoints.DEFAULT_ORIGIN, other).replace("'", "''")
    tamper(engine, "log_checkpoints", f"UPDATE log_checkpoints SET note = '{forged}'")
    problems = verify_log(session).problems
    assert any("checkpoint at size 2: the note is not signed by" in p for p in problems)


def test_an_entry_left_out_of_the_log_is_found(session: Session, engine: Engine) -> None:
    append(session, city_source(session), 0, 3)
    integrate(session)
    tamper(engine, "log_leaves", "DELETE FROM log_leaves WHERE leaf_index = 2")
    problems = verify_log(session).problems
    assert any("left out of the log" in p for p in problems)


@pytest.mark.postgres
def test_concurrent_appends_and_integrations_leave_no_entry_out(
    pg_db_url: str, session_factory: sessionmaker[Session]
) -> None:
    from ledger.db.engine import make_engine, make_session_factory

    engine = make_engine(pg_db_url, pool_size=8)
    sessions = make_session_factory(engine)
    with sessions() as s:
        source = city_source(s)
    errors: list[BaseException] = []
    done = threading.Event()

    def writer(w: int) -> None:
        try:
            with sessions() as s:
                for batch in range(15):
                    first = w * 10_000 + batch * 20
                    records = [
                        record(f"w{i}", person=w * 50 + i % 7) for i in range(first, first + 20)
                    ]
                    append_records(s, source, records, actor="test")
        except BaseException as exc:  # reported below
            errors.append(exc)

    def integrator() -> None:
        try:
            with sessions() as s:
                while not done.is_set():
                    integrate(s)
        except BaseException as exc:
            errors.append(exc)

    writers = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
    sequencer = threading.Thread(target=integrator)
    sequencer.start()
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    done.set()
    sequencer.join()
    assert not errors
    with sessions() as s:
        integrate(s)
        report = verify_log(s)
    engine.dispose()
    assert report.ok, report.problems
    assert report.leaves == 3 * 15 * 20
    assert report.pending == 0


def test_since_checkpoint_verifies_only_what_came_after_the_last_sound_one(
    session: Session, engine: Engine, kek: bytes
) -> None:
    checkpoints.create_log_key(session, kek, actor="ops@test")
    source = city_source(session)
    append(session, source, 0, 5)
    checkpoints.publish(session, kek)
    assert verify_log(session).ok  # the full check records size 5 as sound
    append(session, source, 5, 4)
    checkpoints.publish(session, kek)
    report = verify_log(session, since_checkpoint=True)
    assert report.ok, report.problems
    assert (report.since, report.leaves) == (5, 4)
    # An entry after it, rewritten with its hash as if recomputed, is found.
    append(session, source, 9, 2)
    checkpoints.publish(session, kek)
    victim = entry_leaves(session)[-1][0]
    tamper(engine, "entries", f"UPDATE entries SET hours = 990 WHERE id = {victim}")
    problems = verify_log(session, since_checkpoint=True).problems
    assert any(f"entry {victim}: hash mismatch" in p for p in problems)


def test_since_checkpoint_refuses_a_log_rewritten_below_the_last_sound_size(
    session: Session, engine: Engine, kek: bytes
) -> None:
    checkpoints.create_log_key(session, kek, actor="ops@test")
    append(session, city_source(session), 0, 6)
    checkpoints.publish(session, kek)
    assert verify_log(session).ok
    zeros = (
        f"X'{'00' * 32}'" if engine.dialect.name == "sqlite" else f"decode('{'00' * 32}', 'hex')"
    )
    tamper(engine, "log_nodes", f"UPDATE log_nodes SET hash = {zeros} WHERE level = 2")
    problems = verify_log(session, since_checkpoint=True).problems
    assert any("has changed: the log was rewritten below it" in p for p in problems)
