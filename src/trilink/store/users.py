"""COP logins and sessions: the ``users`` and ``sessions`` tables of migration 2.

Storage only. The COP's rules (password hashing, what a valid name is, when a session has
expired) live in ``trilink.web.auth``; this module keeps the SQL inside the store package,
so the web edge never writes a statement of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from trilink.store.base import Store

# Lowest to highest: each role may do everything the roles before it may.
ROLES = ("viewer", "analyst", "admin")

_USER_COLUMNS = "username, role, created_at, disabled"


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
class StoredSession:
    """A session row joined with its user. ``expires_at`` is the stored UTC timestamp."""

    user: User
    csrf: str
    expires_at: str


def _user(row: tuple[object, ...]) -> User:
    name, role, created, disabled = row
    return User(str(name), str(role), str(created), bool(disabled))


class UserRepository:
    """The users and sessions of one node's store. Names are stored as given: callers pass
    them already normalised (``trilink.web.auth.check_username``)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- users ----------------------------------------------------------------------------
    def add(self, username: str, password_hash: str, role: str, created_at: str) -> bool:
        """Add an enabled user; False (and nothing written) if the name is taken."""
        with self.store.transaction():
            if self.store.query("SELECT 1 FROM users WHERE username = ?", (username,)):
                return False
            self.store.execute(
                "INSERT INTO users (username, password_hash, role, created_at, disabled) "
                "VALUES (?, ?, ?, ?, 0)",
                (username, password_hash, role, created_at),
            )
        return True

    def get(self, username: str) -> User | None:
        rows = self.store.query(
            f"SELECT {_USER_COLUMNS} FROM users WHERE username = ?", (username,)
        )
        return _user(rows[0]) if rows else None

    def all(self) -> list[User]:
        rows = self.store.query(f"SELECT {_USER_COLUMNS} FROM users ORDER BY username")
        return [_user(row) for row in rows]

    def with_password_hash(self, username: str) -> tuple[User, str] | None:
        """The user and their stored password hash, in one read."""
        rows = self.store.query(
            f"SELECT {_USER_COLUMNS}, password_hash FROM users WHERE username = ?", (username,)
        )
        if not rows:
            return None
        return _user(rows[0][:4]), str(rows[0][4])

    def set_password_hash(self, username: str, password_hash: str, *, end_sessions: bool) -> None:
        with self.store.transaction():
            self.store.execute(
                "UPDATE users SET password_hash = ? WHERE username = ?", (password_hash, username)
            )
            if end_sessions:
                self.end_sessions_of(username)

    def set_disabled(self, username: str, disabled: bool) -> None:
        """Disable (ending every session of the user) or re-enable a user."""
        with self.store.transaction():
            self.store.execute(
                "UPDATE users SET disabled = ? WHERE username = ?", (int(disabled), username)
            )
            if disabled:
                self.end_sessions_of(username)

    # -- sessions -------------------------------------------------------------------------
    def add_session(
        self, token_hash: str, username: str, csrf: str, created_at: str, expires_at: str
    ) -> None:
        """Store a new session, dropping every session that expired before ``created_at``."""
        with self.store.transaction():
            self.store.execute("DELETE FROM sessions WHERE expires_at < ?", (created_at,))
            self.store.execute(
                "INSERT INTO sessions (token_hash, username, csrf, created_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (token_hash, username, csrf, created_at, expires_at),
            )

    def session(self, token_hash: str) -> StoredSession | None:
        rows = self.store.query(
            "SELECT u.username, u.role, u.created_at, u.disabled, s.csrf, s.expires_at "
            "FROM sessions s JOIN users u ON u.username = s.username WHERE s.token_hash = ?",
            (token_hash,),
        )
        if not rows:
            return None
        row = rows[0]
        return StoredSession(_user(row[:4]), str(row[4]), str(row[5]))

    def end_session(self, token_hash: str) -> None:
        with self.store.transaction():
            self.store.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))

    def end_sessions_of(self, username: str) -> None:
        with self.store.transaction():
            self.store.execute("DELETE FROM sessions WHERE username = ?", (username,))
