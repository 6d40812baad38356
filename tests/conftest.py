"""Shared fixtures: every test session uses its own ttpmap cache, never the user's."""

from __future__ import annotations

import pytest

from ttpmap.kb import KnowledgeBase, load_kb


@pytest.fixture(scope="session", autouse=True)
def session_cache(tmp_path_factory: pytest.TempPathFactory):
    """Point ``TTPMAP_CACHE`` at a temporary directory for the whole session (tests may override it)."""
    mp = pytest.MonkeyPatch()
    path = tmp_path_factory.mktemp("ttpmap-cache")
    mp.setenv("TTPMAP_CACHE", str(path))
    mp.delenv("TTPMAP_ATTACK", raising=False)
    mp.delenv("TTPMAP_ATTACK_BASE_URL", raising=False)
    yield path
    mp.undo()


@pytest.fixture(scope="session")
def kb(session_cache) -> KnowledgeBase:
    """The embedded ATT&CK v15.0 Enterprise knowledge base, loaded once per session."""
    return load_kb()


@pytest.fixture(scope="session")
def analysis_apt():
    """Hand-built Analysis of examples/apt-exchange-intrusion.md, for defend/ and publish/ tests.

    Immutable (frozen): tests that need a variant build one with ``model_copy(update=...)``.
    """
    from pathlib import Path

    from ttpmap.models import Analysis

    path = Path(__file__).parent / "fixtures" / "analysis_apt.json"
    return Analysis.model_validate_json(path.read_text(encoding="utf-8"))
