"""``/docs`` and ``/openapi.json``: browsable and machine-readable, with nothing fetched from
elsewhere."""

from __future__ import annotations

import re

from flask.testing import FlaskClient


def test_docs_page_lists_every_operation_and_loads_nothing_external(http: FlaskClient) -> None:
    response = http.get("/docs")
    assert response.status_code == 200
    assert response.content_type.startswith("text/html")
    page = response.get_data(as_text=True)
    spec = http.get("/openapi.json").get_json()
    for path in spec["paths"]:
        assert path in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "<script" not in page


def test_the_served_document_is_openapi_3_with_bearer_auth(http: FlaskClient) -> None:
    spec = http.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["paths"]["/v1/records"]["post"]["security"] == [{"bearerAuth": []}]
