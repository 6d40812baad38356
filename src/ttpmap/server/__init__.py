"""The analyst workbench (``ttpmap serve``): upload, review evidence, correct mappings, retrain, publish.

Needs the ``serve`` extra (FastAPI, Uvicorn, argon2-cffi, itsdangerous, python-multipart).
"""

from __future__ import annotations

from ttpmap.server.app import create_app

__all__ = ["create_app"]
