"""``cehours serve`` on loopback for the end-to-end tests: started, waited for, stopped."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import requests

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_server(
    env: dict[str, str],
    log: Path,
    *,
    workers: int = 2,
    args: Sequence[str] = (),
    cwd: Path | None = None,
) -> Iterator[str]:
    """``cehours serve`` with ``env`` (and ``args``, in ``cwd``) on a free port, its output in
    ``log``; yields its base URL once ``/readyz`` answers 200, and stops the whole process group
    afterwards."""
    port = free_port()
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                str(BIN / "cehours"),
                "serve",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                *args,
            ],
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(f"{base}/readyz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass  # not listening yet, or a worker still booting on a busy machine
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
