"""Signing keys in memory: RFC 7638 kids, sealing under the key-encryption key, KEK loading."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from jwcrypto import jwk as jwcrypto_jwk

from ledger.attestations import jose, key_encryption, signing_keys
from ledger.errors import KeyEncryptionKeyError, SigningKeyError, ValidationError


@pytest.mark.parametrize("alg", ["EdDSA", "ES256"])
def test_kid_is_the_rfc7638_thumbprint_an_independent_library_computes(alg: str) -> None:
    public = signing_keys.public_jwk(signing_keys.generate_private_key(alg))
    independent = jwcrypto_jwk.JWK(**public).thumbprint()
    assert signing_keys.thumbprint(public) == independent


def test_rfc7638_example_thumbprint() -> None:
    # The worked example of RFC 7638 section 3.1 is RSA; this is RFC 8037's Ed25519 example (A.3).
    jwk = {"crv": "Ed25519", "kty": "OKP", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    assert signing_keys.thumbprint(jwk) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_unknown_algorithm_is_refused() -> None:
    with pytest.raises(ValidationError):
        signing_keys.generate_private_key("HS256")


@pytest.mark.parametrize("alg", ["EdDSA", "ES256"])
def test_sealed_key_opens_with_its_kek_and_kid_only(alg: str) -> None:
    key = signing_keys.generate_private_key(alg)
    kek = key_encryption.parse_kek(key_encryption.new_kek_text())
    sealed = key_encryption.seal(key, kek, "kid-1")
    assert signing_keys.public_jwk(
        key_encryption.unseal(sealed, kek, "kid-1")
    ) == signing_keys.public_jwk(key)
    with pytest.raises(KeyEncryptionKeyError):
        key_encryption.unseal(
            sealed, key_encryption.parse_kek(key_encryption.new_kek_text()), "kid-1"
        )
    # Bound to its kid: a sealed key copied onto another row does not open.
    with pytest.raises(KeyEncryptionKeyError):
        key_encryption.unseal(sealed, kek, "kid-2")


@pytest.mark.parametrize(("alg", "other"), [("EdDSA", "ES256"), ("ES256", "EdDSA")])
def test_a_key_does_not_sign_under_another_algorithm(alg: str, other: str) -> None:
    loaded = signing_keys.LoadedKey("k", other, signing_keys.generate_private_key(alg))
    with pytest.raises(SigningKeyError):
        loaded.sign(b"data")


def test_sealed_key_does_not_contain_the_private_key_in_clear() -> None:
    key = signing_keys.generate_private_key("EdDSA")
    raw = key.private_bytes_raw()
    sealed = key_encryption.seal(key, key_encryption.parse_kek(key_encryption.new_kek_text()), "k")
    assert raw.hex() not in sealed
    assert jose.b64url(raw) not in sealed


@pytest.mark.parametrize("text", ["", "short", "A" * 60, "!" * 43])
def test_malformed_kek_is_refused(text: str) -> None:
    with pytest.raises(KeyEncryptionKeyError):
        key_encryption.parse_kek(text)


def test_kek_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    text = key_encryption.new_kek_text()
    monkeypatch.setenv(key_encryption.KEK_ENV, text)
    assert key_encryption.load_kek() == key_encryption.parse_kek(text)


def test_kek_file_readable_by_others_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "kek"
    path.write_text(key_encryption.new_kek_text())
    path.chmod(0o644)
    monkeypatch.delenv(key_encryption.KEK_ENV, raising=False)
    monkeypatch.setenv(key_encryption.KEK_FILE_ENV, str(path))
    with pytest.raises(KeyEncryptionKeyError, match="chmod 600"):
        key_encryption.load_kek()
    path.chmod(0o600)
    assert len(key_encryption.load_kek()) == 32


def test_without_configuration_the_kek_is_missing_outside_development(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(key_encryption.KEK_ENV, raising=False)
    monkeypatch.delenv(key_encryption.KEK_FILE_ENV, raising=False)
    with pytest.raises(KeyEncryptionKeyError, match=key_encryption.KEK_ENV):
        key_encryption.load_kek()


def test_development_kek_is_created_once_with_owner_only_permissions(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(key_encryption.KEK_ENV, raising=False)
    monkeypatch.delenv(key_encryption.KEK_FILE_ENV, raising=False)
    first = key_encryption.load_kek(dev_dir=tmp_path / "var")
    path = tmp_path / "var" / key_encryption.DEV_KEK_FILE
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert key_encryption.load_kek(dev_dir=tmp_path / "var") == first


@pytest.mark.parametrize("raw", ["0", "-3", "ten", "99999"])
def test_token_lifetime_must_be_sensible_days(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv(signing_keys.LIFETIME_ENV, raw)
    with pytest.raises(ValidationError):
        signing_keys.token_lifetime()
