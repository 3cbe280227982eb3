"""The documentation examples' parser and shape check (``tests/doc_examples.py``): what counts
as an example, how commands and shown output are split, and that unlike output is refused."""

from __future__ import annotations

from pathlib import Path

from tests.doc_examples import blocks, output_mismatch, text_pattern

PAGE = """# A page

```sh
curl -s http://127.0.0.1:8000/healthz   # a comment
# a comment line
KEY=$(.venv/bin/cehours clients add --name x \\
  --role filing)
# -> client 1 added
```

<!-- not run: needs Docker and builds the image -->
```sh
docker compose up -d
```

```python
print("not a shell example")
```

```console
$ cat > batch.json <<'EOF'
{"records": []}
EOF
$ curl -s http://127.0.0.1:8000/v1/records \\
    --data @batch.json
{"results": [], "counts": {...}}
```
"""


def test_sh_and_console_blocks_are_examples_with_their_markers(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(PAGE, encoding="utf-8")
    found = blocks(page)
    assert [(b.language, b.not_run) for b in found] == [
        ("sh", None),
        ("sh", "needs Docker and builds the image"),
        ("console", None),
    ]
    first, _, console = found
    commands = first.commands()
    assert [c.text.splitlines()[0] for c in commands] == [
        "curl -s http://127.0.0.1:8000/healthz   # a comment",
        "KEY=$(.venv/bin/cehours clients add --name x \\",
    ]
    assert commands[1].shown == ["client 1 added"]
    assert commands[1].line == 6
    heredoc, post = console.commands()
    assert heredoc.text.splitlines()[-1] == "EOF"
    assert heredoc.shown == []
    assert post.text.endswith("--data @batch.json")
    assert post.shown == ['{"results": [], "counts": {...}}']


def test_shown_json_matches_in_shape_not_in_every_value() -> None:
    shown = ['{"results": [{"status": "created", "entry_id": 1}], "counts": {...}, ...}']
    ok = '{"counts": {"created": 1}, "results": [{"entry_id": 31, "status": "created"}], "x": 1}'
    assert output_mismatch(shown, ok) is None
    wrong_status = ok.replace('"status": "created"', '"status": "rejected"')
    assert "results[0].status" in str(output_mismatch(shown, wrong_status))
    two_results = ok.replace("[{", '[{"status": "created", "entry_id": 2}, {')
    assert "1 items shown, got 2" in str(output_mismatch(shown, two_results))
    missing = '{"counts": {}}'
    assert "members shown" in str(output_mismatch(shown, missing))
    closed = ['{"status": "ok"}']
    assert "members shown" in str(output_mismatch(closed, '{"status": "ok", "more": 1}'))
    assert "JSON was shown" in str(output_mismatch(closed, "Internal Server Error"))


def test_shown_text_matches_line_by_line_with_placeholders() -> None:
    shown = ["OK att_...: compliant=false person=... expires=2026-03-02 11:32:05 +08:00"]
    got = "OK att_9f3a: compliant=false person=王晓明 3308 expires=2027-01-01 08:00:00 +08:00\n"
    assert output_mismatch(shown, got) is None
    assert output_mismatch(shown, got.replace("false", "true")) is not None
    assert "1 lines shown, got 2" in str(output_mismatch(shown, got + "another line\n"))
    assert text_pattern("key 872bebac077a47699cf52f7a50253966").fullmatch("key 0123456789abcdef01")


def test_an_http_answer_is_checked_by_status_headers_and_body() -> None:
    shown = [
        "HTTP/1.1 401 UNAUTHORIZED",
        "Content-Type: application/problem+json",
        "",
        '{"type": "urn:cehours:problem:unauthenticated", "status": 401}',
    ]
    answer = (
        "HTTP/1.1 401 UNAUTHORIZED\r\ncontent-type: application/problem+json\r\n"
        'X-Request-ID: 1\r\n\r\n{"status": 401, "type": "urn:cehours:problem:unauthenticated"}'
    )
    assert output_mismatch(shown, answer) is None
    assert "status line" in str(output_mismatch(shown, answer.replace("401 UNAUTH", "200 UNAUTH")))
    plain = answer.replace("application/problem+json", "application/json")
    assert "header" in str(output_mismatch(shown, plain))
