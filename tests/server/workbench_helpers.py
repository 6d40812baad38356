"""Workbench test helpers: a store with one user per role, signed-in clients, a seeded report."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the workbench tests need the serve extra: pip install 'ttpmap[serve]'")

from fastapi.testclient import TestClient

from ttpmap.learn.artifacts import MODEL_VERSION
from ttpmap.models import Analysis
from ttpmap.server import create_app
from ttpmap.server.accounts import create_token, create_user
from ttpmap.store import RunKey, Store, open_store, save_analysis

DEFAULT_VERSION = f"default-v{MODEL_VERSION}"

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PASSWORD = "correct horse battery"
KEY = RunKey(DEFAULT_VERSION, "a" * 64)


@dataclass
class Workbench:
    """An app over a fresh store with one user per role and an API token each."""

    store: Store
    app: object
    tokens: dict[str, str]

    def client(self, role: str | None = None) -> TestClient:
        """A client sending ``role``'s API token (anonymous when None)."""
        client = TestClient(self.app)  # type: ignore[arg-type]
        if role:
            client.headers["Authorization"] = f"Bearer {self.tokens[role]}"
        return client

    def browser(self, role: str) -> tuple[TestClient, str]:
        """A client signed in through the login form, and the session's CSRF token."""
        client = TestClient(self.app)  # type: ignore[arg-type]
        page = client.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        r = client.post("/login", data={"username": role, "password": PASSWORD, "csrf": token})
        assert r.status_code == 200, r.text
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', r.text).group(1)  # type: ignore[union-attr]
        return client, csrf


def make_workbench(url: str) -> Workbench:
    store = open_store(url)
    tokens = {}
    for role in ("viewer", "analyst", "admin"):
        user = create_user(store, role, PASSWORD, role)
        tokens[role] = create_token(store, user, "tests")[1]
    return Workbench(store, create_app(store), tokens)


def seed(store: Store, analysis: Analysis, text: str) -> int:
    """Store an analysis and return its report (document) id."""
    from sqlalchemy import select

    from ttpmap.store.schema import DocumentRow

    save_analysis(store, analysis, text, KEY)
    with store.session() as s:
        return s.scalar(select(DocumentRow.id).where(DocumentRow.sha256 == analysis.document.sha256))  # type: ignore[return-value]
