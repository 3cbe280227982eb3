"""Identity tokens: only the configured provider's asymmetric, unexpired tokens for us pass."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import jwt
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from api.cli import main
from ledger.access.dev_identity import DEV_AUDIENCE, DEV_ISSUER, DevIdentityProvider
from ledger.access.identity import IdentityConfig, IdentityVerifier
from ledger.errors import IdentityConfigError, IdentityTokenError
from tests.factories import id_number

NUMBER = id_number(1)


def _pem(key: ec.EllipticCurvePrivateKey | Ed25519PrivateKey | rsa.RSAPrivateKey) -> str:
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


# ---- tokens that do not fit the key, and extreme claims: a reason, never a crash ----------


def _b64(data: bytes) -> str:
    return jwt.utils.base64url_encode(data).decode()


def _signed(key: Ed25519PrivateKey, header: object, claims: object) -> str:
    """A JWS whose header and claims are exactly what is given (any JSON, NaN and Infinity
    included), with a genuine Ed25519 signature by ``key``."""
    signing_input = ".".join(
        _b64(json.dumps(part, allow_nan=True).encode()) for part in (header, claims)
    )
    return f"{signing_input}.{_b64(key.sign(signing_input.encode()))}"


def _rsa_config() -> tuple[rsa.RSAPrivateKey, IdentityConfig]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    config = IdentityConfig(
        issuer=DEV_ISSUER,
        audience=DEV_AUDIENCE,
        public_key_pem=_pem(key),  # default algorithms
    )
    return key, config


@pytest.mark.parametrize("alg", ["ES256", "EdDSA", "PS256"])
def test_a_token_of_another_algorithm_family_than_the_key_is_refused_by_name(alg: str) -> None:
    # The configuration allows RS256, ES256 and EdDSA; the provider's key is RSA. An ES256 or
    # EdDSA token cannot have been signed by it (PyJWT used to crash on the mismatch: a 500).
    key, config = _rsa_config()
    config = IdentityConfig(
        issuer=config.issuer,
        audience=config.audience,
        algorithms=("RS256", "ES256", "EdDSA", "PS256"),
        public_key_pem=config.public_key_pem,
    )
    header = {"alg": alg, "typ": "JWT"}
    token = _signed(Ed25519PrivateKey.generate(), header, _claims())
    if alg == "PS256":  # of the key's family: it is only the signature that is wrong
        with pytest.raises(IdentityTokenError, match=r"signature|malformed"):
            IdentityVerifier(config).verify(token)
        return
    with pytest.raises(IdentityTokenError, match=rf"algorithm \({alg}\) does not fit"):
        IdentityVerifier(config).verify(token)
    assert IdentityVerifier(config).verify(jwt.encode(_claims(), key, algorithm="RS256"))


def test_an_ed25519_provider_refuses_rs256_tokens_even_if_rs256_is_configured() -> None:
    key = Ed25519PrivateKey.generate()
    config = IdentityConfig(
        issuer=DEV_ISSUER,
        audience=DEV_AUDIENCE,
        algorithms=("RS256", "EdDSA"),
        public_key_pem=_pem(key),
    )
    token = _signed(key, {"alg": "RS256"}, _claims())
    with pytest.raises(IdentityTokenError, match=r"algorithm \(RS256\) does not fit"):
        IdentityVerifier(config).verify(token)


def test_a_key_that_fits_no_configured_algorithm_is_a_configuration_error() -> None:
    config = IdentityConfig(
        issuer="i",
        audience="a",
        algorithms=("RS256",),
        public_key_pem=_pem(Ed25519PrivateKey.generate()),
    )
    with pytest.raises(IdentityConfigError, match="fits none of the configured algorithms"):
        IdentityVerifier(config)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"exp": 10**12}, "too far ahead"),  # the year 33658
        ({"exp": 253402300799}, "too far ahead"),  # 9999-12-31 (+ leeway overflowed: a 500)
        ({"exp": 10**30}, "too far ahead"),
        ({"exp": float("inf")}, "exp claim is not a number"),
        ({"exp": float("nan")}, "exp claim is not a number"),
        ({"exp": "4102444800"}, "exp claim is not a number"),
        ({"exp": True}, "exp claim is not a number"),
        ({"exp": [1]}, "exp claim is not a number"),
        ({"iat": 10**30}, "not valid yet"),
        ({"iat": float("inf")}, "malformed"),
        ({"iat": "now"}, "malformed"),
        ({"iat": "1700000000"}, "iat claim is not a number"),
        ({"nbf": 10**30}, "not valid yet"),
        ({"nbf": float("-inf")}, "malformed"),
        ({"nbf": {"a": 1}}, "malformed"),
        ({"aud": ["x", 1]}, "not meant for this service"),
        ({"iss": 12}, "another issuer"),
        ({"id_number": 110105194912310021}, "not a valid ID number"),
        ({"id_number": "\ud800" * 18}, "not a valid ID number"),
    ],
)
def test_tokens_with_extreme_claims_are_refused_with_a_reason(
    overrides: dict[str, object], message: str
) -> None:
    key = Ed25519PrivateKey.generate()
    config = IdentityConfig(
        issuer=DEV_ISSUER, audience=DEV_AUDIENCE, algorithms=("EdDSA",), public_key_pem=_pem(key)
    )
    token = _signed(key, {"alg": "EdDSA"}, _claims(**overrides))
    with pytest.raises(IdentityTokenError, match=message):
        IdentityVerifier(config).verify(token)


def test_a_name_claim_that_is_not_a_showable_name_is_left_out() -> None:
    key = Ed25519PrivateKey.generate()
    config = IdentityConfig(
        issuer=DEV_ISSUER, audience=DEV_AUDIENCE, algorithms=("EdDSA",), public_key_pem=_pem(key)
    )
    for name in ("\ud800", "a\nb", "x" * 101, 12):
        token = _signed(key, {"alg": "EdDSA"}, _claims(name=name))
        assert IdentityVerifier(config).verify(token).name is None


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(st.characters(exclude_categories=()), max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None, database=None)
@given(
    header=st.fixed_dictionaries(
        {},
        optional={
            "alg": st.sampled_from(["EdDSA", "RS256", "ES256", "HS256", "none"]) | _JSON,
            "kid": _JSON,
            "typ": _JSON,
            "crit": _JSON,
        },
    )
    | _JSON,
    claims=st.fixed_dictionaries(
        {},
        optional={name: _JSON | st.just(value) for name, value in _claims().items()},
    )
    | _JSON,
)
def test_any_signed_header_and_claims_give_an_identity_or_a_reason(
    header: object, claims: object
) -> None:
    key = Ed25519PrivateKey.generate()
    config = IdentityConfig(
        issuer=DEV_ISSUER,
        audience=DEV_AUDIENCE,
        algorithms=("EdDSA", "RS256", "ES256"),
        public_key_pem=_pem(key),
    )
    verifier = IdentityVerifier(config)
    outcome: object
    try:
        outcome = verifier.verify(_signed(key, header, claims))
    except IdentityTokenError as exc:
        outcome = str(exc)
    # Either an identity, or a refusal that says why (never another exception: a 500).
    assert not isinstance(outcome, str) or outcome.startswith("the identity token")


_VERIFIER = IdentityVerifier(
    IdentityConfig(
        issuer=DEV_ISSUER,
        audience=DEV_AUDIENCE,
        algorithms=("EdDSA",),
        public_key_pem=_pem(Ed25519PrivateKey.generate()),
    )
)


@settings(max_examples=300, deadline=None, database=None)
@given(
    token=st.text(st.characters(exclude_categories=()), max_size=200)
    | st.from_regex(
        r"[A-Za-z0-9_\-]{0,40}\.[A-Za-z0-9_\-]{0,40}\.[A-Za-z0-9_\-]{0,40}", fullmatch=True
    )
)
def test_any_text_as_a_token_is_refused_with_a_reason(token: str) -> None:
    with pytest.raises(IdentityTokenError):
        _VERIFIER.verify(token)
