"""Any request to any endpoint, as an attacker or a broken client would send it: never a 5xx.

Hypothesis sends every route of the app (the API, the pages, the documents) arbitrary Unicode
in its path, query, body and headers, lone surrogates included (as JSON escapes and as their
bytes, percent-encoded), and arbitrary credentials: API keys good and bad, identity tokens
well-formed and forged, signed by the provider with extreme claims or by nobody, and session
cookies valid, signed out and forged. Whatever comes, the answer is below 500, and an error from
the API is problem+json.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from api.app import create_app
from ledger.access.clients import create_client
from ledger.access.dev_identity import DevIdentityProvider
from ledger.attestations import key_encryption, signing_keys
from ledger.entries.append import append_records
from ledger.log import checkpoints
from tests.factories import city_source, id_number, record

# Every code point, lone surrogates included (Hypothesis leaves those out unless asked).
ANY_CHARACTER = st.characters(codec=None, exclude_categories=())
ANY_TEXT = st.text(ANY_CHARACTER, max_size=24)
# What an HTTP header can carry (latin-1, no line breaks).
HEADER_TEXT = st.text(
    st.characters(max_codepoint=255, exclude_characters="\r\n"), min_size=1, max_size=40
)
SURROGATE_TEXT = st.builds(
    lambda a, s, b: a + s + b,
    ANY_TEXT,
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
    ANY_TEXT,
)
TEXT = st.one_of(ANY_TEXT, SURROGATE_TEXT, st.sampled_from(["", "\x00", "../", "%", "1e1"]))
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
FIELDS = [
    "records", "external_id", "id_number", "name", "category", "hours", "completed_on",
    "course", "supersede", "source", "profile", "as_of", "person_id", "application_ref",
    "reason", "people", "ref", "include_entries", "industry_platform", "token", "csrf_token",
]  # fmt: skip
PERSON = id_number(1)


def _record_like() -> st.SearchStrategy[dict[str, Any]]:
    good = record("hostile", hours="1.5", completed_on="2024-05-01")
    return st.dictionaries(st.sampled_from([*good, "source"]), JSON, max_size=6).map(
        lambda changes: {**good, **changes}
    )


BODY = st.one_of(
    JSON,
    st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=5),
    st.fixed_dictionaries(
        {"records": st.lists(st.one_of(_record_like(), JSON), min_size=1, max_size=4)}
    ),
    st.fixed_dictionaries(
        {"profile": st.sampled_from(["quzhou-annual-90", "x"]) | TEXT},
        optional={"id_number": st.just(PERSON) | TEXT, "as_of": TEXT, "person_id": TEXT},
    ),
)


ASKED = {"id_number": PERSON, "profile": "quzhou-annual-90", "as_of": "2024-12-31"}
# A request each POST route would take, for the test to spoil one part of at a time.
TEMPLATES: dict[str, dict[str, Any]] = {
    "/v1/records": {"records": [record("t1", hours="1.5"), record("t2", course={"title": "课"})]},
    "/v1/records/<path:external_id>/reversal": {"reason": "registered twice"},
    "/v1/people/lookup": {"id_number": PERSON},
    "/v1/attestations": {**ASKED, "application_ref": "ZC-1"},
    "/v1/attestations/<string:jti>/revocation": {"reason": "forged"},
    "/v1/compliance": {**ASKED, "include_entries": False},
    "/v1/me/compliance": {"profile": "quzhou-annual-90", "as_of": "2024-12-31"},
    "/v1/me/attestations": {"profile": "quzhou-annual-90", "application_ref": "ZC-2"},
    "/me/proof": {"profile": "quzhou-annual-90", "as_of": "2024-12-31"},
    "/sign-in": {"token": ""},
    "/dev/sign-in": {"id_number": PERSON, "name": "张三"},
    "/verify": {"token": "a.b.c"},
}


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [(*path, k) for k in value] + [
            leaf for k, v in value.items() for leaf in _leaves(v, (*path, k))
        ]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, (*path, i))]
    return []


HOSTILE = st.one_of(
    SURROGATE_TEXT,
    st.sampled_from(["\x00", "a\x00b", "\ud800", "\udfff", "1e1", "１２", "1_0", "2.50"]),
    JSON,
)


@st.composite
def spoiled(draw: st.DrawFn, value: Any) -> Any:
    """``value`` (a valid request) with one part made hostile: a member's value replaced (by a
    text holding a lone surrogate or a NUL, a number in another form, any JSON), or a member's
    name given a lone surrogate."""
    value = json.loads(json.dumps(value))
    leaves = _leaves(value)
    if not leaves:
        return value
    *parents, last = draw(st.sampled_from(leaves))
    holder = value
    for step in parents:
        holder = holder[step]
    if isinstance(holder, dict) and draw(st.integers(0, 3)) == 0:
        holder[str(last) + draw(SURROGATE_TEXT)] = holder.pop(last)
    else:
        holder[last] = draw(HOSTILE)
    return value


def _quote(text: str) -> str:
    """A text as a URL carries it: its UTF-8 bytes (a lone surrogate as its own three bytes,
    which are not UTF-8), percent-encoded."""
    return urllib.parse.quote(text.encode("utf-8", "surrogatepass"), safe="")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Any]:
    """One app (API, pages and the development identity provider) with a person's hours, a
    signing key, an API key per role, a live session and a signed-out one."""
    base = tmp_path_factory.mktemp("hostile")
    path = base / "hostile.sqlite3"
    shutil.copyfile(sqlite_template, path)
    kek_text = key_encryption.new_kek_text()
    saved = {name: os.environ.get(name) for name in (key_encryption.KEK_ENV, "CEHOURS_ISSUER")}
    os.environ[key_encryption.KEK_ENV] = kek_text
    os.environ["CEHOURS_ISSUER"] = "https://cehours.hostile/"
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{path}",
            "DEV_IDP": True,
            "VAR_DIR": str(base / "var"),
            "SECRET_KEY": "hostile-secret-" + "x" * 32,
            "COOKIE_SECURE": False,
            "AUTH_CACHE_SECONDS": 0,
        }
    )
    keys: dict[str, str] = {}
    session: Session
    with app.extensions["cehours"].sessions() as session:
        source = city_source(session)
        signing_keys.create_key(session, key_encryption.parse_kek(kek_text), actor="test")
        append_records(
            session, source, [record("h1", hours="95", completed_on="2024-05-01")], actor="test"
        )
        # A signed log holding that entry, so that the log's endpoints answer, not 503.
        checkpoints.create_log_key(session, key_encryption.parse_kek(kek_text), actor="test")
        checkpoints.publish(session, key_encryption.parse_kek(kek_text))
        for role in ("platform", "filing", "admin"):
            keys[role] = create_client(
                session, name=role, role=role, source_id=source if role == "platform" else None
            )[1]
    idp = DevIdentityProvider.from_directory(base / "var")
    cookies = {"live": _signed_in_cookie(app, idp), "ended": _signed_in_cookie(app, idp, end=True)}
    try:
        yield app, keys, idp, cookies
    finally:
        app.extensions["cehours"].engine.dispose()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _signed_in_cookie(
    app: Flask, idp: DevIdentityProvider, *, end: bool = False
) -> tuple[str, str]:
    """A session cookie (signed out on the server if ``end``) and its CSRF token."""
    client = app.test_client()
    form = client.get("/sign-in").get_data(as_text=True)
    csrf = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    answer = client.post("/sign-in", data={"csrf_token": csrf, "token": idp.mint(PERSON)})
    assert answer.status_code == 303, answer.get_data(as_text=True)
    cookie = client.get_cookie("cehours_session")
    assert cookie is not None
    page = client.get("/me").get_data(as_text=True)
    csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    if end:
        assert client.post("/sign-out", data={"csrf_token": csrf}).status_code == 303
    return cookie.value, csrf


ROUTES = sorted(
    (rule.rule, method)
    for rule in create_app({"DATABASE_URL": "sqlite://"}).url_map.iter_rules()
    for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
)


def _path(rule: str, values: list[str]) -> str:
    parts = rule.replace(">", "<").split("<")
    out = []
    for index, part in enumerate(parts):
        if index % 2 == 0:
            out.append(part)
        else:
            out.append(_quote(values[(index // 2) % len(values)]) or "x")
    return "".join(out)


@st.composite
def credentials(draw: st.DrawFn, idp: DevIdentityProvider, keys: dict[str, str]) -> str:
    """An Authorization header's value: a real key or token, or something like one."""
    kind = draw(st.sampled_from(["key"] * 6 + ["garbage", "jws", "minted", "forged-claims"]))
    if kind == "key":
        return "Bearer " + keys[draw(st.sampled_from(["admin", "filing", "platform"]))]
    if kind == "garbage":
        return draw(st.sampled_from(["Bearer ", "Basic ", "bearer  ", ""])) + draw(HEADER_TEXT)
    if kind == "minted":
        return "Bearer " + idp.mint(PERSON)
    header = draw(
        st.fixed_dictionaries(
            {"alg": st.sampled_from(["EdDSA", "RS256", "ES256", "HS256", "none"]) | JSON},
            optional={"kid": JSON, "typ": JSON},
        )
    )
    claims = draw(
        st.dictionaries(
            st.sampled_from(["iss", "aud", "exp", "iat", "nbf", "id_number", "name", "sub"]), JSON
        )
    )
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    if kind == "forged-claims":
        # Signed by the provider's own key (as a provider with a bug could): claims of any shape.
        signature = idp._key.sign(signing_input.encode())
        return f"Bearer {signing_input}.{_b64(signature)}"
    return f"Bearer {signing_input}.{_b64(draw(st.binary(max_size=64)))}"


@pytest.mark.slow
@pytest.mark.parametrize(("route", "verb"), ROUTES, ids=str)
def test_no_request_to_any_endpoint_gets_a_5xx(
    served: tuple[Any, ...], route: str, verb: str
) -> None:
    app, keys, idp, cookies = served

    @settings(
        max_examples=60 if route in TEMPLATES else 25,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        rule, method = route, verb
        values = data.draw(
            st.lists(st.sampled_from(["h1", "att_x", "x"]) | TEXT, min_size=1, max_size=3)
        )
        path = _path(rule, values)
        # A hostile query string is refused before anything else is read: only now and then.
        query = {}
        if data.draw(st.integers(0, 3), label="query") == 3:
            query = data.draw(
                st.dictionaries(st.sampled_from([*FIELDS, "at"]) | TEXT, TEXT, max_size=3)
            )
        elif rule == "/v1/records" and data.draw(st.booleans()):
            query = {"source": "quzhou-city"}
        if query:
            path += "?" + "&".join(f"{_quote(k)}={_quote(v)}" for k, v in query.items())
        headers: dict[str, str] = {}
        if data.draw(st.integers(0, 4), label="credentials") > 0:
            headers["Authorization"] = data.draw(credentials(idp, keys))
        for name in ("Idempotency-Key", "X-Request-ID", "X-CSRF-Token"):
            if data.draw(st.booleans(), label=name):
                headers[name] = data.draw(HEADER_TEXT)
        client = app.test_client()
        cookie = data.draw(st.sampled_from(["none", "live", "ended", "forged"]))
        csrf = None
        if cookie in cookies:
            client.set_cookie("cehours_session", cookies[cookie][0])
            csrf = cookies[cookie][1]
            if data.draw(st.booleans(), label="csrf header"):
                headers["X-CSRF-Token"] = csrf
        elif cookie == "forged":
            client.set_cookie("cehours_session", data.draw(HEADER_TEXT.filter(str.isascii)))
        kinds = ["json", "form", "bytes", "none"]
        if rule in TEMPLATES:
            kinds = ["spoiled"] * 6 + kinds
        kind = data.draw(st.sampled_from(kinds), label="body")
        body: dict[str, Any] = {}
        if kind == "spoiled" and not rule.startswith("/v1/"):
            kind = "form"
        if kind == "spoiled":
            spoilt = data.draw(spoiled(TEMPLATES[rule]))
            body = {"data": json.dumps(spoilt), "content_type": "application/json"}
        elif kind == "json":
            # ensure_ascii: a lone surrogate travels as the JSON escape "\ud800".
            body = {"data": json.dumps(data.draw(BODY)), "content_type": "application/json"}
        elif kind == "form":
            form = data.draw(st.dictionaries(st.sampled_from(FIELDS) | TEXT, TEXT, max_size=4))
            if rule in TEMPLATES:
                form = {**TEMPLATES[rule], **form}
                form = {k: str(v) for k, v in data.draw(spoiled(form)).items()}
            if csrf is not None:
                form["csrf_token"] = csrf
            body = {
                "data": "&".join(f"{_quote(k)}={_quote(v)}" for k, v in form.items()),
                "content_type": "application/x-www-form-urlencoded",
            }
        elif kind == "bytes":
            body = {
                "data": data.draw(st.binary(max_size=80)),
                "content_type": data.draw(st.sampled_from(["application/json", "text/plain"])),
            }
        response = client.open(path, method=method, headers=headers, **body)
        assert response.status_code < 500, (method, path, response.get_data(as_text=True))
        if response.status_code >= 400 and path.startswith("/v1/"):
            assert response.mimetype in ("application/problem+json", "text/html"), path
        response.get_data()

    run()
