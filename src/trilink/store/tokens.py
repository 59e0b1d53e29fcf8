"""API tokens of the node API (migration 6): who may read, publish or administer.

A token is shown once, when created; the store keeps only its SHA-256 (tokens are 256 random
bits, so a fast hash is enough: nobody can guess one from its hash).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from trilink.errors import ConfigError
from trilink.model.ids import utc_timestamp
from trilink.store.base import Store

# Lowest to highest: each role may do everything the roles before it may.
TOKEN_ROLES = ("reader", "publisher", "admin")
TOKEN_PREFIX = "tl_"
# A partner's TAXII token (issue #18): it reads only that partner's TAXII API root on this
# node, and nothing else of the node API. Stored as role ``taxii:<NATION>``.
TAXII_ROLE = "taxii"


@dataclass(frozen=True)
class ApiToken:
    name: str
    role: str
    created_at: str
    revoked: bool

    def may(self, role: str) -> bool:
        if self.role not in TOKEN_ROLES:
            return False
        return TOKEN_ROLES.index(self.role) >= TOKEN_ROLES.index(role)

    @property
    def partner(self) -> str | None:
        """The partner nation of a TAXII token, None for this nation's own tokens."""
        kind, _, nation = self.role.partition(":")
        return nation if kind == TAXII_ROLE and nation else None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


class TokenRepository:
    def __init__(self, store: Store) -> None:
        self.store = store

    def create(self, name: str, role: str, *, partner: str | None = None) -> str:
        """A new token for ``name`` with ``role``; returns the token text (shown once).
        ``role="taxii"`` needs ``partner``: the nation whose TAXII API root it reads."""
        if role == TAXII_ROLE:
            code = (partner or "").strip().upper()
            if len(code) != 3 or not code.isascii() or not code.isalpha():
                raise ConfigError(
                    "a taxii token is for one partner: give --partner with its nation code"
                )
            role = f"{TAXII_ROLE}:{code}"
        elif partner:
            raise ConfigError(f"--partner is for taxii tokens only, not {role!r} tokens")
        elif role not in TOKEN_ROLES:
            raise ConfigError(
                f"role must be one of {', '.join((*TOKEN_ROLES, TAXII_ROLE))}, not {role!r}"
            )
        if not name or len(name) > 64 or not name.isprintable():
            raise ConfigError("a token name is 1 to 64 printable characters")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.store.transaction():
            if self.store.query("SELECT 1 FROM api_tokens WHERE name = ?", (name,)):
                raise ConfigError(
                    f"a token named {name!r} exists: revoke it first or choose another --name"
                )
            self.store.execute(
                "INSERT INTO api_tokens (token_hash, name, role, created_at, revoked) "
                "VALUES (?, ?, ?, ?, 0)",
                (token_hash(token), name, role, utc_timestamp()),
            )
        return token

    def check(self, token: str) -> ApiToken | None:
        """The token's record if it exists and is not revoked."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 128:
            return None
        rows = self.store.query(
            "SELECT name, role, created_at, revoked FROM api_tokens WHERE token_hash = ?",
            (token_hash(token),),
        )
        if not rows or rows[0][3]:
            return None
        name, role, created, revoked = rows[0]
        return ApiToken(str(name), str(role), str(created), bool(revoked))

    def all(self) -> list[ApiToken]:
        rows = self.store.query(
            "SELECT name, role, created_at, revoked FROM api_tokens ORDER BY created_at"
        )
        return [ApiToken(str(n), str(r), str(c), bool(v)) for n, r, c, v in rows]

    def revoke(self, name: str) -> bool:
        with self.store.transaction():
            found = self.store.query("SELECT 1 FROM api_tokens WHERE name = ?", (name,))
            if found:
                self.store.execute("UPDATE api_tokens SET revoked = 1 WHERE name = ?", (name,))
        return bool(found)
