"""Alembic environment: runs on the connection ttpmap.store.migrate passes in (online mode only)."""

from __future__ import annotations

from alembic import context

from ttpmap.store import workbench as _workbench  # noqa: F401  (its tables join Base.metadata)
from ttpmap.store.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - alembic CLI use is not supported
    raise RuntimeError("run migrations through ttpmap.store.open_store()")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
