"""Identity tokens: only the configured provider's asymmetric, unexpired tokens for us pass."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import jwt
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api.cli import main
from ledger.access.dev_identity import DEV_AUDIENCE, DEV_ISSUER, DevIdentityProvider
from ledger.access.identity import IdentityConfig, IdentityVerifier
from ledger.errors import IdentityConfigError, IdentityTokenError
from tests.factories import id_number

NUMBER = id_number(1)


def _pem(key: ec.EllipticCurvePrivateKey | Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture
def provider(tmp_path: Path) -> DevIdentityProvider:
    return DevIdentityProvider.from_directory(tmp_path)


@pytest.fixture
def verifier(provider: DevIdentityProvider) -> IdentityVerifier:
    return IdentityVerifier(provider.config())


def _claims(**overrides: object) -> dict[str, object]:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    claims: dict[str, object] = {
        "iss": DEV_ISSUER,
        "aud": DEV_AUDIENCE,
        "sub": "s-1",
        "iat": now,
        "exp": now + 600,
        "id_number": NUMBER,
        "name": "张三",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def test_a_token_from_the_configured_provider_gives_the_id_number_and_name(
    provider: DevIdentityProvider, verifier: IdentityVerifier
) -> None:
    identity = verifier.verify(provider.mint(NUMBER, "张三"))
    assert identity.id_number == NUMBER
    assert identity.name == "张三"
    assert identity.id_number_masked == NUMBER[:6] + "********" + NUMBER[-4:]
    assert NUMBER not in repr(identity)


def test_an_expired_token_is_refused(
    provider: DevIdentityProvider, verifier: IdentityVerifier
) -> None:
    old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    token = provider.mint(NUMBER, lifetime=dt.timedelta(minutes=5), now=old)
    with pytest.raises(IdentityTokenError, match="expired"):
        verifier.verify(token)


def test_a_token_signed_by_another_key_is_refused(
    verifier: IdentityVerifier, tmp_path: Path
) -> None:
    forger = DevIdentityProvider.from_directory(tmp_path / "forger")
    with pytest.raises(IdentityTokenError, match="signature"):
        verifier.verify(forger.mint(NUMBER))


def test_a_token_whose_claims_were_altered_is_refused(
    provider: DevIdentityProvider, verifier: IdentityVerifier
) -> None:
    header, _, signature = provider.mint(NUMBER).split(".")
    forged_payload = jwt.utils.base64url_encode(
        jwt.api_jws.json.dumps(_claims(id_number=id_number(2))).encode()
    ).decode()
    with pytest.raises(IdentityTokenError):
        verifier.verify(f"{header}.{forged_payload}.{signature}")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"iss": "https://elsewhere.example/"}, "another issuer"),
        ({"aud": "someone-else"}, "not meant for this service"),
        ({"exp": None}, "no exp claim"),
        ({"id_number": "123"}, "not a valid ID number"),
        ({"id_number": None}, "not a valid ID number"),
    ],
)
def test_tokens_with_wrong_or_missing_claims_are_refused(
    tmp_path: Path, overrides: dict[str, object], message: str
) -> None:
    key = Ed25519PrivateKey.generate()
    config = IdentityConfig(
        issuer=DEV_ISSUER, audience=DEV_AUDIENCE, algorithms=("EdDSA",), public_key_pem=_pem(key)
    )
    token = jwt.encode(_claims(**overrides), key, algorithm="EdDSA")
    with pytest.raises(IdentityTokenError, match=message):
        IdentityVerifier(config).verify(token)


def test_an_unsigned_token_is_refused(verifier: IdentityVerifier) -> None:
    token = jwt.encode(_claims(), None, algorithm="none")
    with pytest.raises(IdentityTokenError, match="algorithm"):
        verifier.verify(token)


def test_an_hmac_token_keyed_with_the_public_key_is_refused(
    provider: DevIdentityProvider, verifier: IdentityVerifier
) -> None:
    # The classic algorithm-confusion forgery: the verifier's public key used as an HMAC secret.
    secret = provider.public_key_pem().encode()
    token = jwt.api_jws.PyJWS().encode(
        jwt.api_jws.json.dumps(_claims()).encode(), secret.hex(), algorithm="HS256"
    )
    with pytest.raises(IdentityTokenError, match="algorithm"):
        verifier.verify(token)


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "x" * 20_000])
def test_malformed_tokens_are_refused(verifier: IdentityVerifier, token: str) -> None:
    with pytest.raises(IdentityTokenError):
        verifier.verify(token)


def test_refusals_never_repeat_the_id_number(verifier: IdentityVerifier, tmp_path: Path) -> None:
    forger = DevIdentityProvider.from_directory(tmp_path / "forger")
    with pytest.raises(IdentityTokenError) as caught:
        verifier.verify(forger.mint(NUMBER))
    assert NUMBER not in str(caught.value)


def test_an_es256_provider_configured_by_pem_is_accepted() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    config = IdentityConfig(
        issuer="https://idp.zj.example/",
        audience="cehours",
        algorithms=("ES256",),
        public_key_pem=_pem(key),
        id_claim="sfzh",
    )
    claims = _claims(iss="https://idp.zj.example/", aud="cehours", sfzh=NUMBER, id_number=None)
    token = jwt.encode(claims, key, algorithm="ES256")
    assert IdentityVerifier(config).verify(token).id_number == NUMBER


@pytest.mark.parametrize("algorithms", [("HS256",), ("none",), ("RS256", "HS512")])
def test_symmetric_or_no_signature_algorithms_cannot_be_configured(
    algorithms: tuple[str, ...],
) -> None:
    with pytest.raises(IdentityConfigError, match="only asymmetric"):
        IdentityConfig(
            issuer="i", audience="a", algorithms=algorithms, jwks_url="https://idp.example/jwks"
        )


def test_exactly_one_key_source_must_be_configured() -> None:
    with pytest.raises(IdentityConfigError, match="exactly one"):
        IdentityConfig(issuer="i", audience="a")
    with pytest.raises(IdentityConfigError, match="exactly one"):
        IdentityConfig(
            issuer="i", audience="a", jwks_url="https://idp.example/jwks", public_key_pem="x"
        )


def test_the_dev_provider_keeps_its_key_between_runs(tmp_path: Path) -> None:
    first = DevIdentityProvider.from_directory(tmp_path)
    second = DevIdentityProvider.from_directory(tmp_path)
    assert first.public_key_pem() == second.public_key_pem()
    assert (tmp_path / "dev-idp-key.pem").stat().st_mode & 0o077 == 0


def test_cehours_dev_idp_refuses_unless_enabled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CEHOURS_DEV_IDP", raising=False)
    monkeypatch.setenv("CEHOURS_VAR_DIR", str(tmp_path))
    result = CliRunner().invoke(main, ["dev-idp", "--demo"])
    assert result.exit_code == 2
    assert "disabled" in result.output


def test_cehours_dev_idp_mints_a_token_the_dev_configuration_accepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CEHOURS_DEV_IDP", "1")
    monkeypatch.setenv("CEHOURS_VAR_DIR", str(tmp_path))
    result = CliRunner().invoke(main, ["dev-idp", "--id-number", NUMBER, "--name", "张三"])
    assert result.exit_code == 0, result.output
    verifier = IdentityVerifier(DevIdentityProvider.from_directory(tmp_path).config())
    assert verifier.verify(result.output.strip()).name == "张三"
