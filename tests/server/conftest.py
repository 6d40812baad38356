"""Workbench fixtures: stores on SQLite (and PostgreSQL when configured) with one user per role."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from workbench_helpers import EXAMPLES, Workbench, make_workbench

from store_backends import BACKENDS, backend_url


@pytest.fixture(params=BACKENDS)
def workbench(request, tmp_path) -> Iterator[Workbench]:
    gen = backend_url(request.param, tmp_path)
    wb = make_workbench(next(gen))
    yield wb
    wb.store.close()
    gen.close()


@pytest.fixture
def sqlite_workbench(tmp_path) -> Iterator[Workbench]:
    wb = make_workbench(f"sqlite:///{tmp_path / 'store.sqlite'}")
    yield wb
    wb.store.close()


@pytest.fixture(scope="session")
def apt_text() -> str:
    return (EXAMPLES / "apt-exchange-intrusion.md").read_text(encoding="utf-8")
