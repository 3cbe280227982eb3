"""Commands of the server area: ``serve`` (gunicorn, in-process) and ``openapi``."""

from __future__ import annotations

import gc
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from typing import Any

import click
from flask import Flask
from gunicorn.app.base import BaseApplication

from api.cli.ops import startup_problems
from api.front import ProblemWorker, logger_class
from api.logs import configure_logging
from api.settings import BIND_ENV, METRICS_BIND_ENV, METRICS_DIR_ENV, log_format
from ledger.db.engine import database_url, make_engine, normalise_url
from ledger.schema import current_revision, head_revision

DEFAULT_BIND = "127.0.0.1:8000"


def default_workers() -> int:
    """Two per CPU plus one, at most 9: enough to keep a database busy without thrashing."""
    return min(2 * (os.cpu_count() or 1) + 1, 9)


class Server(BaseApplication):
    """gunicorn running ``create_app()`` in each worker (nothing is shared across the fork)."""

    def __init__(self, options: dict[str, Any], config: dict[str, Any] | None = None) -> None:
        self.options = options
        self.app_config = config or {}
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        from api.app import create_app

        return create_app(self.app_config)


def prepare_metrics_dir() -> tuple[str, bool]:
    """Point prometheus_client's multi-process mode at an empty directory, before any worker
    starts (samples of a previous server's dead workers must not be added to ours). Returns the
    directory and whether it was made here (then it is removed when the server stops)."""
    path = os.environ.get(METRICS_DIR_ENV)
    if path:
        os.makedirs(path, exist_ok=True)
        for name in os.listdir(path):
            if name.endswith(".db"):
                os.unlink(os.path.join(path, name))
        return path, False
    path = tempfile.mkdtemp(prefix="cehours-metrics-")
    os.environ[METRICS_DIR_ENV] = path
    return path, True


def _child_exit(_server: Any, worker: Any) -> None:
    # A dead worker's live gauges (pool connections) must stop counting.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def _post_worker_init(worker: Any) -> None:
    # The worker has loaded the app. Everything alive now (modules, the app, its schemas and
    # profiles) lives as long as the worker: moved out of the collector's generations, it is
    # no longer traversed by every full collection that requests' garbage triggers. Measured
    # on issuing attestations in-process: about 8% less CPU a request, as with no collector.
    # Then the worker's log publisher starts (api.log_publisher): off every request's path.
    gc.collect()
    gc.freeze()
    from api.log_publisher import start_publisher

    app = getattr(worker, "wsgi", None)
    if app is not None:
        start_publisher(app)


def gunicorn_options(
    bind: str,
    workers: int,
    threads: int,
    *,
    metrics_bind: str | None = None,
    log_format: str = "text",
) -> dict[str, Any]:
    """Settings for gunicorn; the app logs every request itself (with its request id), and
    gunicorn's own answers and lines go through ``api.front``. ``metrics_bind`` adds a
    listener that serves ``/metrics`` (see ``api.metrics``)."""
    return {
        "child_exit": _child_exit,
        "post_worker_init": _post_worker_init,
        "bind": [bind, metrics_bind] if metrics_bind else [bind],
        "workers": workers,
        "worker_class": ProblemWorker,
        "logger_class": logger_class(log_format),
        "threads": threads,
        "timeout": 120,
        "graceful_timeout": 20,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
        "preload_app": False,
        "proc_name": "cehours",
    }


def _migration_warning(url: str) -> str | None:
    try:
        engine = make_engine(url)
        try:
            revision = current_revision(engine)
        finally:
            engine.dispose()
    except Exception as exc:  # any failure here is only worth a warning
        return f"the database is not reachable yet ({type(exc).__name__}); /readyz will say 503"
    if revision != head_revision():
        return f"the database is at {revision or 'no revision'}: run `cehours db upgrade`"
    return None


@click.command("serve")
@click.option(
    "--bind",
    envvar=BIND_ENV,
    default=DEFAULT_BIND,
    show_default=True,
    help="HOST:PORT to listen on [env CEHOURS_BIND]",
)
@click.option(
    "--workers", type=click.IntRange(1, 64), default=None, help="processes [2 x CPUs + 1, max 9]"
)
@click.option("--threads", type=click.IntRange(1, 64), default=4, show_default=True)
@click.option("--dev", is_flag=True, help="development mode (the demo): DEV on, 2 workers")
def serve(bind: str, workers: int | None, threads: int, dev: bool) -> None:
    """Serve the HTTP API under gunicorn (CEHOURS_DATABASE_URL or DATABASE_URL)."""
    url = normalise_url(database_url())
    if workers is None:
        workers = 2 if dev else default_workers()
    metrics_bind = os.environ.get(METRICS_BIND_ENV) or None
    fmt = log_format()
    configure_logging(fmt)
    say = _announcer(fmt)
    base = f"http://{bind}"
    masked = url.split("@", 1)[-1] if "@" in url else url
    say(
        f"cehours: serving {masked} on {base} with {workers} workers\n"
        f"  pages              {base}/   (sign in; with --dev: {base}/dev/sign-in)\n"
        f"  API documentation  {base}/docs   (OpenAPI document: {base}/openapi.json)\n"
        f"  health             {base}/healthz   readiness: {base}/readyz"
        + (f"\n  metrics            http://{metrics_bind}/metrics" if metrics_bind else "")
    )
    problems = startup_problems(dev=dev)
    if problems:
        for problem in problems:
            say(f"  refusing to start in production: {problem}")
        sys.exit(2)
    warning = _migration_warning(url)
    if warning:
        say(f"  warning: {warning}")
    metrics_dir, made_here = prepare_metrics_dir()
    options = gunicorn_options(bind, workers, threads, metrics_bind=metrics_bind, log_format=fmt)
    try:
        Server(options, {"DEV": dev}).run()
    finally:
        if made_here:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _announcer(fmt: str) -> Callable[[str], None]:
    """How ``serve`` tells the operator what it does: plain lines on stderr, or, with JSON
    logs, log records (so that every line the process writes is one JSON object)."""
    log = logging.getLogger("api.cli.server")
    log.setLevel(logging.INFO)

    def say(text: str) -> None:
        if fmt != "json":
            click.echo(text, err=True)
            return
        for line in text.splitlines():
            log.info("%s", line.strip())

    return say


@click.command("openapi")
def openapi() -> None:
    """Print the OpenAPI document (cehours openapi > api/openapi.json)."""
    from api.openapi import render

    click.echo(render(), nl=False)


COMMANDS: list[click.Command] = [serve, openapi]
