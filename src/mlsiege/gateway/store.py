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
* **blocks**: :class:`BlockStore`, one table of detection's decisions (block, degrade or alert
  per key and detector) with their evidence and their lifting; every process reads it (a cached
  copy at most ``ttl`` seconds old), the detection leader writes it, and an admin lifts through
  :meth:`BlockStore.lift` (``DELETE /v1/admin/blocks/{key_id}``, ``mlsiege gateway blocks lift``).
* **detector state**: nothing to share. One process at a time holds the detection lease
  (``detection_lease``) and follows the audit log itself, which is the durable state: a restart or
  a failover replays it (:mod:`mlsiege.gateway.detection`).

Errors of the driver become :class:`~mlsiege.errors.StoreError` with one line that names the
problem but never holds SQL or parameters (the service answers 503 with an error id; details go
to the server log).
"""

from __future__ import annotations

import json
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

__all__ = ["BlockStore", "Database", "open_database", "safe_url"]

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
        key_id VARCHAR(32) NOT NULL, detector VARCHAR(32) NOT NULL, action VARCHAR(16) NOT NULL,
        ts DOUBLE PRECISION NOT NULL, audit_id BIGINT, detail TEXT, evidence TEXT,
        lifted DOUBLE PRECISION, lifted_by TEXT, lift_after BIGINT, PRIMARY KEY (key_id, detector))""",
    """CREATE TABLE IF NOT EXISTS detection_lease (
        name VARCHAR(32) PRIMARY KEY, owner VARCHAR(64) NOT NULL, expires DOUBLE PRECISION NOT NULL)""",
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
    sa.Table("blocks", md, sa.Column("key_id", sa.String(32), primary_key=True),
             sa.Column("detector", sa.String(32), primary_key=True), sa.Column("action", sa.String(16), nullable=False),
             sa.Column("ts", dbl, nullable=False), sa.Column("audit_id", sa.BigInteger), sa.Column("detail", sa.Text),
             sa.Column("evidence", sa.Text), sa.Column("lifted", dbl), sa.Column("lifted_by", sa.Text),
             sa.Column("lift_after", sa.BigInteger))
    sa.Table("detection_lease", md, sa.Column("name", sa.String(32), primary_key=True),
             sa.Column("owner", sa.String(64), nullable=False), sa.Column("expires", dbl, nullable=False))
    return md


#: blocks of an earlier version (one per key, a free-text reason) into the blocks table
_BLOCKS_V1_COPY = ("INSERT INTO blocks (key_id, detector, action, ts, detail, evidence, lifted, lifted_by) "
                   "SELECT key_id, 'detection', 'block', ts, reason, '{}', lifted, lifted_by FROM blocks_v1")


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
        """Databases of earlier versions: ids were ``BIGINT`` (not the rowid), no ``origin`` column,
        one block per key without its detector or evidence."""
        if "detector" not in {r[1] for r in conn.execute("PRAGMA table_info(blocks)")}:
            conn.execute("ALTER TABLE blocks RENAME TO blocks_v1")
            conn.execute(next(d for d in _SQLITE_TABLES if "EXISTS blocks (" in d))
            conn.execute(_BLOCKS_V1_COPY)
            conn.execute("DROP TABLE blocks_v1")
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
        if "detector" not in {c["name"] for c in sa.inspect(self._engine).get_columns("blocks")}:
            with self._engine.begin() as conn:
                conn.execute(sa.text("ALTER TABLE blocks RENAME TO blocks_v1"))
                self._tables.tables["blocks"].create(conn)
                conn.execute(sa.text(_BLOCKS_V1_COPY))
                conn.execute(sa.text("DROP TABLE blocks_v1"))

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

    def insert(self, batches: dict[str, Sequence[dict[str, Any]]], *,
               alert_window: float | None = None) -> dict[str, list[int]]:
        """Insert rows into ``audit`` and/or ``alerts`` in one transaction; the database assigns ids.

        Returns the ids per table, in the order of the rows given. With ``alert_window``, an
        alert whose key and detector already have one newer than that many seconds is not
        written again (its id is the earlier alert's): every process sees every row, so several
        may raise the same alert. The check and the insert are atomic across processes (SQLite's
        write lock; on PostgreSQL the ``alerts`` table is locked against other writers).
        """
        out: dict[str, list[int]] = {}
        with self._lock, self._errors("write the audit log"):
            if self._sqlite is not None:
                with self._sqlite_tx() as conn:
                    def run(sql: str, params: dict[str, Any]) -> Any:
                        cur = conn.execute(sql, params)
                        return cur.lastrowid if sql.startswith("INSERT") else cur.fetchall()
                    for table, rows in batches.items():
                        out[table] = self._insert_rows(run, table, rows, alert_window)
                return out
            with self._engine.begin() as conn:
                for table, rows in batches.items():
                    if not rows:
                        out[table] = []
                    elif table == "alerts" and alert_window is not None:
                        if self.dialect == "postgresql":
                            conn.execute(self._sa.text("LOCK TABLE alerts IN SHARE ROW EXCLUSIVE MODE"))

                        def run(sql: str, params: dict[str, Any], conn: Any = conn) -> Any:
                            if sql.startswith("INSERT"):
                                return conn.execute(self._sa.text(sql + " RETURNING id"), params).scalar_one()
                            return conn.execute(self._sa.text(sql), params).fetchall()
                        out[table] = self._insert_rows(run, table, rows, alert_window)
                    else:
                        t = self._tables.tables[table]
                        stmt = t.insert().returning(t.c.id, sort_by_parameter_order=True)
                        cols = COLUMNS[table]
                        res = conn.execute(stmt, [{c: r.get(c) for c in cols} for r in rows])
                        out[table] = [int(v) for v in res.scalars().all()]
        return out

    @staticmethod
    def _insert_rows(run: Any, table: str, rows: Sequence[dict[str, Any]], alert_window: float | None) -> list[int]:
        """Insert ``rows`` one by one through ``run(sql, params)``; the ids (see :meth:`insert`)."""
        cols = COLUMNS[table]
        sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})"
        ids = []
        for r in rows:
            if table == "alerts" and alert_window is not None:
                found = run("SELECT id FROM alerts WHERE key_id = :k AND detector = :d AND ts > :t ORDER BY id LIMIT 1",
                            {"k": r["key_id"], "d": r["detector"], "t": r["ts"] - alert_window})
                if found:
                    ids.append(int(found[0][0]))
                    continue
            ids.append(int(run(sql, {c: r.get(c) for c in cols})))
        return ids

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


class BlockStore:
    """Detection's decisions (block, degrade, alert) per key and detector, shared by every process.

    One row per key and detector in ``blocks``: the action, the audit record that tipped it, a
    one-line detail and the evidence (JSON), and, once an admin lifted it, when, by whom and up to
    which audit id the key's rows were forgiven (``lift_after``: detection ignores them, so a lift
    sticks unless new evidence comes). A lifted row raised again is re-armed in place.

    Parameters
    ----------
    db
        The gateway database.
    ttl
        Seconds a process may serve from its copy of the standing decisions (a decision or a lift
        made by another process takes effect within this delay; at once in the process that made it).
    """

    def __init__(self, db: Database, *, ttl: float = 0.5, clock: Any = time.monotonic) -> None:
        self.db, self.ttl, self._clock = db, ttl, clock
        self._blocked: frozenset[str] = frozenset()
        self._degraded: frozenset[str] = frozenset()
        self._read_at = -float("inf")
        self._lock = threading.Lock()

    # ----------------------------------------------------------------- writing
    def decide(self, key_id: str, detector: str, action: str, *, audit_id: int | None = None, detail: str = "",
               evidence: dict[str, Any] | None = None) -> bool:
        """Record ``action`` on ``key_id`` by ``detector`` for every process; ``True`` if it is new.

        Idempotent: a decision standing for this key and detector is kept as it is (several
        processes may race); a lifted one is re-armed with the new evidence.
        """
        if action not in ("alert", "block", "degrade"):
            raise ConfigError(f"unknown detection action {action!r}; valid: alert, block, degrade")
        params = {"k": key_id, "d": detector, "a": action, "t": time.time(), "i": audit_id, "detail": detail,
                  "e": json.dumps(evidence or {}, default=str)}
        new = self.db.execute(
            "INSERT INTO blocks (key_id, detector, action, ts, audit_id, detail, evidence, lifted, lifted_by, "
            "lift_after) VALUES (:k, :d, :a, :t, :i, :detail, :e, NULL, NULL, NULL) ON CONFLICT DO NOTHING", params)
        if not new:
            new = self.db.execute(
                "UPDATE blocks SET action = :a, ts = :t, audit_id = :i, detail = :detail, evidence = :e, "
                "lifted = NULL, lifted_by = NULL WHERE key_id = :k AND detector = :d AND lifted IS NOT NULL", params)
        with self._lock:
            if action == "block":
                self._blocked = self._blocked | {key_id}
            elif action == "degrade":
                self._degraded = self._degraded | {key_id}
        return bool(new)

    def lift(self, key_id: str, *, by: str = "") -> list[dict[str, Any]]:
        """Lift every standing decision about ``key_id``; return them (with their evidence).

        The one way a decision is lifted (the gateway's admin endpoint, ``Gateway.lift`` and the
        CLI all come here). The key's rows answered so far are forgiven (``lift_after``). Raises
        :class:`~mlsiege.errors.ConfigError` when nothing stands for this key.
        """
        found = [d for d in self.decisions() if d["key_id"] == key_id]
        changed = 0
        if found:
            changed = self.db.execute(
                "UPDATE blocks SET lifted = :t, lifted_by = :b, "
                "lift_after = (SELECT COALESCE(MAX(id), 0) FROM audit) WHERE key_id = :k AND lifted IS NULL",
                {"k": key_id, "t": time.time(), "b": by})
        if not changed:
            raise ConfigError(f"no block or degradation stands for key {key_id!r}")
        with self._lock:
            self._blocked, self._degraded = self._blocked - {key_id}, self._degraded - {key_id}
        return found

    # ----------------------------------------------------------------- reading
    def decisions(self, *, include_lifted: bool = False) -> list[dict[str, Any]]:
        """Decisions, oldest first, the evidence as a dict (standing ones only unless ``include_lifted``)."""
        where = "" if include_lifted else " WHERE lifted IS NULL"
        rows = self.db.query(f"SELECT * FROM blocks{where} ORDER BY ts, key_id, detector")
        for r in rows:
            try:
                r["evidence"] = json.loads(r["evidence"]) if r["evidence"] else {}
            except ValueError:
                r["evidence"] = {}
        return rows

    def refresh(self) -> None:
        """Read the standing decisions now (instead of within ``ttl``)."""
        rows = self.db.query("SELECT key_id, action FROM blocks WHERE lifted IS NULL")
        with self._lock:
            self._blocked = frozenset(r["key_id"] for r in rows if r["action"] == "block")
            self._degraded = frozenset(r["key_id"] for r in rows if r["action"] == "degrade")
            self._read_at = self._clock()

    def _fresh(self) -> None:
        if self._clock() - self._read_at >= self.ttl:
            self.refresh()

    def blocked(self) -> frozenset[str]:
        """Ids of the keys blocked now (read from the database at most every ``ttl`` seconds)."""
        self._fresh()
        return self._blocked

    def degraded(self) -> frozenset[str]:
        """Ids of the keys whose output is degraded now."""
        self._fresh()
        return self._degraded

    def is_blocked(self, key_id: str) -> bool:
        return key_id in self.blocked()

    def is_degraded(self, key_id: str) -> bool:
        return key_id in self.degraded()

    def lifts(self) -> dict[str, int]:
        """``key_id -> audit id`` up to which a lift forgave the key's rows."""
        rows = self.db.query("SELECT key_id, MAX(lift_after) AS m FROM blocks WHERE lift_after IS NOT NULL "
                             "GROUP BY key_id")
        return {r["key_id"]: int(r["m"]) for r in rows}


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
