"""The gateway's database: SQLite (WAL, ``synchronous=FULL``) or any SQLAlchemy URL.

Keys, audit records and alerts live in one database named by ``--audit``. ``sqlite:///path``
uses the standard library driver directly (the fast path); any other URL, e.g.
``postgresql+psycopg://user@host/db``, goes through SQLAlchemy. Statements use ``:name``
parameters, which both paths understand.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlsiege.errors import ConfigError
from mlsiege.extras import require

__all__ = ["Database", "open_database"]

_TABLES = (
    """CREATE TABLE IF NOT EXISTS api_keys (
        key_id VARCHAR(32) PRIMARY KEY, name TEXT NOT NULL, key_hash VARCHAR(64) NOT NULL UNIQUE,
        roles TEXT NOT NULL, output TEXT, created DOUBLE PRECISION NOT NULL,
        revoked DOUBLE PRECISION)""",
    """CREATE TABLE IF NOT EXISTS audit (
        id BIGINT PRIMARY KEY, ts DOUBLE PRECISION NOT NULL, key_id VARCHAR(32), client TEXT,
        method VARCHAR(8) NOT NULL, path TEXT NOT NULL, status INTEGER NOT NULL,
        rows_n INTEGER NOT NULL, first_row BIGINT, request TEXT, response TEXT)""",
    """CREATE TABLE IF NOT EXISTS alerts (
        id BIGINT PRIMARY KEY, ts DOUBLE PRECISION NOT NULL, key_id VARCHAR(32) NOT NULL,
        detector VARCHAR(32) NOT NULL, query BIGINT NOT NULL, score DOUBLE PRECISION,
        related TEXT, action VARCHAR(16), detail TEXT)""",
)


class Database:
    """A small thread-safe wrapper: ``execute``, ``executemany`` (one transaction), ``query``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.Lock()
        if url.startswith("sqlite:///"):
            path = url[len("sqlite:///"):]
            if not path:
                raise ConfigError("sqlite URL without a path: use sqlite:///audit.db")
            if path != ":memory:":
                parent = Path(path).expanduser().resolve().parent
                if not parent.is_dir():
                    raise ConfigError(f"directory of the audit database does not exist: {parent}")
            try:
                conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
                conn.execute("PRAGMA busy_timeout=10000")
                conn.execute("PRAGMA wal_autocheckpoint=0")  # the audit writer checkpoints when idle
            except sqlite3.Error as exc:
                raise ConfigError(f"cannot open the audit database {path!r}: {exc}") from exc
            self._sqlite: sqlite3.Connection | None = conn
            self._engine = None
        else:
            sa = require("sqlalchemy", extra="web")
            try:
                self._engine = sa.create_engine(url, pool_pre_ping=True)
            except (sa.exc.ArgumentError, ImportError) as exc:
                raise ConfigError(f"cannot use the audit URL {url!r}: {exc}") from exc
            self._sqlite = None
            self._text = sa.text
        for ddl in _TABLES:
            self.execute(ddl)

    @property
    def is_sqlite(self) -> bool:
        return self._sqlite is not None

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> None:
        self.executemany(sql, [params or {}])

    def executemany(self, sql: str, rows: Sequence[dict[str, Any]]) -> None:
        """Run ``sql`` once per row in a single committed transaction."""
        with self._lock:
            if self._sqlite is not None:
                conn = self._sqlite
                conn.execute("BEGIN")
                try:
                    if len(rows) == 1:
                        conn.execute(sql, rows[0])
                    else:
                        conn.executemany(sql, rows)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            else:
                with self._engine.begin() as conn:
                    conn.execute(self._text(sql), list(rows) if len(rows) > 1 else rows[0])

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        with self._lock:
            if self._sqlite is not None:
                cur = self._sqlite.execute(sql, params or {})
                names = [d[0] for d in cur.description]
                return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
            with self._engine.connect() as conn:
                return [dict(r._mapping) for r in conn.execute(self._text(sql), params or {})]

    def checkpoint(self) -> None:
        """Copy the SQLite write-ahead log into the database (no-op elsewhere)."""
        if self._sqlite is not None:
            with self._lock:
                self._sqlite.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def close(self) -> None:
        with self._lock:
            if self._sqlite is not None:
                self._sqlite.close()
            elif self._engine is not None:
                self._engine.dispose()


def open_database(url: str) -> Database:
    """Open (creating the tables of) the database at ``url``."""
    if "://" not in url:
        raise ConfigError(f"audit must be a URL such as sqlite:///audit.db, got {url!r}")
    return Database(url)
