"""COP users, sessions and login throttling, on the node's own store (migration 2 tables).

* Passwords: argon2id with the OWASP-recommended minimum (19 MiB, 2 passes, 1 lane: about
  0.15 s per check on a 2-core node); only the hash is stored.
* Sessions: a random 256-bit token goes to the browser in an HttpOnly, SameSite=Strict
  cookie; the store keeps only its SHA-256, so a copy of the database does not log anyone
  in. Each session has a CSRF token that every state-changing request must echo in the
  ``X-CSRF-Token`` header (or a ``csrf_token`` form field), and an absolute expiry.
* Login throttling: per (username, client address), ``max_failures`` wrong passwords in
  ``window_s`` lock that pair out until the window passes (HTTP 429), even for the right
  password, so guessing is capped at a few tries a minute; a client that fails
  ``max_client_failures`` times over any usernames is locked out the same way.
* Failure audit limit: failed logins and refused requests are audited, at most so many rows
  per client and in all per minute; one summary row per minute counts the rest.

Users and sessions are stored through ``trilink.store.users``: no SQL here.
"""

from __future__ import annotations

import hashlib
import itertools
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
from trilink.store.users import ROLES, User, UserRepository

_USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
MIN_PASSWORD_CHARS = 10
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
# Verifying against this when the user does not exist keeps the answer time the same, so
# response timing does not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("trilink-no-such-user")


class UserError(InputError):
    """A user-management request that cannot be done as asked."""


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str
    expires_at: datetime
    token_hash: str


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


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
    _check_password(password)
    now = utc_timestamp()
    if not UserRepository(store).add(name, _hasher.hash(password), role, now):
        raise UserError(
            f"user {name!r} already exists; use 'trilink user passwd' to change the password",
            field="username",
        )
    return User(name, role, now, False)


def get_user(store: Store, username: str) -> User | None:
    return UserRepository(store).get(username.strip().lower())


def set_password(store: Store, username: str, password: str) -> None:
    """Set a new password and end the user's open sessions."""
    _check_password(password)
    user = _require(store, username)
    UserRepository(store).set_password_hash(
        user.username, _hasher.hash(password), end_sessions=True
    )


def set_disabled(store: Store, username: str, disabled: bool) -> None:
    """Disable (or re-enable) a user; disabling also ends their sessions."""
    user = _require(store, username)
    UserRepository(store).set_disabled(user.username, disabled)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise UserError(
            f"password must have at least {MIN_PASSWORD_CHARS} characters", field="password"
        )


def _require(store: Store, username: str) -> User:
    user = get_user(store, username)
    if user is None:
        raise UserError(f"no user {username!r}; add one with 'trilink user add'", field="username")
    return user


def authenticate(store: Store, username: str, password: str) -> User | None:
    """The user if the password is right and the account enabled; else None."""
    users = UserRepository(store)
    found = users.with_password_hash(username.strip().lower())
    stored = found[1] if found else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if found is None or found[0].disabled:
        return None
    user = found[0]
    if _hasher.check_needs_rehash(stored):
        users.set_password_hash(user.username, _hasher.hash(password), end_sessions=False)
    return user


def start_session(store: Store, user: User, ttl: timedelta) -> tuple[str, Session]:
    """A new session; returns (the token for the cookie, the session)."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    expires = now + ttl
    digest = _token_hash(token)
    UserRepository(store).add_session(
        digest, user.username, csrf, utc_timestamp(now), utc_timestamp(expires)
    )
    return token, Session(user, csrf, expires, digest)


def lookup_session(store: Store, token: str | None, now: datetime | None = None) -> Session | None:
    """The live session of ``token``; None when unknown, expired or its user is disabled."""
    if not token or len(token) > 200:
        return None
    digest = _token_hash(token)
    found = UserRepository(store).session(digest)
    if found is None:
        return None
    expires = parse_utc_timestamp(found.expires_at)
    if expires <= (now or datetime.now(UTC)) or found.user.disabled:
        return None
    return Session(found.user, found.csrf, expires, digest)


def end_session(store: Store, token_hash: str) -> None:
    UserRepository(store).end_session(token_hash)


def csrf_ok(session: Session, presented: str | None) -> bool:
    if not presented:
        return False
    # bytes: compare_digest refuses str with non-ASCII characters, which a header may carry
    given = presented.encode("utf-8", "surrogatepass")
    return secrets.compare_digest(session.csrf.encode("ascii"), given)


class _SlidingWindow:
    """Event times per key within the last ``window_s`` seconds, memory-bounded."""

    def __init__(self, window_s: float, max_keys: int = 10_000) -> None:
        self.window_s = window_s
        self.max_keys = max_keys
        self._times: dict[object, deque[float]] = {}

    def recent(self, key: object, now: float) -> deque[float]:
        times = self._times.setdefault(key, deque())
        while times and now - times[0] >= self.window_s:
            times.popleft()
        return times

    def add(self, key: object, now: float) -> None:
        self.recent(key, now).append(now)
        if len(self._times) > self.max_keys:  # a spray of usernames or addresses
            for stale in [k for k, v in self._times.items() if now - v[-1] >= self.window_s]:
                del self._times[stale]
            # Still full of live keys: forget the longest-known tenth at once, so the scan
            # above runs once per thousand new keys, not on each.
            excess = len(self._times) - self.max_keys * 9 // 10
            for oldest in list(itertools.islice(self._times, max(0, excess))):
                del self._times[oldest]

    def forget(self, key: object) -> None:
        self._times.pop(key, None)


class LoginThrottle:
    """Failed logins in a sliding window, counted twice: per (username, client), where
    ``max_failures`` lock that pair out, and per client over every username, where
    ``max_client_failures`` lock the client out (a password spray from one address). In
    memory: a restart forgets, which is acceptable for a per-minute limit."""

    def __init__(
        self, max_failures: int = 5, window_s: float = 60.0, max_client_failures: int = 20
    ) -> None:
        self.max_failures = max_failures
        self.max_client_failures = max_client_failures
        self.window_s = window_s
        self._pairs = _SlidingWindow(window_s)
        self._clients = _SlidingWindow(window_s)
        self._lock = threading.Lock()

    def _wait_s(self, times: deque[float], limit: int, now: float) -> int:
        if len(times) < limit:
            return 0
        return max(1, int(self.window_s - (now - times[-limit]) + 0.999))

    def retry_after_s(self, username: str, client: str, now: float | None = None) -> int:
        """Seconds until this username may try again from this client; 0 when not locked."""
        moment = time.monotonic() if now is None else now
        with self._lock:
            pair = self._pairs.recent((username.strip().lower(), client), moment)
            by_client = self._clients.recent(client, moment)
            return max(
                self._wait_s(pair, self.max_failures, moment),
                self._wait_s(by_client, self.max_client_failures, moment),
            )

    def failed(self, username: str, client: str, now: float | None = None) -> None:
        moment = time.monotonic() if now is None else now
        with self._lock:
            self._pairs.add((username.strip().lower(), client), moment)
            self._clients.add(client, moment)

    def succeeded(self, username: str, client: str) -> None:
        """Clears the pair's failures; the client's count stays, or one account known to
        the sprayer would reset it."""
        with self._lock:
            self._pairs.forget((username.strip().lower(), client))
