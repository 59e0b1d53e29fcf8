"""COP users, sessions and login throttling, on the node's own store (migration 2 tables).

* Passwords: argon2id with the OWASP-recommended minimum (19 MiB, 2 passes, 1 lane: about
  0.15 s per check on a 2-core node); only the hash is stored.
* Sessions: a random 256-bit token goes to the browser in an HttpOnly, SameSite=Strict
  cookie; the store keeps only its SHA-256, so a copy of the database does not log anyone
  in. Each session has a CSRF token that every state-changing request must echo in the
  ``X-CSRF-Token`` header (or a ``csrf_token`` form field), and an absolute expiry.
* Login throttling: per (username, client address), ``max_failures`` wrong passwords in
  ``window_s`` lock that pair out until the window passes (HTTP 429), even for the right
  password, so guessing is capped at a few tries a minute.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from trilink.errors import InputError
from trilink.model.ids import parse_utc_timestamp, utc_timestamp
from trilink.store.base import Store

ROLES = ("viewer", "analyst", "admin")
_USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
MIN_PASSWORD_CHARS = 10
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
# Verifying against this when the user does not exist keeps the answer time the same, so
# response timing does not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("trilink-no-such-user")


class UserError(InputError):
    """A user-management request that cannot be done as asked."""


@dataclass(frozen=True)
class User:
    username: str
    role: str
    created_at: str
    disabled: bool

    def may(self, role: str) -> bool:
        """True when this user's role is ``role`` or above (viewer < analyst < admin)."""
        return ROLES.index(self.role) >= ROLES.index(role)


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str
    expires_at: datetime
    token_hash: str


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_username(username: str) -> str:
    name = username.strip().lower()
    if not _USERNAME_RE.match(name):
        raise UserError(
            f"username {username!r} must be 2-32 characters: a-z, 0-9, '.', '_', '-' "
            "(starting with a letter or digit)",
            field="username",
        )
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(f"role {role!r} is not one of {', '.join(ROLES)}", field="role")
    return role


def create_user(store: Store, username: str, password: str, role: str) -> User:
    """Add a COP user. Raises ``UserError`` if the name is taken or a field is invalid."""
    name = check_username(username)
    check_role(role)
    if len(password) < MIN_PASSWORD_CHARS:
        raise UserError(
            f"password must have at least {MIN_PASSWORD_CHARS} characters", field="password"
        )
    now = utc_timestamp()
    with store.transaction():
        if store.query("SELECT 1 FROM users WHERE username = ?", (name,)):
            raise UserError(
                f"user {name!r} already exists; use 'trilink user passwd' to change the password",
                field="username",
            )
        store.execute(
            "INSERT INTO users (username, password_hash, role, created_at, disabled) "
            "VALUES (?, ?, ?, ?, 0)",
            (name, _hasher.hash(password), role, now),
        )
    return User(name, role, now, False)


def get_user(store: Store, username: str) -> User | None:
    rows = store.query(
        "SELECT username, role, created_at, disabled FROM users WHERE username = ?",
        (username.strip().lower(),),
    )
    if not rows:
        return None
    name, role, created, disabled = rows[0]
    return User(str(name), str(role), str(created), bool(disabled))


def list_users(store: Store) -> list[User]:
    rows = store.query("SELECT username, role, created_at, disabled FROM users ORDER BY username")
    return [User(str(n), str(r), str(c), bool(d)) for n, r, c, d in rows]


def set_password(store: Store, username: str, password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise UserError(
            f"password must have at least {MIN_PASSWORD_CHARS} characters", field="password"
        )
    _require(store, username)
    with store.transaction():
        store.execute(
            "UPDATE users SET password_hash = ? WHERE username = ?",
            (_hasher.hash(password), username.strip().lower()),
        )
        store.execute("DELETE FROM sessions WHERE username = ?", (username.strip().lower(),))


def set_disabled(store: Store, username: str, disabled: bool) -> None:
    """Disable (or re-enable) a user; disabling also ends their sessions."""
    _require(store, username)
    name = username.strip().lower()
    with store.transaction():
        store.execute("UPDATE users SET disabled = ? WHERE username = ?", (int(disabled), name))
        if disabled:
            store.execute("DELETE FROM sessions WHERE username = ?", (name,))


def _require(store: Store, username: str) -> User:
    user = get_user(store, username)
    if user is None:
        raise UserError(f"no user {username!r}; add one with 'trilink user add'", field="username")
    return user


def authenticate(store: Store, username: str, password: str) -> User | None:
    """The user if the password is right and the account enabled; else None."""
    rows = store.query(
        "SELECT password_hash FROM users WHERE username = ?", (username.strip().lower(),)
    )
    stored = str(rows[0][0]) if rows else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    user = get_user(store, username) if rows else None
    if user is None or user.disabled:
        return None
    if _hasher.check_needs_rehash(stored):
        with store.transaction():
            store.execute(
                "UPDATE users SET password_hash = ? WHERE username = ?",
                (_hasher.hash(password), user.username),
            )
    return user


def start_session(store: Store, user: User, ttl: timedelta) -> tuple[str, Session]:
    """A new session; returns (the token for the cookie, the session)."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    expires = now + ttl
    with store.transaction():
        store.execute("DELETE FROM sessions WHERE expires_at < ?", (utc_timestamp(now),))
        store.execute(
            "INSERT INTO sessions (token_hash, username, csrf, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (_token_hash(token), user.username, csrf, utc_timestamp(now), utc_timestamp(expires)),
        )
    return token, Session(user, csrf, expires, _token_hash(token))


def lookup_session(store: Store, token: str | None, now: datetime | None = None) -> Session | None:
    """The live session of ``token``; None when unknown, expired or its user is disabled."""
    if not token or len(token) > 200:
        return None
    digest = _token_hash(token)
    rows = store.query(
        "SELECT s.csrf, s.expires_at, u.username, u.role, u.created_at, u.disabled "
        "FROM sessions s JOIN users u ON u.username = s.username WHERE s.token_hash = ?",
        (digest,),
    )
    if not rows:
        return None
    csrf, expires_text, name, role, created, disabled = rows[0]
    expires = parse_utc_timestamp(str(expires_text))
    if expires <= (now or datetime.now(UTC)) or disabled:
        return None
    return Session(
        User(str(name), str(role), str(created), bool(disabled)), str(csrf), expires, digest
    )


def end_session(store: Store, token_hash: str) -> None:
    with store.transaction():
        store.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))


def csrf_ok(session: Session, presented: str | None) -> bool:
    return bool(presented) and secrets.compare_digest(session.csrf, presented or "")


class LoginThrottle:
    """Failed logins per (username, client) in a sliding window. In memory: a restart
    forgets, which is acceptable for a per-minute limit."""

    def __init__(self, max_failures: int = 5, window_s: float = 60.0) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and now - times[0] >= self.window_s:
            times.popleft()
        return times

    def retry_after_s(self, username: str, client: str, now: float | None = None) -> int:
        """Seconds until this pair may try again; 0 when not locked out."""
        moment = time.monotonic() if now is None else now
        with self._lock:
            times = self._recent((username.strip().lower(), client), moment)
            if len(times) < self.max_failures:
                return 0
            return max(1, int(self.window_s - (moment - times[0]) + 0.999))

    def failed(self, username: str, client: str, now: float | None = None) -> None:
        moment = time.monotonic() if now is None else now
        with self._lock:
            self._recent((username.strip().lower(), client), moment).append(moment)
            if len(self._failures) > 10_000:  # bound memory under a spray of usernames
                for key in [k for k, v in self._failures.items() if not v][:5_000]:
                    del self._failures[key]

    def succeeded(self, username: str, client: str) -> None:
        with self._lock:
            self._failures.pop((username.strip().lower(), client), None)
