"""Errors in a browser are pages in the site's layout (Chinese first); the API, and clients that
do not ask for HTML, keep problem+json."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from werkzeug.serving import make_server

from api.app import create_app
from api.pages import verification
from tests.e2e.pages.site import Site

BROWSER = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8",
}
PROBLEM = "application/problem+json"


def _is_page(answer: requests.Response, status: int, headline: str) -> None:
    assert answer.status_code == status, answer.text[:300]
    assert answer.headers["Content-Type"].startswith("text/html")
    text = answer.text
    assert '<html lang="zh-CN">' in text
    assert 'href="/assets/pages.css"' in text  # the site's layout, its stylesheet
    assert f'data-status="{status}"' in text
    # Chinese first: the headline precedes the English in the page's heading.
    heading = text[text.index("<h1>") : text.index("</h1>")]
    assert heading.index(headline) < heading.index('class="en"')
    assert "Traceback" not in text
    assert answer.headers["Content-Security-Policy"].startswith("default-src 'none'")


def _is_problem(answer: requests.Response, status: int) -> None:
    assert answer.status_code == status, answer.text[:300]
    assert answer.headers["Content-Type"] == PROBLEM
    assert answer.json()["status"] == status


def test_a_mistyped_url_in_a_browser_is_a_404_page(site: Site) -> None:
    answer = requests.get(f"{site.base}/verfy/att_123", headers=BROWSER, timeout=10)
    _is_page(answer, 404, "页面不存在")
    assert "返回首页" in answer.text
    assert "Not Found" not in answer.text  # not werkzeug's English boilerplate


def test_a_wrong_method_in_a_browser_is_a_405_page(site: Site) -> None:
    answer = requests.get(f"{site.base}/sign-out", headers=BROWSER, timeout=10)
    _is_page(answer, 405, "不支持这种访问方式")
    assert "POST" in answer.headers["Allow"]


@pytest.mark.parametrize(
    ("path", "accept"),
    [
        ("/verfy/att_123", "application/json"),
        ("/verfy/att_123", "*/*"),
        ("/verfy/att_123", PROBLEM),
        ("/verfy/att_123", "text/html, application/json"),  # a tie: JSON wins
        ("/v1/nothing-here", BROWSER["Accept"]),  # the API, even from a browser
        ("/.well-known/nothing", BROWSER["Accept"]),
    ],
)
def test_the_api_and_clients_not_asking_for_html_get_a_404_problem(
    site: Site, path: str, accept: str
) -> None:
    _is_problem(requests.get(f"{site.base}{path}", headers={"Accept": accept}, timeout=10), 404)


def test_without_an_accept_header_a_404_is_a_problem(site: Site) -> None:
    answer = requests.get(f"{site.base}/verfy", headers={"Accept": None}, timeout=10)  # type: ignore[dict-item]
    _is_problem(answer, 404)


def test_a_wrong_method_on_the_api_from_a_browser_is_a_405_problem(site: Site) -> None:
    _is_problem(requests.get(f"{site.base}/v1/records", headers=BROWSER, timeout=10), 405)


def test_an_unexpected_error_on_a_page_is_a_500_page_with_the_request_id(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*_: object) -> object:
        raise RuntimeError("the verification exploded")

    monkeypatch.setattr(verification, "get_attestation", explode)
    headers = {**BROWSER, "X-Request-ID": "trace-500"}
    answer = requests.get(f"{site.base}/verify/att_0", headers=headers, timeout=10)
    _is_page(answer, 500, "服务出错了")
    assert "trace-500" in answer.text
    assert "exploded" not in answer.text
    as_api = requests.get(f"{site.base}/verify/att_0", headers={"Accept": "*/*"}, timeout=10)
    _is_problem(as_api, 500)
    assert "exploded" not in as_api.text


@contextmanager
def _serving(url: str, var: Path) -> Iterator[str]:
    app = create_app(
        {
            "DATABASE_URL": url,
            "VAR_DIR": str(var),
            "SECRET_KEY": "k" * 40,
            "LOG_INTERVAL_SECONDS": 0,
        }
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        app.extensions["cehours"].engine.dispose()


def test_a_database_fault_on_a_page_is_a_503_page_with_retry_after(tmp_path: Path) -> None:
    # A real fault: PostgreSQL at a loopback port where nothing listens (connection refused).
    url = "postgresql+psycopg://postgres@127.0.0.1:9397/nothing?connect_timeout=2"
    with _serving(url, tmp_path / "var") as base:
        page = requests.get(f"{base}/verify/att_0", headers=BROWSER, timeout=30)
        _is_page(page, 503, "暂时无法服务")
        assert page.headers["Retry-After"] == "2"
        assert 'id="retry-after"' in page.text
        problem = requests.get(f"{base}/verify/att_0", headers={"Accept": "*/*"}, timeout=30)
        _is_problem(problem, 503)
        assert problem.headers["Retry-After"] == "2"
        assert problem.json()["type"] == "urn:cehours:problem:database-unavailable"
        api = requests.get(f"{base}/v1/attestations/att_0/status", headers=BROWSER, timeout=30)
        _is_problem(api, 503)
