"""Local accounts and API tokens: argon2 password hashes, tokens stored as sha256, role checks."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from ttpmap.errors import UsageError
from ttpmap.store import Store
from ttpmap.store.schema import utcnow
from ttpmap.store.workbench import ROLES, TokenRow, UserRow

_HASHER = PasswordHasher()
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD = 8
TOKEN_PREFIX = "ttp_"


@dataclass(frozen=True)
class User:
    """The signed-in user as routes see it."""

    id: int
    username: str
    role: str
    password_tag: str = ""

    def can(self, role: str) -> bool:
        """Whether this user's role is at least ``role`` (viewer < analyst < admin)."""
        return ROLES.index(self.role) >= ROLES.index(role)


def _user(row: UserRow) -> User:
    # the tail of the hash ties a session to the current password: changing it ends old sessions
    return User(row.id, row.username, row.role, row.password_hash[-12:])


def create_user(store: Store, username: str, password: str, role: str) -> User:
    """Add an account (UsageError for a bad name, short password, unknown role or a taken name)."""
    if not _USERNAME.match(username or ""):
        raise UsageError("user names are 1-64 letters, digits, '.', '_', '@' or '-'")
    if len(password or "") < MIN_PASSWORD:
        raise UsageError(f"passwords need at least {MIN_PASSWORD} characters")
    if role not in ROLES:
        raise UsageError(f"role must be one of {', '.join(ROLES)}")
    with store.session() as s, s.begin():
        if s.scalar(select(UserRow.id).where(UserRow.username == username)) is not None:
            raise UsageError(f"user {username!r} already exists")
        row = UserRow(
            username=username,
            password_hash=_HASHER.hash(password),
            role=role,
            active=True,
            created_at=utcnow(),
        )
        s.add(row)
        s.flush()
        return _user(row)


def authenticate(store: Store, username: str, password: str) -> User | None:
    """The user if the password matches (rehashing old parameters), else None."""
    with store.session() as s, s.begin():
        row = s.scalar(select(UserRow).where(UserRow.username == username, UserRow.active.is_(True)))
        if row is None:
            _HASHER.hash(password or "x")  # same work either way, so timing does not reveal names
            return None
        try:
            _HASHER.verify(row.password_hash, password or "")
        except (VerificationError, InvalidHashError):
            return None
        if _HASHER.check_needs_rehash(row.password_hash):
            row.password_hash = _HASHER.hash(password)
        return _user(row)


def user_by_id(store: Store, user_id: int) -> User | None:
    """An active user by id."""
    with store.session() as s:
        row = s.get(UserRow, user_id)
        return _user(row) if row is not None and row.active else None


def list_users(store: Store) -> list[User]:
    """Every account, by name."""
    with store.session() as s:
        return [_user(r) for r in s.scalars(select(UserRow).order_by(UserRow.username))]


def has_users(store: Store) -> bool:
    """Whether any account exists (the first admin is made with ``ttpmap serve --create-admin``)."""
    with store.session() as s:
        return s.scalar(select(UserRow.id).limit(1)) is not None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(store: Store, user: User, name: str) -> tuple[int, str]:
    """A new API token for ``user``: its id and the secret, shown once and stored only as a hash."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with store.session() as s, s.begin():
        row = TokenRow(user_id=user.id, name=name[:64], token_hash=_digest(secret), created_at=utcnow())
        s.add(row)
        s.flush()
        return row.id, secret


def user_for_token(store: Store, token: str) -> User | None:
    """The owner of an API token, or None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    with store.session() as s, s.begin():
        row = s.scalar(select(TokenRow).where(TokenRow.token_hash == _digest(token)))
        if row is None:
            return None
        user = s.get(UserRow, row.user_id)
        if user is None or not user.active:
            return None
        row.last_used_at = utcnow()
        return _user(user)


def list_tokens(store: Store, user: User) -> list[dict[str, object]]:
    """The user's tokens (never their secrets)."""
    with store.session() as s:
        rows = s.scalars(select(TokenRow).where(TokenRow.user_id == user.id).order_by(TokenRow.id))
        return [
            {"id": r.id, "name": r.name, "created_at": r.created_at, "last_used_at": r.last_used_at}
            for r in rows
        ]


def revoke_token(store: Store, user: User, token_id: int) -> bool:
    """Delete one of the user's tokens; False if it is not theirs."""
    with store.session() as s, s.begin():
        row = s.get(TokenRow, token_id)
        if row is None or row.user_id != user.id:
            return False
        s.delete(row)
        return True
