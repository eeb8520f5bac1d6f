"""The gateway's database: SQLite (WAL, ``synchronous=FULL``) or PostgreSQL (any SQLAlchemy URL).

Keys, audit records, alerts, blocks and detector state live in one database named by ``--audit``.
``sqlite:///path`` uses the standard library driver directly (the fast path); any other URL, e.g.
``postgresql+psycopg://user@host/db``, goes through SQLAlchemy (PostgreSQL is tested in CI
against a real server). Statements use ``:name`` parameters, which both paths understand.

Several processes, one database
-------------------------------
Any number of ``mlsiege serve`` processes (``--workers N``, or separate hosts on PostgreSQL) may
share one database; everything they must agree on goes through it:

* **ids**: audit and alert ids are assigned by the database inside the inserting transaction
  (SQLite's rowid under its write lock, a PostgreSQL identity column), never by a counter in
  memory. :meth:`Database.insert` returns them in the order of the rows given.
* **keys**: :class:`~mlsiege.gateway.keys.KeyStore` (a process sees a new or revoked key within
  its 2 s cache).
* **blocks and detector state**: :class:`SharedState`, the small API detection builds on:

  - ``block(key_id, reason=..., alert_id=None)`` blocks a key for every process (idempotent);
  - ``lift(key_id, by=...)`` lifts it (``True`` if it was blocked);
  - ``blocked()`` is the set of blocked key ids, re-read at most every ``ttl`` seconds
    (so every process sees a block or a lift within ``ttl``); ``is_blocked(key_id)`` reads it;
  - ``blocks(include_lifted=False)`` lists the block records (who, when, why, lifted by whom);
  - ``save_state(name, data, cursor=0)`` / ``load_state(name)`` keep one opaque snapshot
    (bytes) per name, e.g. a detector's state, with the audit id it covers (``cursor``), so a
    restart or another process can resume from it.

Errors of the driver become :class:`~mlsiege.errors.StoreError` with one line that names the
problem but never holds SQL or parameters (the service answers 503 with an error id; details go
to the server log).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlsiege.errors import ConfigError, StoreError
from mlsiege.extras import require

__all__ = ["Database", "SharedState", "open_database", "safe_url"]

log = logging.getLogger("mlsiege.gateway")

#: columns written by :meth:`Database.insert`, per table (``id`` is the database's)
COLUMNS = {
    "audit": ("ts", "key_id", "client", "method", "path", "status", "rows_n", "first_row", "request",
              "response", "origin"),
    "alerts": ("ts", "key_id", "detector", "query", "score", "related", "action", "detail"),
}

# SQLite: ``INTEGER PRIMARY KEY`` makes ``id`` the rowid, which SQLite assigns (max + 1) under the
# write lock, so two processes never hand out the same id
_SQLITE_TABLES = (
    """CREATE TABLE IF NOT EXISTS api_keys (
        key_id VARCHAR(32) PRIMARY KEY, name TEXT NOT NULL, key_hash VARCHAR(64) NOT NULL UNIQUE,
        roles TEXT NOT NULL, output TEXT, created DOUBLE PRECISION NOT NULL,
        revoked DOUBLE PRECISION)""",
    """CREATE TABLE IF NOT EXISTS audit (
        id INTEGER PRIMARY KEY, ts DOUBLE PRECISION NOT NULL, key_id VARCHAR(32), client TEXT,
        method VARCHAR(8) NOT NULL, path TEXT NOT NULL, status INTEGER NOT NULL,
        rows_n INTEGER NOT NULL, first_row BIGINT, request TEXT, response TEXT, origin VARCHAR(64))""",
    """CREATE TABLE IF NOT EXISTS alerts (
        id INTEGER PRIMARY KEY, ts DOUBLE PRECISION NOT NULL, key_id VARCHAR(32) NOT NULL,
        detector VARCHAR(32) NOT NULL, query BIGINT NOT NULL, score DOUBLE PRECISION,
        related TEXT, action VARCHAR(16), detail TEXT)""",
    """CREATE TABLE IF NOT EXISTS blocks (
        key_id VARCHAR(32) PRIMARY KEY, ts DOUBLE PRECISION NOT NULL, reason TEXT, alert_id BIGINT,
        lifted DOUBLE PRECISION, lifted_by TEXT)""",
    """CREATE TABLE IF NOT EXISTS shared_state (
        name VARCHAR(64) PRIMARY KEY, updated DOUBLE PRECISION NOT NULL, cursor BIGINT NOT NULL,
        data BLOB)""",
)


def _sa_tables(sa: Any) -> Any:
    """The same tables for SQLAlchemy (PostgreSQL and others): identity columns for the ids."""
    md = sa.MetaData()
    dbl = sa.Double()
    sa.Table("api_keys", md, sa.Column("key_id", sa.String(32), primary_key=True),
             sa.Column("name", sa.Text, nullable=False), sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
             sa.Column("roles", sa.Text, nullable=False), sa.Column("output", sa.Text),
             sa.Column("created", dbl, nullable=False), sa.Column("revoked", dbl))
    sa.Table("audit", md, sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
             sa.Column("ts", dbl, nullable=False), sa.Column("key_id", sa.String(32)), sa.Column("client", sa.Text),
             sa.Column("method", sa.String(8), nullable=False), sa.Column("path", sa.Text, nullable=False),
             sa.Column("status", sa.Integer, nullable=False), sa.Column("rows_n", sa.Integer, nullable=False),
             sa.Column("first_row", sa.BigInteger), sa.Column("request", sa.Text), sa.Column("response", sa.Text),
             sa.Column("origin", sa.String(64)))
    sa.Table("alerts", md, sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
             sa.Column("ts", dbl, nullable=False), sa.Column("key_id", sa.String(32), nullable=False),
             sa.Column("detector", sa.String(32), nullable=False), sa.Column("query", sa.BigInteger, nullable=False),
             sa.Column("score", dbl), sa.Column("related", sa.Text), sa.Column("action", sa.String(16)),
             sa.Column("detail", sa.Text))
    sa.Table("blocks", md, sa.Column("key_id", sa.String(32), primary_key=True), sa.Column("ts", dbl, nullable=False),
             sa.Column("reason", sa.Text), sa.Column("alert_id", sa.BigInteger), sa.Column("lifted", dbl),
             sa.Column("lifted_by", sa.Text))
    sa.Table("shared_state", md, sa.Column("name", sa.String(64), primary_key=True),
             sa.Column("updated", dbl, nullable=False), sa.Column("cursor", sa.BigInteger, nullable=False),
             sa.Column("data", sa.LargeBinary))
    return md


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


class Database:
    """A small thread-safe wrapper: ``execute``, ``executemany`` (one transaction), ``query``, ``insert``.

    Every driver error is raised as :class:`~mlsiege.errors.StoreError` (one line, no SQL, no
    parameters; the driver's exception is its ``__cause__``).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.Lock()
        self._sqlite: sqlite3.Connection | None = None
        self._engine: Any = None
        if url.startswith("sqlite:///"):
            self._open_sqlite(url[len("sqlite:///"):])
        else:
            self._open_sqlalchemy(url)

    # ----------------------------------------------------------------- opening
    def _open_sqlite(self, path: str) -> None:
        if not path:
            raise ConfigError("sqlite URL without a path: use sqlite:///audit.db")
        if path != ":memory:":
            parent = Path(path).expanduser().resolve().parent
            if not parent.is_dir():
                raise ConfigError(f"directory of the audit database does not exist: {parent}")
        try:
            conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA busy_timeout=10000")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints run on a schedule (AuditLog)
            self._sqlite = conn
            with self._sqlite_tx():
                for ddl in _SQLITE_TABLES:
                    conn.execute(ddl)
                self._migrate_sqlite(conn)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the audit database {path!r}: {exc}") from exc

    @staticmethod
    def _migrate_sqlite(conn: sqlite3.Connection) -> None:
        """Databases of earlier versions: ids were ``BIGINT`` (not the rowid), no ``origin`` column."""
        for table in ("audit", "alerts"):
            cols = {r[1]: r[2].upper() for r in conn.execute(f"PRAGMA table_info({table})")}
            if cols.get("id") == "INTEGER" and (table != "audit" or "origin" in cols):
                continue
            names = [c for c in cols if c in ("id", *COLUMNS[table])]
            conn.execute(f"ALTER TABLE {table} RENAME TO {table}_old")
            ddl = next(d for d in _SQLITE_TABLES if f"EXISTS {table} (" in d)
            conn.execute(ddl)
            conn.execute(f"INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join(names)} FROM {table}_old")
            conn.execute(f"DROP TABLE {table}_old")

    def _open_sqlalchemy(self, url: str) -> None:
        sa = require("sqlalchemy", extra="web")
        url = _driver_url(url)
        try:
            self._engine = sa.create_engine(url, pool_pre_ping=True, hide_parameters=True)
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise ConfigError(f"cannot use the audit URL {safe_url(url)!r}: {_first_line(exc)}") from exc
        self._sa = sa
        self._tables = _sa_tables(sa)
        where = self._engine.url.render_as_string(hide_password=True)
        for attempt in range(3):
            try:
                self._tables.create_all(self._engine, checkfirst=True)
                self._migrate_sqlalchemy()
                break
            except sa.exc.OperationalError as exc:
                raise StoreError(f"cannot reach the audit database {where}: {_first_line(exc)}") from exc
            except sa.exc.SQLAlchemyError as exc:  # two processes creating the tables at once
                if attempt == 2:
                    raise StoreError(f"cannot create the tables in {where}: {_first_line(exc)}") from exc
                time.sleep(0.2 * (attempt + 1))

    def _migrate_sqlalchemy(self) -> None:
        sa = self._sa
        cols = {c["name"] for c in sa.inspect(self._engine).get_columns("audit")}
        if "origin" not in cols:
            with self._engine.begin() as conn:
                conn.execute(sa.text("ALTER TABLE audit ADD COLUMN origin VARCHAR(64)"))

    @property
    def is_sqlite(self) -> bool:
        return self._sqlite is not None

    @property
    def dialect(self) -> str:
        """``sqlite`` or SQLAlchemy's dialect name (``postgresql``...)."""
        return "sqlite" if self._sqlite is not None else self._engine.dialect.name

    # ----------------------------------------------------------------- statements
    @contextmanager
    def _sqlite_tx(self) -> Iterator[sqlite3.Connection]:
        conn = self._sqlite
        if conn is None:
            raise RuntimeError("not an SQLite database")
        conn.execute("BEGIN IMMEDIATE")  # the write lock now: ids and checks see every process
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreError(f"the database failed to {what}: {_first_line(exc)}") from exc
        except Exception as exc:
            if self._engine is not None and isinstance(exc, self._sa.exc.SQLAlchemyError):
                raise StoreError(f"the database failed to {what}: {_first_line(exc)}") from exc
            raise

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> int:
        """Run one statement in its own transaction; return the number of rows it changed."""
        with self._lock, self._errors("write"):
            if self._sqlite is not None:
                with self._sqlite_tx() as conn:
                    return conn.execute(sql, params or {}).rowcount
            with self._engine.begin() as conn:
                return conn.execute(self._sa.text(sql), params or {}).rowcount

    def executemany(self, sql: str, rows: Sequence[dict[str, Any]]) -> None:
        """Run ``sql`` once per row in a single committed transaction."""
        with self._lock, self._errors("write"):
            if self._sqlite is not None:
                with self._sqlite_tx() as conn:
                    conn.executemany(sql, rows)
                return
            with self._engine.begin() as conn:
                conn.execute(self._sa.text(sql), list(rows))

    def insert(self, batches: dict[str, Sequence[dict[str, Any]]]) -> dict[str, list[int]]:
        """Insert rows into ``audit`` and/or ``alerts`` in one transaction; the database assigns ids.

        Returns the ids per table, in the order of the rows given.
        """
        out: dict[str, list[int]] = {}
        with self._lock, self._errors("write the audit log"):
            if self._sqlite is not None:
                with self._sqlite_tx() as conn:
                    for table, rows in batches.items():
                        cols = COLUMNS[table]
                        sql = (f"INSERT INTO {table} ({', '.join(cols)}) "
                               f"VALUES ({', '.join(':' + c for c in cols)})")
                        out[table] = [conn.execute(sql, {c: r.get(c) for c in cols}).lastrowid for r in rows]
                return out
            with self._engine.begin() as conn:
                for table, rows in batches.items():
                    if not rows:
                        out[table] = []
                        continue
                    t = self._tables.tables[table]
                    stmt = t.insert().returning(t.c.id, sort_by_parameter_order=True)
                    cols = COLUMNS[table]
                    res = conn.execute(stmt, [{c: r.get(c) for c in cols} for r in rows])
                    out[table] = [int(v) for v in res.scalars().all()]
        return out

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        with self._lock, self._errors("read"):
            if self._sqlite is not None:
                cur = self._sqlite.execute(sql, params or {})
                names = [d[0] for d in cur.description]
                return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
            with self._engine.connect() as conn:
                return [dict(r._mapping) for r in conn.execute(self._sa.text(sql), params or {})]

    def checkpoint(self) -> None:
        """Copy the SQLite write-ahead log into the database without blocking writers (no-op elsewhere)."""
        if self._sqlite is not None:
            with self._lock, self._errors("checkpoint"):
                self._sqlite.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def close(self) -> None:
        with self._lock:
            if self._sqlite is not None:
                self._sqlite.close()
            elif self._engine is not None:
                self._engine.dispose()


class SharedState:
    """Blocks and detector snapshots shared by every process on one database (see module docstring).

    Parameters
    ----------
    db
        The gateway database.
    ttl
        Seconds a process may serve from its copy of the blocked set (a block or a lift made by
        another process takes effect within this delay; at once in the process that made it).
    """

    def __init__(self, db: Database, *, ttl: float = 1.0, clock: Any = time.monotonic) -> None:
        self.db, self.ttl, self._clock = db, ttl, clock
        self._blocked: frozenset[str] = frozenset()
        self._read_at = -float("inf")
        self._lock = threading.Lock()

    # ----------------------------------------------------------------- blocks
    def block(self, key_id: str, *, reason: str = "", alert_id: int | None = None) -> None:
        """Block ``key_id`` in every process (a lifted block is re-armed with the new reason)."""
        params = {"k": key_id, "t": time.time(), "r": reason, "a": alert_id}
        changed = self.db.execute(
            "UPDATE blocks SET ts = :t, reason = :r, alert_id = :a, lifted = NULL, lifted_by = NULL "
            "WHERE key_id = :k AND lifted IS NOT NULL", params)
        if not changed and not self.db.query("SELECT 1 AS x FROM blocks WHERE key_id = :k", {"k": key_id}):
            try:
                self.db.execute("INSERT INTO blocks (key_id, ts, reason, alert_id, lifted, lifted_by) "
                                "VALUES (:k, :t, :r, :a, NULL, NULL)", params)
            except StoreError:  # another process blocked it in between: blocked either way
                if not self.db.query("SELECT 1 AS x FROM blocks WHERE key_id = :k", {"k": key_id}):
                    raise
        with self._lock:
            self._blocked = self._blocked | {key_id}

    def lift(self, key_id: str, *, by: str = "") -> bool:
        """Lift the block of ``key_id``; ``True`` if it was blocked."""
        changed = self.db.execute("UPDATE blocks SET lifted = :t, lifted_by = :b WHERE key_id = :k AND lifted IS NULL",
                                  {"k": key_id, "t": time.time(), "b": by})
        with self._lock:
            self._blocked = self._blocked - {key_id}
        return bool(changed)

    def blocked(self) -> frozenset[str]:
        """Ids of the keys blocked now (read from the database at most every ``ttl`` seconds)."""
        now = self._clock()
        if now - self._read_at >= self.ttl:
            rows = self.db.query("SELECT key_id FROM blocks WHERE lifted IS NULL")
            with self._lock:
                self._blocked, self._read_at = frozenset(r["key_id"] for r in rows), now
        return self._blocked

    def is_blocked(self, key_id: str) -> bool:
        return key_id in self.blocked()

    def blocks(self, *, include_lifted: bool = False) -> list[dict[str, Any]]:
        """Block records, newest first: ``key_id, ts, reason, alert_id, lifted, lifted_by``."""
        where = "" if include_lifted else " WHERE lifted IS NULL"
        return self.db.query(f"SELECT * FROM blocks{where} ORDER BY ts DESC")

    # ----------------------------------------------------------------- snapshots
    def save_state(self, name: str, data: bytes, cursor: int = 0) -> None:
        """Keep ``data`` as the snapshot called ``name`` (covering audit ids up to ``cursor``)."""
        params = {"n": name, "u": time.time(), "c": int(cursor), "d": data}
        if not self.db.execute("UPDATE shared_state SET updated = :u, cursor = :c, data = :d WHERE name = :n", params):
            try:
                self.db.execute("INSERT INTO shared_state (name, updated, cursor, data) VALUES (:n, :u, :c, :d)", params)
            except StoreError:  # inserted by another process in between: write ours over it
                self.db.execute("UPDATE shared_state SET updated = :u, cursor = :c, data = :d WHERE name = :n", params)

    def load_state(self, name: str) -> tuple[bytes, int, float] | None:
        """``(data, cursor, updated)`` of the snapshot ``name``, or ``None``."""
        rows = self.db.query("SELECT data, cursor, updated FROM shared_state WHERE name = :n", {"n": name})
        if not rows:
            return None
        return bytes(rows[0]["data"]), int(rows[0]["cursor"]), float(rows[0]["updated"])


def _driver_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 (the ``web`` extra's driver) unless psycopg2 is what is installed."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            try:
                import psycopg  # noqa: F401
            except ImportError:
                return url
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def safe_url(url: str) -> str:
    """``url`` without its password."""
    head, sep, tail = url.partition("://")
    if "@" in tail and ":" in tail.split("@", 1)[0]:
        user = tail.split("@", 1)[0].split(":", 1)[0]
        tail = f"{user}:***@{tail.split('@', 1)[1]}"
    return head + sep + tail


def open_database(url: str) -> Database:
    """Open (creating the tables of) the database at ``url``."""
    if "://" not in url:
        raise ConfigError(f"audit must be a URL such as sqlite:///audit.db, got {url!r}")
    return Database(url)
