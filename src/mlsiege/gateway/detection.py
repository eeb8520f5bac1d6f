"""Detection over the shared audit feed: one stream for every process, state that survives restarts.

Every gateway process on one database answers requests and writes them to the ``audit`` table;
detection reads that table, not the process's own requests, so it sees one stream whatever
process answered. One process at a time holds the detection lease (a row of
``detection_lease``, renewed every few seconds) and runs the
:class:`~mlsiege.defenses.serving.monitor.QueryMonitor` over the answered ``/v1/predict``
records in audit-id order (woken as soon as its own process commits answers, and every
``interval`` seconds for the others'). Its alerts go to the ``alerts`` table (through the audit
writer, which keeps one per key and detector across processes); its decisions go to the
``blocks`` table (:class:`~mlsiege.gateway.store.BlockStore`, one row per key and detector with
the evidence), which every process reads: a decision holds in all processes within the store's
``ttl``. Serving never waits for detection, so a key is refused from the first request after
its decision is stored, not from the request that tipped it.

Restarts and failover lose nothing: the monitor's state is rebuilt by replaying the last
``replay_rows`` answered rows of the audit log (the log is the durable state), decisions already
in the database are not raised twice, and a lift makes the monitor forget the key's rows up to
the lift (``lift_after``), so an admin's lift sticks unless new evidence comes.

Why one leader rather than every process running the detectors on every row: the work is done
once whatever the number of workers (the distribution tests cost about a millisecond a row),
every detector sees the rows in one order (the audit ids), and nothing is pickled into the
database to resume.
"""

from __future__ import annotations

import contextlib
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
from mlsiege.extras import require
from mlsiege.gateway.store import BlockStore, open_database

__all__ = ["DetectionService", "load_reference"]

log = logging.getLogger("mlsiege.gateway")
_SLICE = 0.02  # seconds of detection work between two pauses

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


class DetectionService:
    """Follows the audit feed with a :class:`QueryMonitor` and shares decisions through the database.

    Parameters
    ----------
    url
        The gateway database (the one holding ``audit``); the feed is read on a connection of its own.
    blocks
        Where decisions go and lifts come from (the process's store, so its cache learns at once).
    schema, policy
        The gateway's schema (to encode rows) and policy (detection settings and action).
    reference
        Real rows in attack space for the distribution tests (``None``: learned from traffic).
    on_alert
        Called with ``(alert, action, audit_id)`` for each new alert, by the lease holder only.
    interval, lease_ttl, replay_rows
        Poll period (seconds), lease lifetime, rows replayed when taking the lease.
    duty
        Largest share of wall time detection works while it catches up (it pauses after each
        slice of work so that requests served by the same process keep their latency; 1: no pause).
    """

    def __init__(self, url: str, schema: Any, policy: Any, *, blocks: BlockStore | None = None,
                 reference: np.ndarray | None = None, on_alert: Callable[[Alert, str, int], None] | None = None,
                 interval: float = 0.2, lease_ttl: float = 5.0, replay_rows: int = 50_000,
                 duty: float = 0.5, start: bool = True) -> None:
        if not 0 < duty <= 1:
            raise ConfigError(f"detection duty must be in (0, 1], got {duty}")
        self.schema, self.policy, self.reference = schema, policy, reference
        self.db = open_database(url)
        # the stored bodies are re-read here, each in one call that holds the GIL (pacing cannot split
        # it): a 1000-row, 30-feature body took 12 ms with json and 1.9 ms with orjson
        self._loads = require("orjson", extra="web").loads
        self.blocks = blocks if blocks is not None else BlockStore(self.db)
        self.on_alert = on_alert
        self.interval, self.lease_ttl, self.replay_rows, self.duty = interval, lease_ttl, replay_rows, duty
        self.owner = f"{os.getpid()}-{secrets.token_hex(4)}"
        self.monitor: QueryMonitor | None = None
        self.leader = False
        self.cursor = 0
        self._lifts: dict[str, int] = {}
        self._flagged: set[tuple[str, str]] = set()
        self._numeric = all(f.type != "categorical" for f in schema.features)
        self._lock = threading.Lock()  # the poll thread and an admin's lift both refresh
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mlsiege-detection", daemon=True)
        if start:
            self._thread.start()

    # ----------------------------------------------------------------- loop
    def poke(self) -> None:
        """New answers are committed: follow the feed now rather than at the next tick."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.step()
            except Exception:  # noqa: BLE001 - a failing database must not kill detection for good
                log.exception("detection step failed; retrying")

    def step(self) -> int:
        """One round: read the lifts, hold the lease, follow the feed. Returns rows observed."""
        with self._lock:
            self._refresh()
            if not self._hold_lease():
                self.leader, self.monitor = False, None
                return 0
            if self.monitor is None:
                self._start_following()
            return self._follow()

    def refresh(self) -> None:
        """Read the lifts now (after an admin's lift in this process)."""
        with self._lock:
            self._refresh()

    def _refresh(self) -> None:
        lifts = self.blocks.lifts()
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
        self._flagged = {(d["key_id"], d["detector"]) for d in self.blocks.decisions()}
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
        since = time.perf_counter()
        while self.leader:
            recs = self.db.query(
                "SELECT id, key_id, request, response, rows_n FROM audit WHERE id > :c AND path = '/v1/predict' "
                "AND status = 200 ORDER BY id LIMIT :n", {"c": self.cursor, "n": batch})
            for rec in recs:
                seen += self._observe(rec)
                self.cursor = rec["id"]
                busy = time.perf_counter() - since
                if self.duty < 1.0 and busy >= _SLICE:
                    # detection shares the process (and its GIL) with serving: after each slice of
                    # work it yields for long enough that it takes at most ``duty`` of the time
                    time.sleep(busy * (1.0 - self.duty) / self.duty)
                    since = time.perf_counter()
            if len(recs) < batch:
                return seen
        return seen

    # ----------------------------------------------------------------- one record
    def _rows(self, rec: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None] | None:
        try:
            rows = self._loads(rec["request"])["rows"]
            if self._numeric:
                X = np.array([[r[n] for n in self.schema.names] for r in rows], dtype=float)
            else:
                X = self.schema.encode(pd.DataFrame.from_records(rows, columns=list(self.schema.names)))
        except (ValueError, KeyError, TypeError, MlsiegeError):
            return None  # answered, so it parsed then; a record we cannot read is skipped
        labels = None
        with contextlib.suppress(ValueError, KeyError, TypeError):
            preds = self._loads(rec["response"])["predictions"]
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
        self.blocks.decide(alert.key, alert.detector, action, audit_id=audit_id, detail=alert.detail,
                           evidence=evidence)
        if self.on_alert is not None:
            self.on_alert(alert, action, audit_id)

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        if self.leader:
            with contextlib.suppress(Exception):
                self.db.execute("UPDATE detection_lease SET expires = 0 WHERE name = 'monitor' AND owner = :o",
                                {"o": self.owner})
        self.db.close()
