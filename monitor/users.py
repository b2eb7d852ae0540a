"""Console accounts: users with argon2 password hashes, server-side web sessions and
API tokens.

Secrets never touch the database in the clear: passwords are argon2-hashed, and
session and API tokens are random (``secrets.token_urlsafe``) with only their
SHA-256 stored, so a copy of the database lets nobody log in. A disabled user's
sessions are deleted and their tokens stop working (checked on every use)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete
from sqlmodel import select

from db.engine import read_session, session
from db.messages import said
from db.models import INTERFACE_LANGUAGES, ROLES, ApiToken, User, WebSession, utcnow

MIN_PASSWORD = 10
SESSION_TTL = timedelta(hours=12)
_HASHER = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the name is unknown, so a wrong name costs as long as a
    wrong password. Made on first use: an argon2 hash takes ~0.3 s, which every
    process importing this module (``crisiswatch --help`` too) would otherwise pay."""
    return _HASHER.hash("not a password of anyone")


class UserError(ValueError):
    """The request does not fit the accounts (unknown user, bad role, short password)."""


def token_hash(token: str) -> str:
    """What is stored for a session or API token: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(said("the password must have at least %(n)s characters",
                             n=MIN_PASSWORD))


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise UserError(said("unknown role %(role)r (use %(all)s)", role=role,
                             all=", ".join(ROLES)))


def _find(s, name: str) -> User:  # noqa: ANN001 - Session
    user = s.exec(select(User).where(User.name == name)).first()
    if user is None:
        raise UserError(said("no user named %(name)r", name=name))
    return user


def add_user(engine: Engine, name: str, role: str, password: str) -> User:
    """Create an account; names are unique, passwords at least MIN_PASSWORD long."""
    name = name.strip()
    if not name:
        raise UserError(said("the name must not be empty"))
    _check_role(role)
    _check_password(password)
    with session(engine) as s, s.begin():
        if s.exec(select(User).where(User.name == name)).first() is not None:
            raise UserError(said("a user named %(name)r exists already", name=name))
        user = User(name=name, role=role, password_hash=_HASHER.hash(password))
        s.add(user)
        s.flush()
        return user


def set_password(engine: Engine, name: str, password: str) -> None:
    """Change a password and end the user's sessions (whoever knew the old one is out)."""
    _check_password(password)
    with session(engine) as s, s.begin():
        user = _find(s, name)
        user.password_hash = _HASHER.hash(password)
        s.add(user)
        s.exec(delete(WebSession).where(WebSession.user_id == user.id))


def set_role(engine: Engine, name: str, role: str) -> None:
    """Change what an account may do. Sessions and tokens read the role from the
    account on every request, so the change applies at once, without a new login."""
    _check_role(role)
    with session(engine) as s, s.begin():
        user = _find(s, name)
        user.role = role
        s.add(user)


def set_disabled(engine: Engine, name: str, disabled: bool = True) -> None:
    """Disable (or enable) an account; disabling ends its sessions at once."""
    with session(engine) as s, s.begin():
        user = _find(s, name)
        user.disabled = disabled
        s.add(user)
        if disabled:
            s.exec(delete(WebSession).where(WebSession.user_id == user.id))


def set_language(engine: Engine, name: str, language: str | None) -> None:
    """The console's interface language for this account (``zh`` or ``en``); None
    goes back to following the browser's Accept-Language."""
    if language is not None and language not in INTERFACE_LANGUAGES:
        raise UserError(said("unknown language %(lang)r; use one of %(all)s", lang=language,
                             all=", ".join(INTERFACE_LANGUAGES)))
    with session(engine) as s, s.begin():
        user = _find(s, name)
        user.language = language
        s.add(user)


def list_users(engine: Engine) -> list[User]:
    with read_session(engine) as s:
        return list(s.exec(select(User).order_by(User.name)).all())


def verify(engine: Engine, name: str, password: str) -> User | None:
    """The enabled user with this name and password, else None (same cost either way)."""
    with read_session(engine) as s:
        user = s.exec(select(User).where(User.name == name.strip())).first()
    try:
        _HASHER.verify(user.password_hash if user else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled:
        return None
    if _HASHER.check_needs_rehash(user.password_hash):
        with session(engine) as s, s.begin():
            stored = s.get(User, user.id)
            stored.password_hash = _HASHER.hash(password)
            s.add(stored)
    return user


def create_token(engine: Engine, name: str, label: str) -> str:
    """A new API token for the user ``name``; the token itself is returned only here."""
    token = "cw_" + secrets.token_urlsafe(32)
    with session(engine) as s, s.begin():
        user = _find(s, name)
        s.add(ApiToken(user_id=user.id, name=label, token_hash=token_hash(token)))
    return token


def check_token(engine: Engine, token: str) -> User | None:
    """The enabled user an API token belongs to, else None; records its last use."""
    if not token:
        return None
    with session(engine) as s, s.begin():
        row = s.exec(select(ApiToken, User).join(User, ApiToken.user_id == User.id)
                     .where(ApiToken.token_hash == token_hash(token))).first()
        if row is None or row[1].disabled:
            return None
        api_token, user = row
        api_token.last_used_at = utcnow()
        s.add(api_token)
        return user


@dataclass(frozen=True)
class LoginSession:
    """A started session: ``token`` goes in the cookie, ``csrf_token`` in forms."""

    token: str
    csrf_token: str
    expires_at: datetime


def start_session(engine: Engine, user: User, ttl: timedelta = SESSION_TTL,
                  now: datetime | None = None) -> LoginSession:
    """A new server-side session; expired sessions of everyone are swept on the way."""
    now = now or utcnow()
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with session(engine) as s, s.begin():
        s.exec(delete(WebSession).where(WebSession.expires_at < now))
        s.add(WebSession(token_hash=token_hash(token), user_id=user.id, csrf_token=csrf,
                         created_at=now, expires_at=now + ttl))
    return LoginSession(token, csrf, now + ttl)


def session_user(engine: Engine, token: str,
                 now: datetime | None = None) -> tuple[User, WebSession] | None:
    """The enabled user and session a cookie token stands for, unless expired."""
    if not token:
        return None
    now = now or utcnow()
    with read_session(engine) as s:
        row = s.exec(select(User, WebSession).join(WebSession, WebSession.user_id == User.id)
                     .where(WebSession.token_hash == token_hash(token))).first()
    if row is None:
        return None
    user, web_session = row
    if user.disabled or web_session.expires_at <= now:
        return None
    return user, web_session


def end_session(engine: Engine, token: str) -> None:
    """Log out: the session row goes, so the cookie is worthless even if copied."""
    with session(engine) as s, s.begin():
        s.exec(delete(WebSession).where(WebSession.token_hash == token_hash(token)))


def same_secret(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two secrets; empty never matches."""
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())
