"""The committed OpenAPI document is the one the code serves."""

from __future__ import annotations

import json

from api.openapi import COMMITTED, REGENERATE, openapi_document, render


def test_the_committed_openapi_document_matches_the_code() -> None:
    committed = COMMITTED.read_text(encoding="utf-8")
    current = render(openapi_document())
    assert json.loads(committed) == json.loads(current), (
        f"api/openapi.json is out of date with the code: regenerate it with `{REGENERATE}` "
        "(or `python -m api.openapi > api/openapi.json`) and commit it"
    )
    assert committed == current, f"api/openapi.json is not in canonical form: run `{REGENERATE}`"


def test_every_operation_documents_problem_details_for_errors() -> None:
    document = openapi_document()
    default = document["components"]["responses"]["DEFAULT_ERROR"]
    assert list(default["content"]) == ["application/problem+json"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            assert "default" in operation["responses"], f"{method} {path}"
