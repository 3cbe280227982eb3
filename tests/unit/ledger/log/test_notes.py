"""C2SP signed notes, checkpoints and cosignatures, against the Go reference's published note
(golang.org/x/mod/sumdb/note: the PeterNeumann key, text and signature)."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from ledger.log import notes

GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SEED = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")[1:]
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FF"
    "YC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def test_signing_reproduces_the_go_reference_note_byte_for_byte() -> None:
    key = ed25519.Ed25519PrivateKey.from_private_bytes(GO_SEED)
    assert notes.sign_note(GO_TEXT, "PeterNeumann", key) == GO_NOTE
    verifier = notes.Verifier(
        "PeterNeumann", notes.NOTE_ED25519, key.public_key().public_bytes_raw()
    )
    assert verifier.vkey() == GO_VKEY


def test_the_go_note_verifies_and_a_changed_one_does_not() -> None:
    verifier = notes.parse_vkey(GO_VKEY)
    assert notes.verify_note(GO_NOTE, verifier) == (GO_TEXT, [])
    with pytest.raises(notes.NoteError, match="does not verify"):
        notes.verify_note(GO_NOTE.replace("cryptography", "cryptographY"), verifier)


def test_a_note_signed_by_another_key_is_refused() -> None:
    other = ed25519.Ed25519PrivateKey.generate()
    forged = notes.sign_note(GO_TEXT, "PeterNeumann", other)
    with pytest.raises(notes.NoteError, match="not signed by"):
        notes.verify_note(forged, notes.parse_vkey(GO_VKEY))


@pytest.mark.parametrize(
    "vkey",
    [
        GO_VKEY.replace("c74f20a3", "c74f20a4"),  # key ID does not match
        "PeterNeumann+c74f20a3",
        GO_VKEY + "+x",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+ABpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # type 0x00
    ],
)
def test_malformed_verifier_keys_are_refused(vkey: str) -> None:
    with pytest.raises(notes.NoteError):
        notes.parse_vkey(vkey)


@pytest.mark.parametrize(
    "note",
    [
        GO_TEXT,  # no signatures
        GO_TEXT + "\n",
        GO_TEXT + "\n— PeterNeumann !!!\n",
        GO_TEXT + "\nPeterNeumann x08go/ZJk=\n",
        GO_TEXT.replace("\n", "\r\n") + "\n" + GO_NOTE.split("\n\n")[1],
    ],
)
def test_malformed_notes_are_refused(note: str) -> None:
    with pytest.raises(notes.NoteError):
        notes.verify_note(note, notes.parse_vkey(GO_VKEY))


def test_a_checkpoint_reads_back_as_written() -> None:
    checkpoint = notes.Checkpoint("cehours.example/log", 42, bytes(range(32)))
    text = checkpoint.text()
    assert text == f"cehours.example/log\n42\n{base64.b64encode(bytes(range(32))).decode()}\n"
    assert notes.parse_checkpoint(text) == checkpoint


@pytest.mark.parametrize(
    "text",
    [
        "origin\n42\n",
        "origin\n042\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "origin\n-1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "origin\n42\nAAAA\n",
        "origin\n42\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    ],
)
def test_malformed_checkpoints_are_refused(text: str) -> None:
    with pytest.raises(notes.NoteError):
        notes.parse_checkpoint(text)


def test_a_cosignature_verifies_with_its_witness_key_only() -> None:
    text = notes.Checkpoint("cehours.example/log", 7, bytes(32)).text()
    witness = ed25519.Ed25519PrivateKey.generate()
    line = notes.cosign(text, "audit.example/w1", witness, 1_700_000_000)
    _, (signature,) = notes.split_note(text + "\n" + line)
    verifier = notes.Verifier(
        "audit.example/w1", notes.COSIGNATURE_V1, witness.public_key().public_bytes_raw()
    )
    assert notes.parse_vkey(verifier.vkey()) == verifier
    assert notes.verify_cosignature(text, signature, verifier) == 1_700_000_000
    other = notes.Checkpoint("cehours.example/log", 8, bytes(32)).text()
    with pytest.raises(notes.NoteError):
        notes.verify_cosignature(other, signature, verifier)
    # A note key is not a cosignature key, even with the same public key.
    as_note_key = notes.Verifier("audit.example/w1", notes.NOTE_ED25519, verifier.public_key)
    with pytest.raises(notes.NoteError):
        notes.verify_cosignature(text, signature, as_note_key)


def test_a_verifier_key_whose_base64_holds_a_plus_reads_back() -> None:
    for _ in range(64):
        key = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes_raw()
        verifier = notes.Verifier("cehours.example/log", notes.NOTE_ED25519, key)
        if "+" in verifier.vkey().split("+", 2)[2]:
            assert notes.parse_vkey(verifier.vkey()) == verifier
            return
    pytest.fail("no key with a '+' in its base64 in 64 tries")
