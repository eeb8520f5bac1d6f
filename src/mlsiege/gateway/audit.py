"""Durable audit log with group commit (MITRE ATLAS AML.M0024).

Every request and its answer become one record, committed before the answer leaves: a request
awaits :meth:`AuditLog.append`, whose future resolves only after the transaction holding the
record has committed (SQLite in WAL mode with ``synchronous=FULL`` syncs it to disk). One writer
thread batches the records waiting at that moment into one transaction, so one disk sync serves
many requests (group commit) and the log stays exact under load and across a ``kill -9``.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from mlsiege.errors import ConfigError
from mlsiege.gateway.store import Database, open_database

__all__ = ["AuditLog", "export_jsonl"]

_INSERT = (
    "INSERT INTO audit (id, ts, key_id, client, method, path, status, rows_n, first_row, request, response) "
    "VALUES (:id, :ts, :key_id, :client, :method, :path, :status, :rows_n, :first_row, :request, :response)"
)
_INSERT_ALERT = (
    "INSERT INTO alerts (id, ts, key_id, detector, query, score, related, action, detail) "
    "VALUES (:id, :ts, :key_id, :detector, :query, :score, :related, :action, :detail)"
)
_STOP = object()


class AuditLog:
    """Group-committing writer of audit records and alerts.

    ``append(record)`` returns a :class:`concurrent.futures.Future` holding the record's id once
    it is durable; ``on_done(fn)`` variants let an event loop be woken instead. Records are plain
    dicts with the columns of the ``audit`` table (``id`` is assigned here).
    """

    def __init__(self, url: str, *, max_batch: int = 512) -> None:
        self.url = url
        self.db = open_database(url)
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._next = self._max_id("audit") + 1
        self._next_alert = self._max_id("alerts") + 1
        self.batches = 0
        self.written = 0
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="mlsiege-audit", daemon=True)
        self._thread.start()

    def _max_id(self, table: str) -> int:
        rows = self.db.query(f"SELECT MAX(id) AS m FROM {table}")
        return int(rows[0]["m"] or 0)

    # ----------------------------------------------------------------- producers
    def append(self, record: dict[str, Any], done: Callable[[int | None, BaseException | None], None] | None = None
               ) -> Future[int]:
        """Queue ``record``; the future (and ``done``, from the writer thread) fire once committed."""
        fut: Future[int] = Future()
        self._queue.put(("audit", record, fut, done))
        return fut

    def append_many(self, records: list[dict[str, Any]],
                    done: Callable[[list[int] | None, BaseException | None], None]) -> None:
        """Queue several records at once; ``done(ids, error)`` runs (writer thread) once committed."""
        self._queue.put(("many", records, None, done))

    def alert(self, record: dict[str, Any]) -> Future[int]:
        """Queue an alert record (columns of the ``alerts`` table)."""
        fut: Future[int] = Future()
        self._queue.put(("alert", record, fut, None))
        return fut

    # ----------------------------------------------------------------- writer
    def _run(self) -> None:
        since_checkpoint = 0
        while True:
            if since_checkpoint and (self._queue.empty() or since_checkpoint >= 5000):
                # WAL checkpoints are done here, between batches, rather than inside a commit a
                # request is waiting for (SQLite's automatic checkpoint is switched off)
                self.db.checkpoint()
                since_checkpoint = 0
            item = self._queue.get()
            if item is _STOP:
                return
            batch = [item]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                batch.append(nxt)
            self._write(batch)
            since_checkpoint += 1
            if stop:
                return

    def _write(self, batch: list[Any]) -> None:
        audits, alerts = [], []
        for kind, records, _, _ in batch:
            for record in records if kind == "many" else [records]:
                if kind == "alert":
                    record["id"] = self._next_alert
                    self._next_alert += 1
                    alerts.append(record)
                else:
                    record["id"] = self._next
                    self._next += 1
                    audits.append(record)
        error: BaseException | None = None
        try:
            if audits:
                self.db.executemany(_INSERT, audits)
            if alerts:
                self.db.executemany(_INSERT_ALERT, alerts)
            self.batches += 1
            self.written += len(audits)
        except Exception as exc:  # a full disk or a lost server: every waiter learns it
            error = self.error = exc
        for kind, records, fut, done in batch:
            if kind == "many":
                done(None if error else [r["id"] for r in records], error)
                continue
            if error is None:
                fut.set_result(records["id"])
            else:
                fut.set_exception(error)
            if done is not None:
                done(records["id"] if error is None else None, error)

    def close(self) -> None:
        """Write what is queued, then stop the writer and close the database."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout=30)
        self.db.close()

    # ----------------------------------------------------------------- readers
    def records(self, *, after: int = 0, limit: int = 1000, key_id: str | None = None) -> list[dict[str, Any]]:
        """Committed audit records with ``id > after``, oldest first."""
        sql = "SELECT * FROM audit WHERE id > :after"
        params: dict[str, Any] = {"after": after, "limit": limit}
        if key_id is not None:
            sql += " AND key_id = :key_id"
            params["key_id"] = key_id
        return self.db.query(sql + " ORDER BY id LIMIT :limit", params)

    def alerts(self, *, after: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        rows = self.db.query("SELECT * FROM alerts WHERE id > :after ORDER BY id LIMIT :limit",
                             {"after": after, "limit": limit})
        for r in rows:
            r["related"] = json.loads(r["related"]) if r["related"] else []
        return rows


def _iter_records(db: Database, table: str, chunk: int = 5000) -> Iterator[dict[str, Any]]:
    last = 0
    while True:
        rows = db.query(f"SELECT * FROM {table} WHERE id > :a ORDER BY id LIMIT :n", {"a": last, "n": chunk})
        if not rows:
            return
        yield from rows
        last = rows[-1]["id"]


def export_jsonl(url: str, out: str | Path, *, table: str = "audit") -> int:
    """Write every record of ``table`` (``audit`` or ``alerts``) as JSON lines; return the count."""
    if table not in ("audit", "alerts"):
        raise ConfigError(f"table must be 'audit' or 'alerts', got {table!r}")
    db = open_database(url)
    n = 0
    try:
        with open(out, "w", encoding="utf-8") as fh:
            for row in _iter_records(db, table):
                fh.write(json.dumps(row, default=str) + "\n")
                n += 1
    finally:
        db.close()
    return n
