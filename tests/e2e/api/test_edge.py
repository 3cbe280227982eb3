"""The server's edge, tried as a hostile client would: limits answered as problems, and logs
that neither leak an ID number nor let a client forge a line.

One ``cehours serve`` (gunicorn, two workers) with JSON logs, as in production. Raw sockets
send what ``requests`` would refuse to: oversize and broken request lines and headers, chunked
bodies. At the end every line the server wrote (gunicorn's and the workers' alike) must be one
JSON object, and no line may hold any of the ID numbers sent, in any spelling.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import unicodedata
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.e2e.server import BIN, free_port, running_server
from tests.factories import id_number, record

TIMEOUT = 15
SECRET = id_number(4242)
"""An ID number the hostile session sends everywhere it can."""
SECRETS = [SECRET, id_number(4243), id_number(4244)[:17] + "x"]


class Served:
    def __init__(self, base: str, env: dict[str, str], log: Path, metrics: str) -> None:
        self.base, self.env, self.log, self.metrics = base, env, log, metrics
        self.host, self.port = base.removeprefix("http://").split(":")

    def raw(self, data: bytes) -> tuple[int, dict[str, str], bytes]:
        """Send ``data`` as it is; return the status, headers and body of the answer."""
        with socket.create_connection((self.host, int(self.port)), timeout=TIMEOUT) as s:
            s.sendall(data)
            received = b""
            while True:
                try:
                    chunk = s.recv(65536)
                except (ConnectionResetError, TimeoutError):
                    break
                if not chunk:
                    break
                received += chunk
                if b"\r\n\r\n" in received:
                    head, _, body = received.partition(b"\r\n\r\n")
                    length = [
                        int(line.split(b":", 1)[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ]
                    if length and len(body) >= length[0]:
                        break
        head, _, body = received.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(lines[0].split()[1]), headers, body


def cehours(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(BIN / "cehours"), *args], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    directory = tmp_path_factory.mktemp("edge")
    env = {
        **os.environ,
        "CEHOURS_DATABASE_URL": f"sqlite:///{directory / 'edge.sqlite3'}",
        "CEHOURS_LOG_FORMAT": "json",
        "CEHOURS_MAX_CONTENT_LENGTH": "65536",
    }
    metrics_port = free_port()
    env["CEHOURS_METRICS_BIND"] = f"127.0.0.1:{metrics_port}"
    env["CEHOURS_METRICS_PUBLIC"] = "false"
    cehours("db", "upgrade", env=env)
    log = directory / "server.log"
    with running_server(env, log) as base:
        yield Served(base, env, log, f"http://127.0.0.1:{metrics_port}")


@pytest.fixture(scope="module")
def key(served: Served) -> str:
    cehours(
        *("sources", "add", "edge-city", "--kind", "city", "--region", "330800", "--name", "E"),
        env=served.env,
    )
    return cehours(
        "clients", "add", "--name", "edge", "--role", "platform", "--source", "edge-city",
        env=served.env,
    )  # fmt: skip


def is_problem(status: int, headers: dict[str, str], body: bytes, expected: int) -> dict:
    assert status == expected, body[:300]
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["status"] == expected
    assert problem["request_id"]
    return problem


def chunked(body: bytes, size: int = 4096) -> bytes:
    parts = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def post_chunked(served: Served, key: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
    head = (
        f"POST /v1/records HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    return served.raw(head + chunked(body))


def test_a_chunked_body_over_the_limit_is_413_and_one_under_it_is_read(
    served: Served, key: str
) -> None:
    big = json.dumps({"records": [record(f"c{n}", person=n) for n in range(600)]}).encode()
    assert len(big) > 65536
    is_problem(*post_chunked(served, key, big), expected=413)
    status, _, body = post_chunked(served, key, json.dumps({"records": [record("c1")]}).encode())
    assert status == 200
    assert json.loads(body)["results"][0]["status"] == "created"


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 431),
        (
            b"GET /healthz HTTP/1.1\r\n"
            + b"".join(b"X-%d: y\r\n" % n for n in range(120))
            + b"\r\n",
            431,
        ),
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET /healthz HTTP/1.1\r\nBad Header: x\r\n\r\n", 400),
        (b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", 400),
        (b"POST /v1/records HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        (b"POST /v1/records HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
    ],
    ids=[
        "long-url",
        "big-header",
        "many-headers",
        "garbage",
        "bad-header",
        "version",
        "bad-chunk",
        "transfer-coding",
    ],
)
def test_what_the_front_server_refuses_is_a_problem_with_the_right_status(
    served: Served, request_bytes: bytes, status: int
) -> None:
    problem = is_problem(*served.raw(request_bytes), expected=status)
    assert problem["detail"]


def test_metrics_are_served_on_their_own_listener_only(served: Served) -> None:
    public = requests.get(f"{served.base}/metrics", timeout=TIMEOUT)
    assert public.status_code == 404
    assert public.headers["Content-Type"] == "application/problem+json"
    private = requests.get(f"{served.metrics}/metrics", timeout=TIMEOUT)
    assert private.status_code == 200
    assert "cehours_http_requests_total" in private.text
    assert requests.get(f"{served.metrics}/readyz", timeout=TIMEOUT).status_code == 200
    assert requests.get(f"{served.metrics}/v1/profiles", timeout=TIMEOUT).status_code == 404


def hostile_requests(served: Served, key: str) -> None:
    """Everything a client can put an ID number or a line break into."""
    auth = {"Authorization": f"Bearer {key}"}
    fullwidth = SECRET.translate({ord(d): ord(d) + 0xFEE0 for d in "0123456789"})
    encoded = "".join(f"%{ord(c):02X}" for c in SECRET)
    paths = [
        f"/v1/people/{SECRET}/transcript",
        f"/v1/records/{SECRET}/reversal",
        f"/v1/people/x{SECRET}abc",
        f"/v1/people/{encoded}",
        f"/v1/people/{urllib.parse.quote(fullwidth)}",
        "/v1/nothing%0A2026-01-01T00:00:00.000Z%20INFO%20forged%20line",
        "/v1/nothing%0D%0A%7B%22level%22:%22INFO%22,%22message%22:%22forged%22%7D",
        "/v1/nothing%E2%80%A8forged%C2%85forged%ED%A0%80",
    ]
    for path in paths:
        requests.get(served.base + path, headers=auth, timeout=TIMEOUT)
        requests.post(served.base + path, json={"reason": SECRET}, headers=auth, timeout=TIMEOUT)
    for request_id in (SECRET, f"req-{SECRET}", SECRET[:17] + "x"):
        requests.get(f"{served.base}/healthz", headers={"X-Request-ID": request_id}, timeout=15)
    bearer = {"Authorization": f"Bearer {SECRET}"}
    requests.get(f"{served.base}/v1/profiles", headers=bearer, timeout=TIMEOUT)
    body = {"records": [{**record("h1"), "id_number": SECRETS[1]}, {"external_id": SECRET}]}
    requests.post(f"{served.base}/v1/records", json=body, headers=auth, timeout=TIMEOUT)
    requests.post(f"{served.base}/v1/records?id={SECRET}", data=b"{", headers=auth, timeout=15)
    for raw in (
        f"GET /{SECRET}{'a' * 5000} HTTP/1.1\r\nHost: x\r\n\r\n",
        f"GET /{SECRET} HTTP/1.1\r\nX-{SECRET}: {SECRET}\r\nBad {SECRET}: 1\r\n\r\n",
        f"GET /\x01{SECRET}\n forged HTTP/1.1\r\n\r\n",
        f"{SECRET} / HTTP/1.1\r\n\r\n",
        f"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: {SECRET * 600}\r\n\r\n",
    ):
        served.raw(raw.encode("utf-8"))


def spellings(number: str) -> set[str]:
    """An ID number as a log line could spell it."""
    fullwidth = number.translate({ord(d): ord(d) + 0xFEE0 for d in "0123456789"})
    return {number, number.upper(), number.lower(), fullwidth}


def test_a_hostile_session_leaves_only_json_lines_without_an_id_number(
    served: Served, key: str
) -> None:
    hostile_requests(served, key)
    time.sleep(1)  # the workers' last lines
    lines = served.log.read_text(encoding="utf-8", errors="strict").splitlines()
    assert len(lines) > 20
    forbidden = set().union(*(spellings(s) for s in SECRETS))
    for line in lines:
        entry = json.loads(line)  # every line is one JSON object: none was forged or split
        assert set(entry) >= {"time", "level", "logger", "message", "request_id"}, line
        decoded = json.dumps(entry, ensure_ascii=False)
        text = unicodedata.normalize("NFKC", urllib.parse.unquote(decoded))
        for number in forbidden:
            assert not any(number in form for form in (line, decoded, text)), line
    loggers = {json.loads(line)["logger"] for line in lines}
    assert "gunicorn.error" in loggers  # the front server's own lines are JSON too
    assert "api.app" in loggers
    refusals = [json.loads(line) for line in lines if "refused a request" in line]
    assert refusals
    assert all(r["request_id"] != "-" for r in refusals)  # the id the refusal answered with
    assert any(SECRET[:6] + "********" in json.loads(line)["message"] for line in lines)
    messages = [json.loads(line)["message"] for line in lines]
    assert any("forged line" in m for m in messages)  # logged, as part of one line
    assert not any(m.startswith("forged") for m in messages)
