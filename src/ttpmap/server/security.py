"""Who is asking: signed HttpOnly session cookies or bearer API tokens, role checks and CSRF.

A session cookie carries the user id, a per-session CSRF token and a tag of the password hash (so a
password change ends old sessions). Every state-changing request made with the cookie must echo the
CSRF token in the ``X-CSRF-Token`` header or a ``csrf`` form field; API tokens are not ambient, so
requests bearing one need no CSRF token.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from ttpmap.server.accounts import User, user_by_id, user_for_token
from ttpmap.store import Store
from ttpmap.store.workbench import SettingRow

SESSION_COOKIE = "ttpmap_session"
LOGIN_COOKIE = "ttpmap_login"
SESSION_SECONDS = 12 * 3600
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def signing_key(store: Store) -> str:
    """The store's session signing key, made once and shared by every server process of the store."""
    with store.session() as s, s.begin():
        row = s.get(SettingRow, "session_key")
        if row is None:
            row = SettingRow(key="session_key", value=secrets.token_urlsafe(48))
            s.add(row)
        return row.value


def ensure_key(store: Store) -> str:
    """The signing key, tolerating two processes creating it at once."""
    from sqlalchemy.exc import IntegrityError

    try:
        return signing_key(store)
    except IntegrityError:
        with store.session() as s:
            return s.scalar(select(SettingRow.value).where(SettingRow.key == "session_key")) or ""


class Sessions:
    """Signs and reads session and login cookies."""

    def __init__(self, key: str) -> None:
        self._session = URLSafeTimedSerializer(key, salt="ttpmap-session")
        self._login = URLSafeTimedSerializer(key, salt="ttpmap-login")

    def issue(self, user: User) -> tuple[str, str]:
        """A cookie value for a fresh session and its CSRF token."""
        csrf = secrets.token_urlsafe(24)
        return self._session.dumps({"u": user.id, "c": csrf, "p": user.password_tag}), csrf

    def read(self, cookie: str) -> dict[str, object] | None:
        try:
            data = self._session.loads(cookie, max_age=SESSION_SECONDS)
        except BadSignature:
            return None
        return data if isinstance(data, dict) else None

    def login_token(self) -> str:
        """The pre-login CSRF token (double-submitted: a signed cookie and a form field)."""
        return self._login.dumps(secrets.token_urlsafe(16))

    def login_ok(self, cookie: str | None, field: str | None) -> bool:
        if not cookie or not field or not hmac.compare_digest(cookie, field):
            return False
        try:
            self._login.loads(cookie, max_age=3600)
        except BadSignature:
            return False
        return True


def _resolve(request: Request) -> User | None:
    """The user of a request (token or session), caching the CSRF token on ``request.state``."""
    if hasattr(request.state, "user"):
        return request.state.user
    app = request.app.state
    user: User | None = None
    request.state.csrf = None
    request.state.via = None
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        user = user_for_token(app.store, auth[7:].strip())
        request.state.via = "token" if user else None
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        data = app.sessions.read(cookie) if cookie else None
        if data and isinstance(data.get("u"), int):
            found = user_by_id(app.store, data["u"])
            if found is not None and hmac.compare_digest(found.password_tag, str(data.get("p", ""))):
                user, request.state.csrf, request.state.via = found, str(data.get("c", "")), "session"
    request.state.user = user
    return user


async def _csrf_ok(request: Request) -> bool:
    expected = request.state.csrf or ""
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf")
        sent = value if isinstance(value, str) else None
    return bool(expected) and sent is not None and hmac.compare_digest(expected, sent)


def require(role: str) -> Callable[[Request], Awaitable[User]]:
    """A dependency: the signed-in user if their role is at least ``role`` (401 / 403 otherwise)."""

    async def dependency(request: Request) -> User:
        user = _resolve(request)
        if user is None:
            raise HTTPException(401, "sign in or send an API token (Authorization: Bearer ...)")
        if (
            request.method not in SAFE_METHODS
            and request.state.via == "session"
            and not await _csrf_ok(request)
        ):
            raise HTTPException(403, "missing or wrong CSRF token; reload the page and try again")
        if not user.can(role):
            raise HTTPException(403, f"this needs the {role} role (you are {user.role})")
        return user

    dependency.__name__ = f"require_{role}"
    return dependency


def optional_user(request: Request) -> User | None:
    """The signed-in user or None (for the login page)."""
    return _resolve(request)


viewer = require("viewer")
analyst = require("analyst")
admin = require("admin")
