"""The OpenAPI document, generated from the code: ``python -m api.openapi > api/openapi.json``.

The committed ``api/openapi.json`` is what other teams integrate against; a test fails when it
no longer matches what the code serves, naming the command above (or ``cehours openapi``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

COMMITTED = Path(__file__).resolve().parent / "openapi.json"
REGENERATE = "cehours openapi > api/openapi.json"


def openapi_document() -> dict[str, Any]:
    """The document the app serves at ``/openapi.json`` (built without touching a database)."""
    from api.app import create_app

    app = create_app({"DATABASE_URL": "sqlite://"})
    try:
        api = app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
        document: dict[str, Any] = api.spec.to_dict()
        return document
    finally:
        app.extensions["cehours"].engine.dispose()


def render(document: dict[str, Any] | None = None) -> str:
    """The document as committed: sorted keys, two-space indents, UTF-8, final newline."""
    document = openapi_document() if document is None else document
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(render(), end="")
