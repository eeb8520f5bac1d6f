"""Detection over the shared audit feed: one stream for every process, state that survives restarts.

Every gateway process on one database answers requests and writes them to the ``audit`` table;
detection reads that table, not the process's own requests, so it sees one stream whatever
process answered. One process at a time holds the detection lease (a row of
``detection_lease``, renewed every few seconds) and runs the
:class:`~mlsiege.defenses.serving.monitor.QueryMonitor` over the answered ``/v1/predict``
records in audit-id order. Its alerts go to the ``alerts`` table; a block or degrade decision
goes to ``detection_flags`` (one row per key and detector, the evidence as JSON), which every
process reads every ``interval`` seconds: a decision holds in all processes within that delay.

Restarts and failover lose nothing: the monitor's state is rebuilt by replaying the last
``replay_rows`` answered rows of the audit log (the log is the durable state), flags already in
the database are not raised twice, and a lifted block (``detection_lifts``) makes the monitor
forget the key's rows up to the lift, so an admin's lift sticks unless new evidence comes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlsiege.defenses.serving.alerts import Alert
from mlsiege.defenses.serving.monitor import QueryMonitor
from mlsiege.errors import ConfigError, DataValidationError, MlsiegeError
from mlsiege.gateway.store import Database, open_database

__all__ = ["BlockStore", "DetectionService", "load_reference"]

log = logging.getLogger("mlsiege.gateway")

_TABLES = (
    """CREATE TABLE IF NOT EXISTS detection_flags (
        key_id VARCHAR(32) NOT NULL, detector VARCHAR(32) NOT NULL, action VARCHAR(16) NOT NULL,
        ts DOUBLE PRECISION NOT NULL, audit_id BIGINT, detail TEXT, evidence TEXT,
        PRIMARY KEY (key_id, detector))""",
    """CREATE TABLE IF NOT EXISTS detection_lifts (
        key_id VARCHAR(32) PRIMARY KEY, ts DOUBLE PRECISION NOT NULL, lift_after BIGINT NOT NULL,
        lifted_by VARCHAR(32))""",
    """CREATE TABLE IF NOT EXISTS detection_lease (
        name VARCHAR(32) PRIMARY KEY, owner VARCHAR(64) NOT NULL, expires DOUBLE PRECISION NOT NULL)""",
)


def load_reference(path: str | Path, schema: Any, *, max_rows: int = 20_000, seed: int = 0) -> np.ndarray:
    """Real rows (CSV or Parquet, e.g. the training data) in attack space, for the distribution tests.

    Columns are matched to the schema by name (others, such as a label, are ignored); a file
    without a header and with exactly the schema's columns is read in the schema's order. Rows
    that miss a value or break the schema are dropped; at most ``max_rows`` are kept (a seeded
    sample), which bounds the nearest-neighbour work per query.
    """
    path = Path(path)
    if not path.is_file():
        raise DataValidationError(f"reference file not found: {path}")
    names = list(schema.names)
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path)
            if not set(names) & set(map(str, frame.columns)) and frame.shape[1] == len(names):
                frame = pd.read_csv(path, header=None, names=names)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError, OSError) as exc:
        raise DataValidationError(f"cannot parse the reference {path}: {str(exc).splitlines()[0]}") from exc
    frame.columns = [str(c) for c in frame.columns]
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise DataValidationError(f"the reference {path} lacks the schema's columns {missing[:5]}", columns=missing)
    frame = frame[names].dropna()
    if len(frame) > max_rows:
        frame = frame.sample(max_rows, random_state=seed)
    X = schema.encode(frame)
    keep = np.all(np.isfinite(X), axis=1)
    keep[keep] = schema.valid_mask(X[keep])
    if keep.sum() < 10:
        raise DataValidationError(f"the reference {path} holds {int(keep.sum())} rows that fit the schema (need 10)")
    return X[keep]


class BlockStore:
    """Blocks and degradations decided by detection, and their lifting, in the gateway database.

    Used by the gateway (every process) and by ``mlsiege gateway blocks list|lift``.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        for ddl in _TABLES:
            db.execute(ddl)

    def flags(self) -> list[dict[str, Any]]:
        """Every standing decision, oldest first, with its evidence."""
        rows = self.db.query("SELECT * FROM detection_flags ORDER BY ts, key_id")
        for r in rows:
            r["evidence"] = json.loads(r["evidence"]) if r["evidence"] else {}
        return rows

    def active(self) -> tuple[set[str], set[str]]:
        """Keys blocked and keys degraded now."""
        blocked, degraded = set(), set()
        for r in self.db.query("SELECT key_id, action FROM detection_flags"):
            (blocked if r["action"] == "block" else degraded if r["action"] == "degrade" else set()).add(r["key_id"])
        return blocked, degraded

    def add(self, key_id: str, detector: str, action: str, audit_id: int | None, detail: str,
            evidence: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT INTO detection_flags (key_id, detector, action, ts, audit_id, detail, evidence) "
            "VALUES (:k, :d, :a, :t, :i, :detail, :e) ON CONFLICT DO NOTHING",
            {"k": key_id, "d": detector, "a": action, "t": time.time(), "i": audit_id, "detail": detail,
             "e": json.dumps(evidence, default=str)})

    def lift(self, key_id: str, by: str | None = None) -> list[dict[str, Any]]:
        """Lift every decision about ``key_id``; return them. Raises ``ConfigError`` if none stands."""
        found = [f for f in self.flags() if f["key_id"] == key_id]
        if not found:
            raise ConfigError(f"no block or degradation stands for key {key_id!r}")
        top = self.db.query("SELECT MAX(id) AS m FROM audit")[0]["m"] or 0
        self.db.execute("DELETE FROM detection_lifts WHERE key_id = :k", {"k": key_id})
        self.db.execute("INSERT INTO detection_lifts (key_id, ts, lift_after, lifted_by) VALUES (:k, :t, :a, :b)",
                        {"k": key_id, "t": time.time(), "a": int(top), "b": by})
        self.db.execute("DELETE FROM detection_flags WHERE key_id = :k", {"k": key_id})
        return found

    def lifts(self) -> dict[str, int]:
        """``key_id -> last audit id`` whose rows a lift forgave."""
        return {r["key_id"]: int(r["lift_after"]) for r in self.db.query("SELECT * FROM detection_lifts")}


class DetectionService:
    """Follows the audit feed with a :class:`QueryMonitor` and shares decisions through the database.

    Parameters
    ----------
    url
        The gateway database (the one holding ``audit``).
    schema, policy
        The gateway's schema (to encode rows) and policy (detection settings and action).
    reference
        Real rows in attack space for the distribution tests (``None``: learned from traffic).
    on_alert
        Called with ``(alert, action, audit_id)`` for each new alert, by the lease holder only.
    interval, lease_ttl, replay_rows
        Poll period (seconds), lease lifetime, rows replayed when taking the lease.
    """

    def __init__(self, url: str, schema: Any, policy: Any, *, reference: np.ndarray | None = None,
                 on_alert: Callable[[Alert, str, int], None] | None = None, interval: float = 0.2,
                 lease_ttl: float = 5.0, replay_rows: int = 50_000, start: bool = True) -> None:
        self.schema, self.policy, self.reference = schema, policy, reference
        self.db = open_database(url)
        self.store = BlockStore(self.db)
        self.on_alert = on_alert
        self.interval, self.lease_ttl, self.replay_rows = interval, lease_ttl, replay_rows
        self.owner = f"{os.getpid()}-{secrets.token_hex(4)}"
        self.blocked: set[str] = set()  # the engine and the app read these very sets
        self.degraded: set[str] = set()
        self.monitor: QueryMonitor | None = None
        self.leader = False
        self.cursor = 0
        self._lifts: dict[str, int] = {}
        self._flagged: set[tuple[str, str]] = set()
        self._numeric = all(f.type != "categorical" for f in schema.features)
        self._lock = threading.Lock()  # the poll thread and an admin's lift both refresh
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mlsiege-detection", daemon=True)
        self._refresh()
        if start:
            self._thread.start()

    # ----------------------------------------------------------------- loop
    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.step()
            except Exception:  # noqa: BLE001 - a failing database must not kill detection for good
                log.exception("detection step failed; retrying")

    def step(self) -> int:
        """One round: refresh decisions, hold the lease, follow the feed. Returns rows observed."""
        with self._lock:
            self._refresh()
            if not self._hold_lease():
                self.leader, self.monitor = False, None
                return 0
            if self.monitor is None:
                self._start_following()
            return self._follow()

    def refresh(self) -> None:
        """Read the standing decisions and lifts (every process, every ``interval``)."""
        with self._lock:
            self._refresh()

    def _refresh(self) -> None:
        blocked, degraded = self.store.active()
        # mutate in place: the engine and the app hold these very sets
        self.blocked.intersection_update(blocked)
        self.blocked.update(blocked)
        self.degraded.intersection_update(degraded)
        self.degraded.update(degraded)
        lifts = self.store.lifts()
        if self.monitor is not None:
            for key, after in lifts.items():
                if self._lifts.get(key) != after:
                    self.monitor.forget(key)
                    self._flagged = {f for f in self._flagged if f[0] != key}
        self._lifts = lifts

    def _hold_lease(self) -> bool:
        now = time.time()
        self.db.execute("INSERT INTO detection_lease (name, owner, expires) VALUES ('monitor', :o, 0) "
                        "ON CONFLICT DO NOTHING", {"o": self.owner})
        row = self.db.query("SELECT owner, expires FROM detection_lease WHERE name = 'monitor'")[0]
        if row["owner"] == self.owner and row["expires"] - now > self.lease_ttl / 2:
            return True
        if row["owner"] != self.owner and row["expires"] > now:
            return False
        self.db.execute("UPDATE detection_lease SET owner = :o, expires = :e WHERE name = 'monitor' "
                        "AND (owner = :o OR expires < :now)",
                        {"o": self.owner, "e": now + self.lease_ttl, "now": now})
        return self.db.query("SELECT owner FROM detection_lease WHERE name = 'monitor'")[0]["owner"] == self.owner

    def _start_following(self) -> None:
        """Take over: a fresh monitor fed with the recent past of the audit log."""
        self.monitor = QueryMonitor(self.schema.n_features, schema=self.schema, config=self.policy.monitor,
                                    reference=self.reference)
        self._flagged = {(f["key_id"], f["detector"]) for f in self.store.flags()}
        self.leader = True
        rows = self.db.query("SELECT id, rows_n FROM audit WHERE path = '/v1/predict' AND status = 200 "
                             "ORDER BY id DESC LIMIT :n", {"n": max(1, self.replay_rows)})
        total, start = 0, 0
        for r in rows:
            total += r["rows_n"]
            if total > self.replay_rows:
                break
            start = r["id"] - 1
        self.cursor = start

    def _follow(self, batch: int = 2000) -> int:
        seen = 0
        while self.leader:
            recs = self.db.query(
                "SELECT id, key_id, request, response, rows_n FROM audit WHERE id > :c AND path = '/v1/predict' "
                "AND status = 200 ORDER BY id LIMIT :n", {"c": self.cursor, "n": batch})
            for rec in recs:
                seen += self._observe(rec)
                self.cursor = rec["id"]
            if len(recs) < batch:
                return seen
        return seen

    # ----------------------------------------------------------------- one record
    def _rows(self, rec: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None] | None:
        try:
            rows = json.loads(rec["request"])["rows"]
            if self._numeric:
                X = np.array([[r[n] for n in self.schema.names] for r in rows], dtype=float)
            else:
                X = self.schema.encode(pd.DataFrame.from_records(rows, columns=list(self.schema.names)))
        except (ValueError, KeyError, TypeError, MlsiegeError):
            return None  # answered, so it parsed then; a record we cannot read is skipped
        labels = None
        with contextlib.suppress(ValueError, KeyError, TypeError):
            preds = json.loads(rec["response"])["predictions"]
            got = [p.get("label") if isinstance(p, dict) else None for p in preds]
            if len(got) == len(X) and all(g is not None for g in got):
                labels = np.asarray(got, dtype=object)
        return X, labels

    def _observe(self, rec: dict[str, Any]) -> int:
        key = rec["key_id"]
        if key is None or rec["id"] <= self._lifts.get(key, -1):
            return 0  # rows forgiven by a lift
        parsed = self._rows(rec)
        if parsed is None or self.monitor is None:
            return 0
        X, labels = parsed
        for alert in self.monitor.observe(key, X, labels):
            self._raise(alert, int(rec["id"]))
        return len(X)

    def _raise(self, alert: Alert, audit_id: int) -> None:
        if (alert.key, alert.detector) in self._flagged:
            return  # raised before a restart or a failover: once is enough
        self._flagged.add((alert.key, alert.detector))
        action = self.policy.action
        evidence = {**alert.extra, "row": alert.query, "related": list(alert.related)}
        self.store.add(alert.key, alert.detector, action, audit_id, alert.detail, evidence)
        if action == "block":
            self.blocked.add(alert.key)
        elif action == "degrade":
            self.degraded.add(alert.key)
        if self.on_alert is not None:
            self.on_alert(alert, action, audit_id)

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        if self.leader:
            with contextlib.suppress(Exception):
                self.db.execute("UPDATE detection_lease SET expires = 0 WHERE name = 'monitor' AND owner = :o",
                                {"o": self.owner})
        self.db.close()
