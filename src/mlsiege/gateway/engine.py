"""Micro-batched prediction with schema validation and stateful detection, off the event loop.

Requests are queued per key and answered by a small pool of threads (``threads``), so model
calls and detection never run on the event loop. A thread takes one batch at a time: one request
from each waiting key in turn (round robin) until ``max_batch`` rows, leaving out keys that
already have a batch in flight. One key's large batches therefore occupy at most one thread and
never queue ahead of another key's request (per-key fairness), and each key's rows reach the
detectors in the order they arrived. A batch is validated and predicted together (one model
call), then fed to the :class:`~mlsiege.defenses.serving.monitor.QueryMonitor` (one lock, its
state is shared) whose alerts drive the policy's action (alert, degrade output, block key).
Validation errors stay per request: one request's bad row never fails its neighbours.

Blocks live in the database (:class:`~mlsiege.gateway.store.SharedState`), so a key blocked by
one process is refused by all; :meth:`Engine.follow_peers` feeds the monitor the rows that other
processes answered (read from the shared audit log), so detection sees one stream.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from mlsiege.defenses.serving.alerts import Alert
from mlsiege.defenses.serving.monitor import QueryMonitor
from mlsiege.errors import MlsiegeError
from mlsiege.gateway.output import Answers, shape
from mlsiege.gateway.policy import GatewayPolicy, OutputPolicy
from mlsiege.gateway.store import SharedState

__all__ = ["Engine", "Outcome"]

log = logging.getLogger("mlsiege.gateway")


class Outcome:
    """What one request gets: an HTTP status and a JSON-ready body."""

    __slots__ = ("body", "first_row", "status")

    def __init__(self, status: int, body: dict[str, Any], first_row: int | None = None) -> None:
        self.status, self.body, self.first_row = status, body, first_row


class _Job:
    __slots__ = ("context", "key_id", "output", "rows")

    def __init__(self, key_id: str, rows: list[dict[str, Any]], output: OutputPolicy, context: Any) -> None:
        self.key_id, self.rows, self.output, self.context = key_id, rows, output, context


class Engine:
    """Owns the model, the schema, the monitor and the per-key detection state.

    ``submit`` may be called from any thread; ``on_batch(jobs, outcomes)`` is called from a pool
    thread once per answered batch, with one :class:`Outcome` per job (each job carries the
    ``context`` its caller submitted). ``on_alert(alert, action)`` is called for each alert (the
    app persists them). ``shared`` holds the blocks (in memory when ``None``).
    """

    def __init__(self, target: Any, schema: Any, policy: GatewayPolicy, *,
                 on_batch: Callable[[list[Any], list[Outcome]], None],
                 on_alert: Callable[[Alert, str], None] | None = None, max_batch: int = 256,
                 threads: int = 2, shared: SharedState | None = None) -> None:
        self.target, self.schema, self.policy = target, schema, policy
        self.names = list(schema.names)
        self._numeric = all(f.type != "categorical" for f in schema.features)
        self.kind = ("classifier" if hasattr(target, "predict_proba") or hasattr(target, "classes_")
                     else "scorer" if hasattr(target, "score") else "regressor")
        self.monitor = (QueryMonitor(schema.n_features, schema=schema, config=policy.monitor)
                        if policy.detection else None)
        self.on_alert, self.on_batch = on_alert, on_batch
        self.max_batch = max_batch
        self.detect_chunk = 64
        self.shared = shared
        self._local_blocks: set[str] = set()
        self.degraded: set[str] = set()
        self.batches = 0
        self._queues: dict[str, deque[_Job]] = {}
        self._busy: set[str] = set()
        self._cv = threading.Condition()
        self._monitor_lock = threading.Lock()
        self._stopping = False
        self._pool = [threading.Thread(target=self._work, name=f"mlsiege-engine-{i}", daemon=True)
                      for i in range(max(1, threads))]
        for t in self._pool:
            t.start()

    @property
    def blocked(self) -> frozenset[str]:
        """Ids of the keys blocked by detection (in every process sharing the database)."""
        if self.shared is not None:
            return self.shared.blocked()
        return frozenset(self._local_blocks)

    def is_blocked(self, key_id: str) -> bool:
        return key_id in self.blocked

    def submit(self, key_id: str, rows: list[dict[str, Any]], output: OutputPolicy, context: Any) -> None:
        """Queue a request; ``context`` comes back with its job in ``on_batch``."""
        with self._cv:
            self._queues.setdefault(key_id, deque()).append(_Job(key_id, rows, output, context))
            self._cv.notify()

    def close(self) -> None:
        """Answer what is queued, then stop the pool."""
        with self._cv:
            self._stopping = True
            self._cv.notify_all()
        for t in self._pool:
            t.join(timeout=30)

    # ----------------------------------------------------------------- scheduling
    def _take(self) -> list[_Job]:
        """The next batch (caller holds the lock): round robin over idle keys, up to ``max_batch`` rows."""
        batch: list[_Job] = []
        n = 0
        taken: set[str] = set()
        progress = True
        while progress and n < self.max_batch:
            progress = False
            for key in list(self._queues):
                if key in self._busy:
                    continue
                q = self._queues[key]
                if batch and n + len(q[0].rows) > self.max_batch:
                    continue
                job = q.popleft()
                del self._queues[key]
                if q:  # to the back of the line
                    self._queues[key] = q
                batch.append(job)
                taken.add(key)
                n += len(job.rows)
                progress = True
                if n >= self.max_batch:
                    break
        self._busy |= taken
        return batch

    def _work(self) -> None:
        while True:
            with self._cv:
                jobs = self._take()
                while not jobs:
                    if self._stopping and not self._queues:
                        return
                    self._cv.wait()
                    jobs = self._take()
            try:
                self.process(jobs)
            finally:
                with self._cv:
                    self._busy -= {j.key_id for j in jobs}
                    self._cv.notify_all()

    def process(self, jobs: list[_Job]) -> None:
        """Answer ``jobs`` as one batch and hand the outcomes to ``on_batch``."""
        try:
            outcomes = self._process(jobs)
        except Exception:  # the model itself failed: a server fault, logged, said plainly
            log.exception("the model failed on a batch of %d requests", len(jobs))
            outcomes = [Outcome(503, {"detail": "the model failed to answer"}) for _ in jobs]
        self.batches += 1
        try:
            self.on_batch(jobs, outcomes)
        except Exception:  # never leave a request waiting
            log.exception("delivering a batch failed")

    def _encode(self, rows: list[dict[str, Any]]) -> np.ndarray:
        if self._numeric:
            # what schema.encode computes for numeric features, once the request parser has
            # checked every value is a finite number; without building a DataFrame per batch
            names = self.names
            return np.array([[r[n] for n in names] for r in rows], dtype=float)
        frame = pd.DataFrame.from_records(rows, columns=self.names)
        return self.schema.encode(frame)

    def _process(self, jobs: list[_Job]) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(jobs)
        blocks: list[np.ndarray | None] = [None] * len(jobs)
        masks: list[np.ndarray | None] = [None] * len(jobs)
        try:
            X_all = self._encode([r for j in jobs for r in j.rows])
            ok_all = self.schema.valid_mask(X_all)
            start = 0
            for i, j in enumerate(jobs):
                blocks[i] = X_all[start:start + len(j.rows)]
                masks[i] = ok_all[start:start + len(j.rows)]
                start += len(j.rows)
        except MlsiegeError:  # a bad value somewhere: find whose, request by request
            for i, j in enumerate(jobs):
                try:
                    blocks[i] = self._encode(j.rows)
                except MlsiegeError as exc:
                    outcomes[i] = Outcome(422, {"detail": str(exc)})
        good: list[int] = []
        for i, X in enumerate(blocks):
            if X is None:
                continue
            ok = masks[i] if masks[i] is not None else self.schema.valid_mask(X)
            if ok.all():
                good.append(i)
            else:
                outcomes[i] = Outcome(422, {"detail": self._explain(X, ok)})
        if good:
            X = np.vstack([blocks[i] for i in good])
            answers = self._predict(X)
            start = 0
            for i in good:
                j, n = jobs[i], len(blocks[i])
                part = answers.take(slice(start, start + n))
                first = self._detect(j.key_id, blocks[i], part)
                out_policy = self.policy.degrade_to if j.key_id in self.degraded else j.output
                if self.is_blocked(j.key_id):
                    outcomes[i] = Outcome(403, {"detail": "this key is blocked by attack detection"}, first)
                else:
                    outcomes[i] = Outcome(200, {"predictions": shape(part, out_policy)}, first)
                start += n
        return outcomes  # type: ignore[return-value]

    def _explain(self, X: np.ndarray, ok: np.ndarray) -> str:
        bad = int(np.flatnonzero(~ok)[0])
        found = self.schema.explain(X[bad:bad + 1], limit=3)
        rules = ", ".join(f"{v.rule} (by {v.amount:.4g})" for v in found) or "unknown rule"
        return f"row {bad} violates the schema: {rules}"

    def _predict(self, X: np.ndarray) -> Answers:
        t = self.target
        if self.kind == "classifier" and hasattr(t, "predict_proba"):
            proba = np.asarray(t.predict_proba(X), dtype=float)
            classes = np.asarray(getattr(t, "classes_", np.arange(proba.shape[1])))
            return Answers(classes[proba.argmax(axis=1)], proba=proba)
        if self.kind == "scorer":
            return Answers(None, scores=np.asarray(t.score(X), dtype=float))
        return Answers(np.asarray(t.predict(X)))

    def _detect(self, key_id: str, X: np.ndarray, part: Answers, *, peer: bool = False) -> int | None:
        """Feed the monitor ``X`` in chunks of ``detect_chunk`` rows, giving the lock up between them.

        A large batch therefore delays another key's detection by one chunk, not by the whole
        batch, and while other keys wait it pauses as long as each chunk took, leaving them at
        least half of the CPU (per-key fairness); a key's own rows stay in order (one batch per
        key in flight).
        """
        if self.monitor is None:
            return None
        first, alerts = None, []
        step = self.detect_chunk
        for start in range(0, len(X), step):
            labels = None if part.labels is None else part.labels[start:start + step]
            began = time.perf_counter()
            with self._monitor_lock:
                if first is None:
                    first = self.monitor.seen
                alerts.extend(self.monitor.observe(key_id, X[start:start + step], labels))
            if start + step < len(X):
                # let a thread waiting for the lock take it, and give way to other keys' work
                time.sleep(min(0.05, time.perf_counter() - began) if self._others_waiting(key_id) else 0)
        for alert in alerts:
            self._act(alert, peer=peer)
        return first

    def _others_waiting(self, key_id: str) -> bool:
        """Whether another key has a request queued or in flight (read without the lock: a hint)."""
        return len(self._busy) > 1 or any(k != key_id for k in list(self._queues))

    def _act(self, alert: Alert, *, peer: bool = False) -> None:
        action = self.policy.action
        if action == "block":
            self.block(alert.key, reason=f"{alert.detector}: {alert.detail}")
        elif action == "degrade":
            self.degraded.add(alert.key)
        if self.on_alert is not None and not (peer and self._alerted_elsewhere(alert)):
            self.on_alert(alert, action)

    def block(self, key_id: str, *, reason: str = "") -> None:
        """Block ``key_id`` (in every process when the state is shared)."""
        self._local_blocks.add(key_id)
        if self.shared is not None:
            try:
                self.shared.block(key_id, reason=reason)
            except MlsiegeError:  # the database is down: blocked here at least
                log.exception("could not store the block of key %s", key_id)

    def _alerted_elsewhere(self, alert: Alert) -> bool:
        """An alert raised on another process's rows: that process most likely wrote it already."""
        if self.shared is None:
            return False
        try:
            return bool(self.shared.db.query("SELECT 1 AS x FROM alerts WHERE key_id = :k AND detector = :d",
                                              {"k": alert.key, "d": alert.detector}))
        except MlsiegeError:
            return False

    # ----------------------------------------------------------------- other processes
    def follow_peers(self, origin: str | None, after: int, *, limit: int = 2000) -> int:
        """Feed the monitor the rows other processes answered with audit id > ``after``.

        Reads ``/v1/predict`` records with status 200 whose ``origin`` is not ours (every
        record when ``origin`` is ``None``: a restart replaying the log) from the shared audit
        log, in id order; returns the last id read (the next ``after``).
        """
        if self.monitor is None or self.shared is None:
            return after
        rows = self.shared.db.query(
            "SELECT id, key_id, origin, status, path, request, response FROM audit WHERE id > :a "
            "ORDER BY id LIMIT :n", {"a": after, "n": limit})
        for r in rows:
            after = max(after, int(r["id"]))
            if r["origin"] == origin or r["path"] != "/v1/predict" or r["status"] != 200 or not r["request"]:
                continue
            try:
                sent = json.loads(r["request"])["rows"]
                sent = [sent] if isinstance(sent, dict) else sent
                X = self._encode(sent)
                got = json.loads(r["response"] or "{}").get("predictions") or []
                labels = np.asarray([p.get("label") for p in got]) if len(got) == len(sent) else None
            except (ValueError, KeyError, TypeError, AttributeError, MlsiegeError):
                continue  # a record this version cannot read: skip it rather than stop following
            self._detect(r["key_id"], X, Answers(labels), peer=True)
        return after


def alert_record(alert: Alert, action: str) -> dict[str, Any]:
    """The ``alerts`` table row of an alert."""
    return {"ts": time.time(), "key_id": alert.key, "detector": alert.detector, "query": alert.query,
            "score": alert.score, "related": json.dumps(list(alert.related)), "action": action,
            "detail": alert.detail}
