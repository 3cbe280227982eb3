"""The offline verifier against forged, altered, foreign and outdated tokens (no database)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from decimal import Decimal
from typing import Any

import jwt
import pytest

from ledger.attestations import signing_keys
from ledger.attestations.issuance import Evaluated
from ledger.attestations.tokens import (
    TOKEN_TYPE,
    ClaimsEncoder,
    build_claims,
    entries_digest,
    id_binding_hash,
    sign_claims,
)
from ledger.attestations.verification import VerificationCode, verify_token
from tests.factories import id_number

ISSUER = "https://cehours.test/"
NOW = dt.datetime(2025, 3, 1, 8, 0, tzinfo=dt.UTC)
APPLICANT = id_number(7)


def make_key(alg: str = "EdDSA") -> signing_keys.LoadedKey:
    private = signing_keys.generate_private_key(alg)
    return signing_keys.LoadedKey(
        signing_keys.thumbprint(signing_keys.public_jwk(private)), alg, private
    )


def jwks_of(*keys: signing_keys.LoadedKey, retired: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "keys": [
            {**signing_keys.public_jwk(k.private_key), "kid": k.kid, "alg": k.alg, "use": "sig"}
            for k in keys
        ],
        "retired": list(retired),
    }


EVALUATED = Evaluated(
    profile_id="r2-intermediate-2020",
    profile_version="1",
    profile_digest="ab" * 32,
    as_of=dt.date(2025, 2, 28),
    window={"years": [2023, 2024]},
    totals={"2024": {"specialised": Decimal("60.5")}},
    rules=[{"id": "r2", "passed": True, "required": Decimal("180"), "actual": Decimal("190.5")}],
    compliant=True,
    counted_entry_ids=[12, 3, 7],
    head_hash="cd" * 32,
    entry_count=9,
)


def claims(**changes: Any) -> dict[str, Any]:
    base = build_claims(
        jti="att_test",
        issuer=ISSUER,
        person_id="p_123",
        name="张三",
        id_number=APPLICANT,
        evaluated=EVALUATED,
        issued_at=NOW - dt.timedelta(days=1),
        expires_at=NOW + dt.timedelta(days=89),
        application_ref="2025-ZC-0001",
    )
    base.update(changes)
    return base


def b64(data: dict[str, Any]) -> str:
    return (
        base64.urlsafe_b64encode(json.dumps(data, cls=ClaimsEncoder).encode()).rstrip(b"=").decode()
    )


KEY = make_key()
JWKS = jwks_of(KEY)


def verify(token: str, jwks: dict[str, Any] = JWKS, **kw: Any) -> str:
    return verify_token(token, jwks, issuer=ISSUER, now=NOW, **kw).reason


@pytest.mark.parametrize("alg", ["EdDSA", "ES256"])
def test_a_genuine_token_verifies_with_its_claims(alg: str) -> None:
    key = make_key(alg)
    result = verify_token(
        sign_claims(claims(), key), jwks_of(key), issuer=ISSUER, id_number=APPLICANT, now=NOW
    )
    assert result.ok, result.message
    assert result.claims["sub"] == "p_123"
    assert result.claims["profile"] == {
        "id": "r2-intermediate-2020",
        "version": "1",
        "digest": "ab" * 32,
    }
    assert result.claims["totals"] == {"2024": {"specialised": "60.5"}}
    assert result.claims["entries"]["ids"] == [3, 7, 12]
    assert result.claims["entries"]["digest"] == entries_digest([12, 7, 3])
    assert result.claims["application_ref"] == "2025-ZC-0001"


@pytest.mark.parametrize("alg", ["EdDSA", "ES256"])
def test_tokens_are_standard_jws_that_plain_pyjwt_verifies_with_the_jwks(alg: str) -> None:
    key = make_key(alg)
    signed = claims_with_dates()
    token = sign_claims(signed, key)
    public = jwt.PyJWK(jwks_of(key)["keys"][0])
    decoded = jwt.decode(
        token, public, algorithms=[alg], issuer=ISSUER, options={"verify_exp": False}
    )
    # What went in, as any JSON encoder writes it: decimals as strings, dates in ISO form.
    assert decoded == json.loads(json.dumps(signed, cls=ClaimsEncoder))
    # ES256 signatures are the raw 64-byte r || s of RFC 7518, not OpenSSL's DER.
    assert len(base64.urlsafe_b64decode(token.split(".")[2] + "==")) == 64


def claims_with_dates() -> dict[str, Any]:
    return {**claims(), "extra": {"on": dt.date(2024, 5, 6), "hours": Decimal("1.5")}}


def test_claims_encode_decimals_as_strings_dates_in_iso_form_and_keep_unicode() -> None:
    token = sign_claims({**claims_with_dates(), "totals": {2024: Decimal("60.5")}}, KEY)
    payload = base64.urlsafe_b64decode(token.split(".")[1] + "==")
    decoded = json.loads(payload)
    assert decoded["extra"] == {"on": "2024-05-06", "hours": "1.5"}
    assert decoded["totals"] == {"2024": "60.5"}
    assert decoded["name"] == "张三"


def test_header_carries_kid_and_typ() -> None:
    header = jwt.get_unverified_header(sign_claims(claims(), KEY))
    assert header == {"alg": "EdDSA", "kid": KEY.kid, "typ": TOKEN_TYPE}


def test_token_never_carries_the_id_number_in_clear() -> None:
    token = sign_claims(claims(), KEY)
    payload = jwt.decode(token, options={"verify_signature": False})
    assert APPLICANT not in json.dumps(payload)
    assert payload["id_number_masked"] == APPLICANT[:6] + "********" + APPLICANT[-4:]
    salt = payload["id_binding"]["salt"]
    assert payload["id_binding"]["hash"] == id_binding_hash(salt, APPLICANT)


def test_each_token_gets_its_own_id_binding_salt() -> None:
    assert claims()["id_binding"]["salt"] != claims()["id_binding"]["salt"]


def test_attack_alg_none_is_wrong_alg() -> None:
    header = {"alg": "none", "typ": TOKEN_TYPE, "kid": KEY.kid}
    token = f"{b64(header)}.{b64(claims())}."
    assert verify(token) == VerificationCode.WRONG_ALG


def test_attack_hs256_signed_with_the_public_key_as_secret_is_wrong_alg() -> None:
    public = signing_keys.public_jwk(KEY.private_key)["x"].encode()
    header = {"alg": "HS256", "typ": TOKEN_TYPE, "kid": KEY.kid}
    signing_input = f"{b64(header)}.{b64(claims())}"
    mac = hmac.new(public, signing_input.encode(), hashlib.sha256).digest()
    token = signing_input + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    assert verify(token) == VerificationCode.WRONG_ALG


def test_attack_es256_header_on_an_ed25519_key_is_wrong_alg() -> None:
    other = make_key("ES256")
    token = jwt.encode(
        claims(),
        other.private_key,
        algorithm="ES256",
        headers={"kid": KEY.kid, "typ": TOKEN_TYPE},
        json_encoder=ClaimsEncoder,
    )
    assert verify(token) == VerificationCode.WRONG_ALG


def test_attack_key_not_in_the_jwks_is_unknown_kid() -> None:
    assert verify(sign_claims(claims(), make_key())) == VerificationCode.UNKNOWN_KID


def test_attack_foreign_key_claiming_our_kid_is_bad_signature() -> None:
    intruder = make_key()
    forged = signing_keys.LoadedKey(KEY.kid, "EdDSA", intruder.private_key)
    assert verify(sign_claims(claims(), forged)) == VerificationCode.BAD_SIGNATURE


def test_attack_claim_changed_after_signing_is_bad_signature() -> None:
    header, payload, signature = sign_claims(claims(), KEY).split(".")
    doctored = json.loads(base64.urlsafe_b64decode(payload + "=="))
    doctored["compliant"] = not doctored["compliant"]
    doctored["totals"]["2024"]["specialised"] = "200.0"
    assert verify(f"{header}.{b64(doctored)}.{signature}") == VerificationCode.BAD_SIGNATURE


def test_attack_expired_token_is_expired() -> None:
    old = claims(exp=int((NOW - dt.timedelta(hours=1)).timestamp()))
    assert verify(sign_claims(old, KEY)) == VerificationCode.EXPIRED


def test_token_not_yet_valid() -> None:
    future = claims(nbf=int((NOW + dt.timedelta(hours=1)).timestamp()))
    assert verify(sign_claims(future, KEY)) == VerificationCode.NOT_YET_VALID


def test_attack_retired_kid_is_key_retired() -> None:
    token = sign_claims(claims(), KEY)
    assert verify(token, jwks_of(retired=(KEY.kid,))) == VerificationCode.KEY_RETIRED


def test_attack_another_persons_id_number_is_id_mismatch() -> None:
    token = sign_claims(claims(), KEY)
    assert verify(token, id_number=id_number(8)) == VerificationCode.ID_MISMATCH
    assert verify(token, id_number=APPLICANT.lower()) == VerificationCode.OK


def test_attack_stale_status_is_stale_and_revoked_is_revoked() -> None:
    token = sign_claims(claims(), KEY)
    assert verify(token, status={"jti": "att_test", "status": "stale"}) == VerificationCode.STALE
    assert (
        verify(token, status={"jti": "att_test", "status": "revoked"}) == VerificationCode.REVOKED
    )
    assert verify(token, status={"jti": "att_test", "status": "valid"}) == VerificationCode.OK


def test_status_of_another_attestation_or_nonsense_fails_closed() -> None:
    token = sign_claims(claims(), KEY)
    assert (
        verify(token, status={"jti": "att_other", "status": "valid"})
        == VerificationCode.STATUS_UNKNOWN
    )
    assert verify(token, status={"status": "fine"}) == VerificationCode.STATUS_UNKNOWN


def test_wrong_typ_and_wrong_issuer() -> None:
    plain = jwt.encode(
        claims(),
        KEY.private_key,
        algorithm="EdDSA",
        headers={"kid": KEY.kid, "typ": "JWT"},
        json_encoder=ClaimsEncoder,
    )
    assert verify(plain) == VerificationCode.WRONG_TYP
    assert (
        verify(sign_claims(claims(iss="https://evil.example/"), KEY))
        == VerificationCode.WRONG_ISSUER
    )


@pytest.mark.parametrize("claim", ["exp", "iat", "iss", "jti", "sub", "nbf"])
def test_missing_required_claim_fails(claim: str) -> None:
    incomplete = claims()
    del incomplete[claim]
    assert verify(sign_claims(incomplete, KEY)) == VerificationCode.MISSING_CLAIM


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "....", "eyJhbGciOiJFZERTQSJ9.e30"])
def test_garbage_is_malformed(token: str) -> None:
    assert verify(token) == VerificationCode.MALFORMED


@pytest.mark.parametrize(
    "header",
    [
        b64({"alg": "EdDSA", "typ": TOKEN_TYPE}) + "=",  # padded
        "eyJhbGciOiJFZERTQSJ9+",  # outside the base64url alphabet
        "eyJhbGciOiJFZERTQSJ8",  # not canonical: trailing bits set
        base64.urlsafe_b64encode(b"[1, 2]").rstrip(b"=").decode(),  # not an object
        base64.urlsafe_b64encode(b"\xff\xfe").rstrip(b"=").decode(),  # not UTF-8 JSON
    ],
)
def test_a_header_pyjwt_would_not_read_is_malformed(header: str) -> None:
    _, payload, signature = sign_claims(claims(), KEY).split(".")
    assert verify(f"{header}.{payload}.{signature}") == VerificationCode.MALFORMED


def test_every_failure_has_its_own_reason() -> None:
    reasons = {
        verify(f"{b64({'alg': 'none', 'typ': TOKEN_TYPE, 'kid': KEY.kid})}.{b64(claims())}."),
        verify(sign_claims(claims(), make_key())),
        verify(
            sign_claims(claims(), signing_keys.LoadedKey(KEY.kid, "EdDSA", make_key().private_key))
        ),
        verify(sign_claims(claims(exp=int(NOW.timestamp()) - 3600), KEY)),
        verify(sign_claims(claims(), KEY), jwks_of(retired=(KEY.kid,))),
        verify(sign_claims(claims(), KEY), id_number=id_number(8)),
        verify(sign_claims(claims(), KEY), status={"status": "stale"}),
        verify(sign_claims(claims(), KEY), status={"status": "revoked"}),
    }
    assert len(reasons) == 8
    assert VerificationCode.OK not in reasons
