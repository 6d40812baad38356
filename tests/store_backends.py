"""The store backends the tests run on: SQLite always, PostgreSQL when TTPMAP_TEST_POSTGRES_URL is set.

Each PostgreSQL test gets its own schema (dropped afterwards), so runs never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

BACKENDS = ["sqlite", "postgresql"]
PG_ENV = "TTPMAP_TEST_POSTGRES_URL"


def backend_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store URL for ``backend`` (skips PostgreSQL when no server is configured)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite'}"
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(
            f"PostgreSQL store tests need {PG_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1/test)"
        )
    from sqlalchemy import create_engine, text

    schema = f"ttpmap_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
