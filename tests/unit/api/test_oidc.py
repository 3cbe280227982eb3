"""OpenID Connect sign-in: what is checked without a provider (tests/e2e/oidc uses a real one)."""

from __future__ import annotations

import pytest
from flask import Flask

from api import oidc
from api.settings import production_problems
from ledger.values.id_numbers import mask_id_number
from tests.factories import id_number

PG = "postgresql+psycopg://cehours@db/cehours"
GOOD = {
    "DATABASE_URL": PG,
    "OIDC_ISSUER": "https://id.example.gov.cn/oidc",
    "OIDC_CLIENT_ID": "cehours",
    "OIDC_CLIENT_SECRET_FILE": "/run/secrets/oidc",
}


def _app(**config: object) -> Flask:
    app = Flask("test")
    app.config.update({"SECRET_KEY": "k" * 40, "OIDC_ID_NUMBER_CLAIM": "sfzhm", **config})
    return app


def test_production_accepts_a_complete_provider_configuration() -> None:
    assert production_problems(GOOD, check_kek=False) == []


@pytest.mark.parametrize(
    ("missing", "problem"),
    [
        ("OIDC_CLIENT_ID", "without CEHOURS_OIDC_CLIENT_ID"),
        ("OIDC_CLIENT_SECRET_FILE", "without a client secret"),
    ],
)
def test_production_refuses_a_provider_without_our_registration(missing: str, problem: str) -> None:
    config = {k: v for k, v in GOOD.items() if k != missing}
    (found,) = production_problems(config, check_kek=False)
    assert problem in found


def test_production_refuses_a_provider_over_plain_http() -> None:
    config = {**GOOD, "OIDC_ISSUER": "http://id.example.gov.cn/oidc"}
    assert production_problems(config, check_kek=False) == ["CEHOURS_OIDC_ISSUER is not https://"]


def test_the_configured_claim_gives_the_id_number_and_name() -> None:
    number = id_number(3)
    with _app().app_context():
        identity = oidc._identity({"sub": "u1", "sfzhm": number, "name": "张三", "exp": 2})
    assert identity.id_number == number
    assert identity.id_number_masked == mask_id_number(number)
    assert identity.name == "张三"
    assert number not in repr(identity)


# 330802197001010038 with a wrong check character, a short number, other types.
@pytest.mark.parametrize("value", [None, "", "330802197001010039", "33080219700101", 12345, ["x"]])
def test_a_missing_or_invalid_id_number_claim_signs_nobody_in_and_is_not_repeated(
    value: object,
) -> None:
    claims = {"sub": "u1", "id_number": id_number(3), "sfzhm": value, "exp": 2}
    with _app().app_context(), pytest.raises(oidc.SignInRefused) as refused:
        oidc._identity(claims)
    assert refused.value.status == 401
    assert "sfzhm" in refused.value.message
    assert not (isinstance(value, str) and value and value in refused.value.message)


def test_the_id_token_kept_for_logout_is_encrypted_with_the_session_secret() -> None:
    token = "eyJhbGciOiJSUzI1NiJ9.eyJzZnpobSI6IjMzMDgwMiJ9.c2ln"
    with _app().app_context():
        sealed = oidc._fernet().encrypt(token.encode()).decode()
        assert oidc._fernet().decrypt(sealed.encode()).decode() == token
    assert token not in sealed
    assert "eyJ" not in sealed
    with _app(SECRET_KEY="another-secret" * 4).app_context(), pytest.raises(Exception):  # noqa: B017, PT011 (Fernet's InvalidToken)
        oidc._fernet().decrypt(sealed.encode())
