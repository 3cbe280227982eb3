"""A fake learning platform on loopback: a real HTTP server with pinyin fields and Chinese labels.

It serves its records the two ways real platforms do (a next-cursor change feed, and
``updated_since`` with page numbers) and misbehaves on request: each queued fault applies to one
incoming request, in order.

Faults: ``500``, ``429:<seconds>`` (with ``Retry-After``), ``hang`` (answer only after
``hang_seconds``), ``malformed`` (bad JSON), ``truncated`` (connection closed half-way through
the body), ``short`` (a well-formed page holding fewer records than its ``count`` says),
``repeat`` (the previous answer again), ``die`` (the server goes away without answering).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "platform-token-for-tests"
TOKEN_ENV = "CEHOURS_TEST_PLATFORM_TOKEN"
EPOCH = dt.datetime(2024, 12, 31, 8, 0, 0)


def mapping_config() -> dict[str, Any]:
    """The mapping a source for this platform declares."""
    return {
        "fields": {
            "external_id": "jlid",
            "id_number": "sfzh",
            "name": "xm",
            "category": "kclb",
            "hours": "xs",
            "completed_on": "wcrq",
            "course.title": "kcmc",
        }
    }


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out and hung up is part of the tests, not an error worth a trace.
        pass


class FakePlatform:
    """The platform's data and behaviour; ``start()`` serves it on 127.0.0.1."""

    def __init__(self, *, style: str = "cursor", port: int = 0) -> None:
        self.style = style
        self.records: dict[str, dict[str, Any]] = {}
        self.seq = 0
        self.faults: deque[str] = deque()
        self.requests: list[dict[str, str]] = []
        self.hang_seconds = 1.0
        # A platform that ignores the page size asked for and serves this many per page.
        self.page_size_override: int | None = None
        # Called with the request's number (1, 2, ...) before it is answered.
        self.before_answer: Callable[[int], None] | None = None
        self.lock = threading.Lock()
        self._last_body: bytes | None = None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = port

    # -- data -------------------------------------------------------------------------------
    def put(self, jlid: str, /, **fields: Any) -> None:
        """Create or change a record; it moves to the end of the change feed.

        ``fields`` may even change what the platform sends as ``jlid`` (to send a broken one).
        """
        with self.lock:
            self.seq += 1
            record = {"jlid": jlid, **self.records.get(jlid, {}), **fields}
            record["_seq"] = self.seq
            record["gxsj"] = (EPOCH + dt.timedelta(seconds=self.seq)).strftime("%Y-%m-%d %H:%M:%S")
            self.records[jlid] = record

    def visible(self, record: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in record.items() if not k.startswith("_")}

    # -- serving ----------------------------------------------------------------------------
    def page(self, params: dict[str, str]) -> dict[str, Any]:
        size = self.page_size_override or int(params.get("size") or params.get("page_size") or 100)
        with self.lock:
            ordered = sorted(self.records.values(), key=lambda r: r["_seq"])
            if self.style == "cursor":
                after = int(params.get("cursor") or 0)
                rows = [r for r in ordered if r["_seq"] > after][:size]
                nxt = str(rows[-1]["_seq"]) if len(rows) == size else None
                return {
                    "code": 0,
                    "data": [self.visible(r) for r in rows],
                    "next": nxt,
                    "count": len(rows),
                }
            since = params.get("updated_since")
            page = int(params.get("page") or 1)
            rows = [r for r in ordered if since is None or r["gxsj"] >= since]
            rows = rows[(page - 1) * size : page * size]
            return {"code": 0, "data": [self.visible(r) for r in rows], "count": len(rows)}

    def start(self) -> FakePlatform:
        platform = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(
                self,
                status: int,
                body: bytes,
                headers: dict[str, str] | None = None,
                *,
                cut: bool = False,
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if cut else body)
                if cut:
                    self.close_connection = True

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                params = {k: v[-1] for k, v in parse_qs(url.query).items()}
                with platform.lock:
                    platform.requests.append(params)
                    fault = platform.faults.popleft() if platform.faults else "ok"
                    number = len(platform.requests)
                if platform.before_answer is not None:
                    platform.before_answer(number)
                if self.headers.get("X-Token") != TOKEN:
                    self._send(401, b'{"code": 401, "msg": "\xe6\x9c\xaa\xe6\x8e\x88\xe6\x9d\x83"}')
                    return
                if fault == "500":
                    self._send(500, b'{"code": 500, "msg": "server busy"}')
                    return
                if fault.startswith("429"):
                    seconds = fault.split(":", 1)[1] if ":" in fault else "1"
                    self._send(429, b'{"code": 429}', {"Retry-After": seconds})
                    return
                if fault == "die":
                    self.close_connection = True
                    threading.Thread(target=platform.stop, daemon=True).start()
                    return
                if fault == "hang":
                    time.sleep(platform.hang_seconds)
                if fault == "malformed":
                    self._send(200, b'{"code": 0, "data": [{"jlid": "x", ')
                    return
                if fault == "repeat" and platform._last_body is not None:
                    self._send(200, platform._last_body)
                    return
                document = platform.page(params)
                if fault == "short" and document["data"]:
                    document["data"] = document["data"][: len(document["data"]) // 2]
                try:
                    body = json.dumps(document, ensure_ascii=False).encode("utf-8")
                except UnicodeEncodeError:  # a lone surrogate: as JSON writes it, "\ud800"
                    body = json.dumps(document).encode("ascii")
                if fault != "short":
                    platform._last_body = body
                self._send(200, body, cut=fault == "truncated")

        server = _QuietServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1/xsjl"

    def config(self, **overrides: Any) -> dict[str, Any]:
        """A source configuration pointing at this platform."""
        paging: dict[str, Any] = {"style": self.style, "page_size": 10, "count_path": "count"}
        if self.style == "cursor":
            paging |= {"page_size_param": "size"}
        else:
            paging |= {"updated_field": "gxsj"}
        config: dict[str, Any] = {
            "url": self.url,
            "auth": {"type": "token", "header": "X-Token", "prefix": "", "token_env": TOKEN_ENV},
            "paging": paging,
            "mapping": mapping_config(),
            "timeouts": {"connect": 1, "read": 0.3},
            "retry": {"attempts": 5, "base_delay": 0.01, "max_delay": 0.05, "budget_seconds": 20},
        }
        config.update(overrides)
        return config


def served(platform: FakePlatform) -> Iterator[FakePlatform]:
    platform.start()
    try:
        yield platform
    finally:
        platform.stop()
