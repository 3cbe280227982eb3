"""The e2e suite's answers: every one a live server gives is checked against the OpenAPI
document (:mod:`tests.conformance`), whatever the test itself asserts."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.conformance import check_answer
from tests.e2e.chromium import artifacts, browser  # noqa: F401 (fixtures for every e2e package)


@pytest.fixture(autouse=True)
def answers_as_documented(monkeypatch: pytest.MonkeyPatch) -> None:
    """Check each answer of the service that ``requests`` receives during the test (the
    service's own answers carry ``X-Request-ID``; an identity provider's, say, do not)."""
    send = requests.Session.send

    def checked(session: requests.Session, request: Any, **kwargs: Any) -> requests.Response:
        response = send(session, request, **kwargs)
        if "X-Request-ID" in response.headers:
            check_answer(
                str(request.method),
                str(request.url),
                response.status_code,
                response.headers.get("Content-Type"),
                response.content,
            )
        return response

    monkeypatch.setattr(requests.Session, "send", checked)
