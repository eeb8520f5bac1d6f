"""API keys: created once, shown once, stored as SHA-256 hashes, looked up through a short cache.

A key reads ``mls_<id>_<secret>``; only ``sha256(key)`` is stored. Keys are random 256-bit
tokens, so a fast hash is enough (a slow password hash defends low-entropy secrets). Lookups are
cached for ``ttl`` seconds so that keys created or revoked by ``mlsiege gateway keys`` in another
process take effect within that delay.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from mlsiege.errors import ConfigError
from mlsiege.gateway.store import Database

__all__ = ["ROLES", "ApiKey", "KeyStore"]

ROLES = ("predict", "admin")


@dataclass(frozen=True)
class ApiKey:
    """A stored key (never its secret)."""

    key_id: str
    name: str
    roles: tuple[str, ...]
    output: dict[str, Any] | None
    created: float
    revoked: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.key_id, "name": self.name, "roles": list(self.roles), "output": self.output,
                "created": self.created, "revoked": self.revoked}


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _row_key(row: dict[str, Any]) -> ApiKey:
    return ApiKey(row["key_id"], row["name"], tuple(filter(None, row["roles"].split(","))),
                  json.loads(row["output"]) if row["output"] else None, row["created"], row["revoked"])


class KeyStore:
    """Create, revoke, list and authenticate API keys kept in the gateway database."""

    def __init__(self, db: Database, *, ttl: float = 2.0, clock: Any = time.monotonic) -> None:
        self.db = db
        self.ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, ApiKey | None]] = {}
        self._lock = threading.Lock()

    def create(self, name: str, roles: tuple[str, ...] | list[str] = ("predict",),
               output: dict[str, Any] | None = None) -> tuple[str, ApiKey]:
        """Store a new key; return ``(secret, record)``. The secret is not kept anywhere."""
        roles = tuple(dict.fromkeys(roles))
        bad = [r for r in roles if r not in ROLES]
        if bad or not roles:
            raise ConfigError(f"roles must be among {list(ROLES)}, got {list(roles)}")
        if not name or len(name) > 200:
            raise ConfigError("a key needs a name of 1 to 200 characters")
        key_id = secrets.token_hex(6)
        secret = f"mls_{key_id}_{secrets.token_urlsafe(32)}"
        record = ApiKey(key_id, name, roles, output, time.time())
        self.db.execute(
            "INSERT INTO api_keys (key_id, name, key_hash, roles, output, created, revoked) "
            "VALUES (:key_id, :name, :key_hash, :roles, :output, :created, NULL)",
            {"key_id": key_id, "name": name, "key_hash": _hash(secret), "roles": ",".join(roles),
             "output": json.dumps(output) if output else None, "created": record.created},
        )
        return secret, record

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key by id (effective at once here, within ``ttl`` in other processes)."""
        found = self.get(key_id)
        if found is None:
            raise ConfigError(f"no key with id {key_id!r}")
        if found.revoked is None:
            self.db.execute("UPDATE api_keys SET revoked = :t WHERE key_id = :k", {"t": time.time(), "k": key_id})
        with self._lock:
            self._cache.clear()
        return self.get(key_id)  # type: ignore[return-value]

    def get(self, key_id: str) -> ApiKey | None:
        rows = self.db.query("SELECT * FROM api_keys WHERE key_id = :k", {"k": key_id})
        return _row_key(rows[0]) if rows else None

    def list(self, include_revoked: bool = True) -> list[ApiKey]:
        keys = [_row_key(r) for r in self.db.query("SELECT * FROM api_keys ORDER BY created")]
        return [k for k in keys if include_revoked or k.revoked is None]

    def authenticate(self, secret: str) -> ApiKey | None:
        """The live key matching ``secret``, or ``None`` (unknown or revoked)."""
        if not secret or len(secret) > 200:
            return None
        digest = _hash(secret)
        now = self._clock()
        hit = self._cache.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        rows = self.db.query("SELECT * FROM api_keys WHERE key_hash = :h", {"h": digest})
        key = _row_key(rows[0]) if rows else None
        if key is not None and key.revoked is not None:
            key = None
        with self._lock:
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[digest] = (now + self.ttl, key)
        return key
