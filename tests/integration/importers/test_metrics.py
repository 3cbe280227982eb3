"""Sync metrics: runs and failures counted by the scheduler, served by the scheduler process."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import requests
from prometheus_client import REGISTRY
from sqlalchemy.orm import Session, sessionmaker

from importers.scheduler import run_scheduled_sync
from tests.integration.api.cli.test_entrypoints import CEHOURS, environment, free_port


def runs(source: str, outcome: str) -> float:
    labels = {"source": source, "outcome": outcome}
    return REGISTRY.get_sample_value("cehours_sync_runs_total", labels) or 0.0


def test_a_scheduled_sync_that_cannot_start_counts_as_a_failure(
    session_factory: sessionmaker[Session],
) -> None:
    before = runs("nowhere", "error")
    failures = REGISTRY.get_sample_value("cehours_sync_failures_total", {"source": "nowhere"})
    assert run_scheduled_sync(session_factory, "nowhere", "test-holder") == "error"
    assert runs("nowhere", "error") == before + 1
    after = REGISTRY.get_sample_value("cehours_sync_failures_total", {"source": "nowhere"})
    assert after == (failures or 0.0) + 1


def test_the_scheduler_process_serves_its_metrics(sqlite_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = environment(sqlite_url, free_port(), CEHOURS_SCHEDULER_METRICS_BIND=f"127.0.0.1:{port}")
    with (tmp_path / "scheduler.log").open("wb") as log:
        process = subprocess.Popen([CEHOURS, "scheduler"], env=env, stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 40
            text = ""
            while time.monotonic() < deadline and "cehours_sync_runs_total" not in text:
                assert process.poll() is None, (tmp_path / "scheduler.log").read_text()
                try:
                    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=1).text
                except requests.RequestException:
                    time.sleep(0.2)
            assert "# TYPE cehours_sync_runs_total counter" in text
            assert "# TYPE cehours_sync_failures_total counter" in text
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(20)
