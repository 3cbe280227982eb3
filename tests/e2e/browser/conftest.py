"""The browser tests' site: the service's pages on a free port (the browser itself is shared by
every e2e package: :mod:`tests.e2e.chromium`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.pages.site import Site, running_site


@pytest.fixture
def site(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with running_site(sqlite_url, tmp_path / "var", monkeypatch) as running:
        yield running
