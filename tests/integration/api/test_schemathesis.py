"""schemathesis against our own OpenAPI document: no 5xx, every response as documented.

Bounded so that it fits in ``make test``: a fixed number of generated cases per operation and
generation mode (valid and invalid requests), derandomised so that every run tries the same ones.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.orm import Session

from api.app import create_app
from api.openapi import openapi_document
from ledger.access.clients import create_client
from ledger.attestations import key_encryption
from ledger.log import checkpoints
from tests.factories import city_source

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Invalid requests only where there is something to get wrong (parameters or a body).
CASES = [
    (path, method.upper(), mode)
    for path, item in openapi_document()["paths"].items()
    for method, operation in item.items()
    if method != "parameters"
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE
    or "requestBody" in operation
    or operation.get("parameters")
    or item.get("parameters")
]
# About 2,000 generated requests in all (~30 s), never more than 150 per operation and mode.
EXAMPLES = max(20, min(150, 2000 // len(CASES)))
ROLE_FOR_PREFIX = {"/v1/records": "platform", "/v1/people": "filing"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Any]:
    """One app and database for the whole run, with a key per role."""
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.sqlite3"
    shutil.copyfile(sqlite_template, path)
    app = create_app({"DATABASE_URL": f"sqlite:///{path}"})
    keys: dict[str, str] = {}
    session: Session
    with app.extensions["cehours"].sessions() as session:
        city_source(session)
        for role in ("platform", "filing", "admin"):
            source = "quzhou-city" if role == "platform" else None
            keys[role] = create_client(session, name=role, role=role, source_id=source)[1]
        # A signed (empty) log, so that its checkpoint and key answer 200, not 503.
        kek = key_encryption.parse_kek(key_encryption.new_kek_text())
        checkpoints.create_log_key(session, kek, actor="fuzz")
        checkpoints.publish(session, kek)
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    yield app, schema, keys
    app.extensions["cehours"].engine.dispose()


def _role(path: str) -> str | None:
    return next((r for prefix, r in ROLE_FOR_PREFIX.items() if path.startswith(prefix)), None)


@pytest.mark.slow
@pytest.mark.parametrize(("path", "method", "mode"), CASES, ids=str)
def test_generated_requests_get_documented_answers(
    served: tuple[Flask, Any, dict[str, str]], path: str, method: str, mode: GenerationMode
) -> None:
    app, schema, keys = served
    operation = schema[path][method]
    role = _role(path)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode), authenticated=st.booleans())
    def run(case: Any, authenticated: bool) -> None:
        headers = {"Authorization": f"Bearer {keys[role]}"} if role and authenticated else {}
        response = case.call(app=app, headers=headers)
        case.validate_response(response, checks=CHECKS)

    try:
        run()
    except Unsatisfiable:
        # Every parameter accepts any string: no invalid request exists to send.
        assert mode is GenerationMode.NEGATIVE


def _with_unfit_texts(value: Any, draw: Any) -> Any:
    """``value`` with a lone surrogate or a NUL put into some of its strings (keys included).
    Schemathesis itself never draws lone surrogates ("cannot be encoded for the wire"), but JSON
    carries them as escapes (``"\\ud800"``), and a NUL (``\\u0000``) as well."""
    if isinstance(value, str):
        if draw(st.booleans()):
            return value
        return value + draw(st.sampled_from(["\ud800", "\udfff", "\x00", "\ud83d"]))
    if isinstance(value, dict):
        return {_with_unfit_texts(k, draw): _with_unfit_texts(v, draw) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_unfit_texts(item, draw) for item in value]
    return value


BODY_CASES = [
    (path, method)
    for path, method, mode in CASES
    if mode is GenerationMode.POSITIVE
    and "requestBody" in openapi_document()["paths"][path][method.lower()]
]


@pytest.mark.slow
@pytest.mark.parametrize(("path", "method"), BODY_CASES, ids=str)
def test_bodies_with_lone_surrogates_and_nuls_get_documented_answers(
    served: tuple[Flask, Any, dict[str, str]], path: str, method: str
) -> None:
    app, schema, keys = served
    operation = schema[path][method]
    role = _role(path) or "admin"

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE), data=st.data())
    def run(case: Any, data: st.DataObject) -> None:
        headers = {"Authorization": f"Bearer {keys[role]}"}
        if not isinstance(case.body, dict | list):
            return
        # Sent as the body instead of the generated one (json.dumps writes "\ud800"), so that
        # schemathesis, which cannot encode such a text itself, leaves the case as generated.
        body = json.dumps(_with_unfit_texts(case.body, data.draw)).encode()
        response = case.call(app=app, headers=headers, data=body)
        case.validate_response(response, checks=CHECKS)

    run()
