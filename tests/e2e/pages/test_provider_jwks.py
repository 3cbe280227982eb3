"""A configured identity provider publishing a JWKS on its own server (RS256), as in production."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.e2e.pages.site import ME, Site, running_site

ISSUER = "https://idp.zj.example/"
AUDIENCE = "cehours-prod"


class FakeProvider:
    """The province's identity provider: an RSA key, its JWKS served on 127.0.0.1."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = {"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]}

    def token(
        self, *, kid: str = "k1", key: rsa.RSAPrivateKey | None = None, **claims: object
    ) -> str:
        now = dt.datetime.now(dt.UTC)
        body = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "u-1",
            "iat": int(now.timestamp()),
            "exp": int((now + dt.timedelta(minutes=5)).timestamp()),
            "sfzh": ME,
            "xm": "张三",
            **claims,
        }
        return jwt.encode(body, key or self.key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def provider() -> Iterator[tuple[FakeProvider, str]]:
    fake = FakeProvider()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(fake.jwks).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake, f"http://127.0.0.1:{server.server_port}/jwks.json"
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def configured(
    provider: tuple[FakeProvider, str],
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Site]:
    _, url = provider
    with running_site(
        sqlite_url,
        tmp_path / "var",
        monkeypatch,
        DEV_IDP=False,
        IDP_ISSUER=ISSUER,
        IDP_AUDIENCE=AUDIENCE,
        IDP_JWKS_URL=url,
        IDP_ALGORITHMS="RS256",
        IDP_ID_CLAIM="sfzh",
        IDP_NAME_CLAIM="xm",
    ) as site:
        yield site


def test_a_token_from_the_configured_provider_reaches_my_transcript(
    configured: Site, provider: tuple[FakeProvider, str]
) -> None:
    fake, _ = provider
    answer = requests.get(
        f"{configured.base}/v1/me/transcript",
        headers={"Authorization": f"Bearer {fake.token()}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["person_id"] == configured.me


@pytest.mark.parametrize(
    "case", ["other key", "unknown kid", "dev provider", "wrong audience", "no exp"]
)
def test_tokens_the_provider_did_not_issue_for_us_are_refused(
    configured: Site, provider: tuple[FakeProvider, str], case: str
) -> None:
    fake, _ = provider
    token = {
        "other key": lambda: fake.token(
            key=rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ),
        "unknown kid": lambda: fake.token(kid="k9"),
        "dev provider": lambda: configured.token(),
        "wrong audience": lambda: fake.token(aud="someone-else"),
        "no exp": lambda: fake.token(exp=None),
    }[case]()
    answer = requests.get(
        f"{configured.base}/v1/me/transcript",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert answer.status_code == 401, answer.text
    assert ME not in answer.text


@pytest.fixture
def two_key_types(
    provider: tuple[FakeProvider, str],
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Site, ec.EllipticCurvePrivateKey]]:
    """The provider publishes an RSA key (k1) and an EC P-256 key (ec1); all three algorithm
    families are configured."""
    fake, url = provider
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key()))
    fake.jwks["keys"].append({**ec_jwk, "kid": "ec1", "use": "sig"})
    with running_site(
        sqlite_url,
        tmp_path / "var",
        monkeypatch,
        DEV_IDP=False,
        IDP_ISSUER=ISSUER,
        IDP_AUDIENCE=AUDIENCE,
        IDP_JWKS_URL=url,
        IDP_ALGORITHMS="RS256,ES256,EdDSA",
        IDP_ID_CLAIM="sfzh",
        IDP_NAME_CLAIM="xm",
    ) as site:
        yield site, ec_key


def _claims(**overrides: object) -> dict[str, object]:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    return {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 300, "sfzh": ME, **overrides}


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("ES256 naming the RSA key", "algorithm (ES256) does not fit"),
        ("RS256 naming the EC key", "algorithm (RS256) does not fit"),
        ("EdDSA naming the EC key", "algorithm (EdDSA) does not fit"),
        ("exp in the year 3000", "too far ahead"),
        ("exp as text", "exp claim is not a number"),
    ],
)
def test_tokens_that_do_not_fit_the_named_key_or_claim_too_much_are_401_with_the_reason(
    two_key_types: tuple[Site, ec.EllipticCurvePrivateKey],
    provider: tuple[FakeProvider, str],
    case: str,
    reason: str,
) -> None:
    site, ec_key = two_key_types
    fake, _ = provider
    token = {
        "ES256 naming the RSA key": lambda: jwt.encode(
            _claims(), ec_key, algorithm="ES256", headers={"kid": "k1"}
        ),
        "RS256 naming the EC key": lambda: jwt.encode(
            _claims(), fake.key, algorithm="RS256", headers={"kid": "ec1"}
        ),
        "EdDSA naming the EC key": lambda: jwt.encode(
            _claims(), Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": "ec1"}
        ),
        "exp in the year 3000": lambda: jwt.encode(
            _claims(exp=32503680000), ec_key, algorithm="ES256", headers={"kid": "ec1"}
        ),
        "exp as text": lambda: jwt.encode(
            _claims(exp="4102444800"), ec_key, algorithm="ES256", headers={"kid": "ec1"}
        ),
    }[case]()
    answer = requests.get(
        f"{site.base}/v1/me/transcript", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert answer.status_code == 401, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert reason in answer.json()["detail"]
    good = jwt.encode(_claims(), ec_key, algorithm="ES256", headers={"kid": "ec1"})
    mine = requests.get(
        f"{site.base}/v1/me/transcript", headers={"Authorization": f"Bearer {good}"}, timeout=10
    )
    assert mine.status_code == 200, mine.text
