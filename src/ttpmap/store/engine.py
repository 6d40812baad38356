"""Open a store by URL: SQLite in the platform data directory by default, PostgreSQL for teams."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ttpmap.errors import StoreError

CONNECT_TIMEOUT = 5
"""Seconds before an unreachable server fails the command (one line, no hang)."""


def default_url() -> str:
    """``TTPMAP_STORE`` if set, else a SQLite file in the platform data directory."""
    env = os.environ.get("TTPMAP_STORE")
    if env:
        return env
    path = Path(platformdirs.user_data_dir("ttpmap")) / "store.sqlite"
    return f"sqlite:///{path}"


def parse_url(url: str) -> URL:
    """A SQLAlchemy URL; a bare file path means a SQLite file there."""
    if "://" not in url:
        url = f"sqlite:///{Path(url).expanduser().resolve()}"
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"invalid store URL {url!r}: {exc}") from exc
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreError(
            f"unsupported store {parsed.get_backend_name()!r}: use sqlite:/// or postgresql+psycopg://"
        )
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def shown(url: URL) -> str:
    """The URL as it may be printed (password hidden)."""
    return url.render_as_string(hide_password=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # with WAL, NORMAL keeps every committed transaction across application crashes (not power loss)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: URL) -> Engine:
    """An engine for the URL: SQLite with foreign keys and WAL, PostgreSQL with a connect timeout."""
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    try:
        return create_engine(url, connect_args={"connect_timeout": CONNECT_TIMEOUT}, pool_pre_ping=True)
    except ImportError as exc:
        raise StoreError("PostgreSQL stores need psycopg: pip install 'ttpmap[postgres]'") from exc


@dataclass
class Store:
    """An open, migrated store: its engine and a session factory."""

    url: URL
    engine: Engine
    sessions: sessionmaker[Session]

    @property
    def backend(self) -> str:
        return self.url.get_backend_name()

    def session(self) -> Session:
        """A new ORM session (use as a context manager)."""
        return self.sessions()

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def open_store(url: str | None = None, *, migrate: bool = True) -> Store:
    """Connect (failing fast with one line if unreachable) and migrate the schema forward to head."""
    from ttpmap.store.migrate import upgrade

    parsed = parse_url(url or default_url())
    engine = make_engine(parsed)
    try:
        with engine.connect() as conn:
            if migrate:
                upgrade(conn)
                conn.commit()
    except StoreError:
        engine.dispose()
        raise
    except (SQLAlchemyError, OSError) as exc:
        engine.dispose()
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise StoreError(
            f"cannot open store {shown(parsed)}: {reason[0] if reason else type(exc).__name__}"
        ) from exc
    return Store(parsed, engine, sessionmaker(engine, expire_on_commit=False))
