"""Users, passwords (argon2), console sessions with a CSRF token, and bearer API tokens.

Only hashes are stored: a session cookie and an API token are random secrets shown once and kept
as SHA-256 digests, so a copy of the database lets nobody in.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from contactcenter.errors import Conflict, Invalid, NotFound
from contactcenter.model import Role
from contactcenter.runtime.clock import iso, now
from contactcenter.store.db import Database
from contactcenter.store.tables import agents, api_tokens, sessions, users

_hasher = PasswordHasher()
# Password hashing has threads of its own: a burst of logins must not hold up the default pool,
# where mail and files are stored (argon2 releases the GIL while it hashes).
_HASHING = ThreadPoolExecutor(max_workers=2, thread_name_prefix="password-hashing")


async def _in_hashing_pool(function: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(_HASHING, function, *args)


# Verifying against this when the user does not exist keeps the time the same either way.
_DUMMY_HASH = _hasher.hash("not a real password")
MIN_PASSWORD = 10
TOKEN_PREFIX = "cc_"


# How long a checked API token is believed without reading it again, and how many are kept.
TOKEN_CACHE_SECONDS = 5.0  # how long a checked token or session is believed without a read
TOKEN_CACHE_SIZE = 10_000


class _Recent:
    """Principals recently read, by the digest of their secret: believed for
    `TOKEN_CACHE_SECONDS` (read at call time, so tests can change it), then read again."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[Principal, float]] = {}

    def get(self, digest: str) -> Principal | None:
        known = self._seen.get(digest)
        if known is None or time.monotonic() - known[1] >= TOKEN_CACHE_SECONDS:
            return None
        return known[0]

    def put(self, digest: str, principal: Principal | None) -> None:
        if principal is None:
            self._seen.pop(digest, None)
            return
        if len(self._seen) >= TOKEN_CACHE_SIZE:
            self._seen.clear()  # many at once: start again rather than grow
        self._seen[digest] = (principal, time.monotonic())

    def forget(self, gone: Callable[[Principal], bool]) -> None:
        self._seen = {d: k for d, k in self._seen.items() if not gone(k[0])}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is making a request, and how they proved it."""

    user_id: int
    username: str
    role: Role
    agent_id: int | None
    via: str  # "session" or "token"
    csrf_token: str | None = None
    token_id: int | None = None  # the API token the request came with

    def json(self) -> dict[str, Any]:
        return {
            "id": self.user_id,
            "username": self.username,
            "role": self.role.value,
            "agent_id": self.agent_id,
        }


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Accounts:
    def __init__(self, *, db: Database, session_hours: float = 12.0) -> None:
        self.db = db
        self.session_lifetime = timedelta(hours=session_hours)
        # API tokens and console sessions recently checked: a busy integration or console
        # then costs no read per request. Revoking a token, logging out or changing a password
        # here forgets at once; on another instance it holds within TOKEN_CACHE_SECONDS.
        self._tokens = _Recent()
        self._sessions = _Recent()

    async def create_user(
        self, username: str, password: str, role: Role, agent_id: int | None = None
    ) -> dict[str, Any]:
        if len(password) < MIN_PASSWORD:
            raise Invalid(f"password must be at least {MIN_PASSWORD} characters", "password")
        password_hash = await _in_hashing_pool(_hasher.hash, password)
        try:
            async with self.db.begin() as conn:
                if agent_id is not None:
                    found = (
                        await conn.execute(select(agents.c.id).where(agents.c.id == agent_id))
                    ).scalar_one_or_none()
                    if found is None:
                        raise NotFound("agent", agent_id, "agent_id")
                user_id = (
                    await conn.execute(
                        insert(users)
                        .values(
                            username=username,
                            password_hash=password_hash,
                            role=role.value,
                            agent_id=agent_id,
                            active=True,
                            created_at=now(),
                        )
                        .returning(users.c.id)
                    )
                ).scalar_one()
        except IntegrityError:
            raise Conflict(f"user {username} exists already", "username") from None
        return {"id": user_id, "username": username, "role": role.value, "agent_id": agent_id}

    async def set_password(self, username: str, password: str) -> None:
        if len(password) < MIN_PASSWORD:
            raise Invalid(f"password must be at least {MIN_PASSWORD} characters", "password")
        password_hash = await _in_hashing_pool(_hasher.hash, password)
        # The user's sessions end: forgotten here at once (and on other instances within
        # TOKEN_CACHE_SECONDS).
        self._sessions.forget(lambda principal: principal.username == username)
        async with self.db.begin() as conn:
            result = await conn.execute(
                update(users)
                .where(users.c.username == username)
                .values(password_hash=password_hash)
            )
            if result.rowcount == 0:
                raise NotFound("user", username, "username")
            await conn.execute(
                delete(sessions).where(
                    sessions.c.user_id
                    == select(users.c.id).where(users.c.username == username).scalar_subquery()
                )
            )

    async def list_users(self) -> list[dict[str, Any]]:
        async with self.db.connect() as conn:
            rows = await conn.execute(select(users).order_by(users.c.id))
            return [
                {
                    "id": r.id,
                    "username": r.username,
                    "role": r.role,
                    "agent_id": r.agent_id,
                    "active": r.active,
                }
                for r in rows
            ]

    async def user_exists(self, username: str) -> bool:
        async with self.db.connect() as conn:
            found = await conn.execute(select(users.c.id).where(users.c.username == username))
            return found.scalar_one_or_none() is not None

    async def login(self, username: str, password: str) -> tuple[str, Principal] | None:
        """A new session (cookie secret, principal) for a right password, else None."""
        async with self.db.connect() as conn:
            row = (
                await conn.execute(
                    select(users).where(users.c.username == username, users.c.active.is_(True))
                )
            ).one_or_none()
        try:
            await _in_hashing_pool(
                _hasher.verify, row.password_hash if row else _DUMMY_HASH, password
            )
        except (VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        at = now()
        async with self.db.begin() as conn:
            await conn.execute(delete(sessions).where(sessions.c.expires_at < at))
            await conn.execute(
                insert(sessions).values(
                    token_hash=_digest(secret),
                    user_id=row.id,
                    csrf_token=csrf,
                    created_at=at,
                    expires_at=at + self.session_lifetime,
                )
            )
        principal = Principal(row.id, row.username, Role(row.role), row.agent_id, "session", csrf)
        return secret, principal

    async def logout(self, secret: str) -> None:
        self._sessions.put(_digest(secret), None)
        async with self.db.begin() as conn:
            await conn.execute(delete(sessions).where(sessions.c.token_hash == _digest(secret)))

    async def from_session(self, secret: str) -> Principal | None:
        digest = _digest(secret)
        known = self._sessions.get(digest)
        if known is not None:
            return known
        async with self.db.connect() as conn:
            row = (
                await conn.execute(
                    select(users, sessions.c.csrf_token, sessions.c.expires_at)
                    .join(sessions, sessions.c.user_id == users.c.id)
                    .where(sessions.c.token_hash == digest, users.c.active.is_(True))
                )
            ).one_or_none()
        principal = None
        # A session that ends within the cache's time is read each time, to end on the dot.
        if row is not None and row.expires_at > now():
            principal = Principal(
                row.id, row.username, Role(row.role), row.agent_id, "session", row.csrf_token
            )
        if row is not None and row.expires_at > now() + timedelta(seconds=TOKEN_CACHE_SECONDS):
            self._sessions.put(digest, principal)
        else:
            self._sessions.put(digest, None)
        return principal

    async def create_token(self, user_id: int, name: str) -> tuple[str, dict[str, Any]]:
        """A new API token for the user; the secret is returned here and never again."""
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        async with self.db.begin() as conn:
            found = (
                await conn.execute(select(users.c.id).where(users.c.id == user_id))
            ).scalar_one_or_none()
            if found is None:
                raise NotFound("user", user_id, "user_id")
            at = now()
            token_id = (
                await conn.execute(
                    insert(api_tokens)
                    .values(
                        user_id=user_id,
                        name=name,
                        token_hash=_digest(secret),
                        prefix=secret[:10],
                        created_at=at,
                    )
                    .returning(api_tokens.c.id)
                )
            ).scalar_one()
        return secret, {
            "id": token_id,
            "user_id": user_id,
            "name": name,
            "prefix": secret[:10],
            "created_at": at.isoformat(),
        }

    async def list_tokens(self) -> list[dict[str, Any]]:
        async with self.db.connect() as conn:
            rows = await conn.execute(select(api_tokens).order_by(api_tokens.c.id))
            return [
                {
                    "id": r.id,
                    "user_id": r.user_id,
                    "name": r.name,
                    "prefix": r.prefix,
                    "created_at": r.created_at.isoformat(),
                    "last_used_at": iso(r.last_used_at),
                    "revoked_at": iso(r.revoked_at),
                }
                for r in rows
            ]

    async def revoke_token(self, token_id: int) -> None:
        self._tokens.forget(lambda principal: principal.token_id == token_id)
        async with self.db.begin() as conn:
            result = await conn.execute(
                update(api_tokens)
                .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=now())
            )
            if result.rowcount == 0:
                raise NotFound("active API token", token_id)

    async def from_token(self, secret: str) -> Principal | None:
        digest = _digest(secret)
        known = self._tokens.get(digest)
        if known is not None:
            return known
        principal = await self._read_token(digest)
        self._tokens.put(digest, principal)
        return principal

    async def _read_token(self, digest: str) -> Principal | None:
        async with self.db.connect() as conn:
            row = (
                await conn.execute(
                    select(users, api_tokens.c.id.label("token_id"), api_tokens.c.last_used_at)
                    .join(api_tokens, api_tokens.c.user_id == users.c.id)
                    .where(
                        api_tokens.c.token_hash == digest,
                        api_tokens.c.revoked_at.is_(None),
                        users.c.active.is_(True),
                    )
                )
            ).one_or_none()
        if row is None:
            return None
        at = now()
        # Written at most once a minute per token, so that busy integrations do not write on
        # every request.
        if row.last_used_at is None or at - row.last_used_at > timedelta(minutes=1):
            async with self.db.begin() as conn:
                await conn.execute(
                    update(api_tokens)
                    .where(api_tokens.c.id == row.token_id)
                    .values(last_used_at=at)
                )
        return Principal(
            row.id, row.username, Role(row.role), row.agent_id, "token", token_id=row.token_id
        )
