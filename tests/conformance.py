"""Every 2xx answer the service gives in the tests is what its OpenAPI document says.

:func:`check_answer` finds the operation of a request in the document the code generates (the
one the service serves at ``/openapi.json``), and checks a 2xx answer against it: the status is
documented, the content type is the documented one, and a JSON body validates against the
response schema (JSON Schema draft 4 semantics, as OpenAPI 3.0 uses them; formats such as
``date`` and ``date-time`` are checked, and no member the document does not declare is allowed
where the schema says so). Anything else fails the test with an :class:`AssertionError` naming
the request and what is wrong.

The e2e suite checks every answer of a live server (``tests/e2e/conftest.py``), the API
integration tests every answer of the test client (``tests/integration/api/conftest.py``).
"""

from __future__ import annotations

import copy
import functools
import json
import re
from typing import Any
from urllib.parse import urlsplit

import jsonschema_rs

from api.openapi import openapi_document

JSON = re.compile(r"^application/(.+\+)?json$")


@functools.cache
def _document() -> dict[str, Any]:
    return openapi_document()


@functools.cache
def _operations() -> list[tuple[re.Pattern[str], str]]:
    """Each documented path as a pattern of raw (percent-encoded) paths; literal paths first."""
    paths = sorted(_document()["paths"], key=lambda p: (p.count("{"), p))
    return [(re.compile("^" + re.sub(r"\{[^}/]+\}", "[^/]+", p) + "$"), p) for p in paths]


def as_json_schema(schema: Any) -> Any:
    """An OpenAPI 3.0 schema as plain JSON Schema: ``nullable: true`` becomes ``null``
    allowed (JSON Schema has no ``nullable``)."""
    if isinstance(schema, list):
        return [as_json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: as_json_schema(value) for key, value in schema.items()}
    if out.pop("nullable", False):
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        if "type" in out:
            out["type"] = [out["type"], "null"]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


@functools.cache
def _validator(path: str, method: str, status: str, media_type: str) -> Any:
    schema = _document()["paths"][path][method]["responses"][status]["content"][media_type][
        "schema"
    ]
    components = as_json_schema(copy.deepcopy(_document()["components"]))
    return jsonschema_rs.Draft4Validator(
        {"allOf": [as_json_schema(schema)], "components": components}, validate_formats=True
    )


def operation_of(raw_path: str) -> str | None:
    """The documented path (``/v1/people/{person_id}/transcript``) a raw path is, if any."""
    return next((path for pattern, path in _operations() if pattern.match(raw_path)), None)


def check_answer(method: str, url: str, status: int, content_type: str | None, body: bytes) -> None:
    """Check one answer of the service against the OpenAPI document (2xx answers only; paths
    the document does not describe, such as the pages, are not checked).

    Raises:
        AssertionError: the answer is not what the document says.
    """
    if not 200 <= status < 300:
        return
    raw_path = urlsplit(url).path
    path = operation_of(raw_path)
    if path is None:
        return
    request = f"{method} {raw_path} answered {status}"
    operation = _document()["paths"][path].get(method.lower())
    assert operation is not None, f"{request}: the document has no {method} {path}"
    response = operation["responses"].get(str(status))
    assert response is not None, f"{request}: status {status} is not documented"
    media_type = (content_type or "").split(";")[0].strip()
    documented = response.get("content", {})
    if not documented:
        assert not body, f"{request}: documented without a body, answered {len(body)} bytes"
        return
    assert media_type in documented, f"{request}: {media_type!r}, documented {list(documented)}"
    if not JSON.match(media_type):
        return
    try:
        instance = json.loads(body)
    except ValueError as exc:
        raise AssertionError(f"{request}: the body is not JSON ({exc})") from None
    errors = [
        f"  at {'/'.join(map(str, error.instance_path)) or '(the body)'}: {error.message}"
        for error in _validator(path, method.lower(), str(status), media_type).iter_errors(instance)
    ]
    assert not errors, f"{request}: not as documented in {path}:\n" + "\n".join(errors[:20])
