"""What gunicorn refuses is answered as a problem with the right status, and said nothing of
the input it refused."""

from __future__ import annotations

import json

import pytest
from gunicorn.http import errors

from api.front import problem_bytes, refusal


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.LimitRequestLine(5000, 4094), 414),
        (errors.LimitRequestHeaders("too many headers"), 431),
        (errors.InvalidRequestLine("GET /x\x01"), 400),
        (errors.InvalidHeaderName("Bad Header"), 400),
        (errors.InvalidChunkSize(b"zz"), 400),
        (errors.NoMoreData(b""), 400),
        (errors.UnsupportedTransferCoding("gzip"), 501),
        (errors.InvalidResponseHeaderName("Bad\r\nName"), 500),
        (RuntimeError("anything else"), 500),
    ],
)
def test_each_refusal_has_its_status(error: BaseException, status: int) -> None:
    assert refusal(error)[0] == status


def test_a_refusal_is_a_whole_problem_response_that_closes_the_connection() -> None:
    data = problem_bytes(431, "headers-too-large", "Too large.", "abc123")
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 431 Request Header Fields Too Large"
    assert "Content-Type: application/problem+json" in lines
    assert "Connection: close" in lines
    assert f"Content-Length: {len(body)}" in lines
    assert json.loads(body) == {
        "type": "urn:cehours:problem:headers-too-large",
        "title": "Request Header Fields Too Large",
        "status": 431,
        "detail": "Too large.",
        "request_id": "abc123",
    }
