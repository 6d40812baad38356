"""Alembic migrations shipped with the package, applied forward automatically when a store is opened.

A store whose schema is newer than this ttpmap, or a database that holds tables but no ttpmap schema
version, is refused with one line rather than touched: data is never dropped silently.
"""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

from ttpmap.errors import StoreError


def _config(conn: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("ttpmap.store") / "migrations"))
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


def head() -> str:
    """The newest schema revision this ttpmap knows."""
    rev = ScriptDirectory.from_config(_config()).get_current_head()
    assert rev is not None
    return rev


def current(conn: Connection) -> str | None:
    """The schema revision of the connected database (None if it has none)."""
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(conn: Connection) -> None:
    """Bring the schema to head; refuse unknown revisions and foreign databases."""
    script = ScriptDirectory.from_config(_config())
    rev = current(conn)
    if rev is None:
        ours = {"documents", "analyses"}
        if ours & set(inspect(conn).get_table_names()):
            raise StoreError(
                "the database has ttpmap-like tables but no schema version; refusing to touch it"
            )
    else:
        try:
            script.get_revision(rev)
        except Exception as exc:
            raise StoreError(
                f"the store's schema {rev!r} is newer than this ttpmap knows; upgrade ttpmap"
            ) from exc
    if rev != script.get_current_head():
        command.upgrade(_config(conn), "head")
