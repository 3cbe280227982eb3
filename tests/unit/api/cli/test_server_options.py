"""The gunicorn settings ``cehours serve`` runs with."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from api.cli.server import gunicorn_options


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_a_worker_freezes_what_it_loaded_so_collections_skip_it(unfrozen: None) -> None:
    options = gunicorn_options("127.0.0.1:0", workers=1, threads=1)
    assert gc.get_freeze_count() == 0
    options["post_worker_init"](object())
    assert gc.get_freeze_count() > 1000  # the modules and app of the worker, at least
