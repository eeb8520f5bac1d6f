"""Durable audit log with group commit (MITRE ATLAS AML.M0024).

Every request and its answer become one record, committed before the answer leaves: a request
awaits :meth:`AuditLog.append`, whose future resolves only after the transaction holding the
record has committed (SQLite in WAL mode with ``synchronous=FULL`` syncs it to disk). One writer
thread batches the records waiting at that moment into one transaction, so one disk sync serves
many requests (group commit) and the log stays exact under load and across a ``kill -9``.

Ids are assigned by the database in that transaction (:meth:`Database.insert`), so any number
of processes can write one log. SQLite's write-ahead log is checkpointed on a schedule
(``checkpoint_s``) by a thread with its own connection, never inside a commit a request waits
for (a passive checkpoint does not block writers).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import secrets
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from mlsiege.errors import ConfigError
from mlsiege.gateway.store import Database, open_database

__all__ = ["AuditLog", "export_jsonl"]

log = logging.getLogger("mlsiege.gateway")

_STOP = object()


class AuditLog:
    """Group-committing writer of audit records and alerts.

    ``append(record)`` returns a :class:`concurrent.futures.Future` holding the record's id once
    it is durable; ``on_done(fn)`` variants let an event loop be woken instead. Records are plain
    dicts with the columns of the ``audit`` table (``id`` is assigned here).
    """

    def __init__(self, url: str, *, max_batch: int = 512, checkpoint_s: float = 5.0,
                 origin: str | None = None, alert_window: float | None = 60.0) -> None:
        self.url = url
        self.alert_window = alert_window
        self.db = open_database(url)
        self.max_batch = max_batch
        self.origin = origin or f"{os.uname().nodename}:{os.getpid()}:{secrets.token_hex(3)}"
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.batches = 0
        self.written = 0
        self.checkpoints = 0
        self.error: BaseException | None = None
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mlsiege-audit", daemon=True)
        self._thread.start()
        self._checkpointer: threading.Thread | None = None
        if self.db.is_sqlite and checkpoint_s > 0:
            self._checkpointer = threading.Thread(target=self._checkpoint_loop, args=(checkpoint_s,),
                                                  name="mlsiege-checkpoint", daemon=True)
            self._checkpointer.start()

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
        while True:
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
            if stop:
                return

    def _checkpoint_loop(self, every: float) -> None:
        """Checkpoint the WAL every ``every`` seconds after writes, from a connection of its own."""
        db = open_database(self.url)
        try:
            done = self.written
            while not self._stopped.wait(every):
                if self.written != done:
                    done = self.written
                    try:
                        db.checkpoint()
                        self.checkpoints += 1
                    except Exception:  # a checkpoint that fails is retried at the next tick
                        log.warning("WAL checkpoint failed", exc_info=True)
        finally:
            db.close()

    def _write(self, batch: list[Any]) -> None:
        audits, alerts = [], []
        for kind, records, _, _ in batch:
            for record in records if kind == "many" else [records]:
                if kind == "alert":
                    alerts.append(record)
                else:
                    record.setdefault("origin", self.origin)
                    audits.append(record)
        error: BaseException | None = None
        try:
            ids = self.db.insert({"audit": audits, "alerts": alerts}, alert_window=self.alert_window)
            for table, rows in (("audit", audits), ("alerts", alerts)):
                for record, rid in zip(rows, ids[table], strict=True):
                    record["id"] = rid
            self.batches += 1
            self.written += len(audits)
            self.error = None
        except Exception as exc:  # a full disk or a lost server: every waiter learns it
            error = self.error = exc
            log.error("audit write of %d records failed: %s", len(audits) + len(alerts), exc,
                      exc_info=exc.__cause__ or exc)
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
        self._stopped.set()
        if self._checkpointer is not None:
            self._checkpointer.join(timeout=10)
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
