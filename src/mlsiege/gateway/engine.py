"""Micro-batched prediction with schema validation, off the event loop.

Requests are queued per key and answered by a small pool of threads (``threads``), so model
calls never run on the event loop. A thread takes one batch at a time: one request from each
waiting key in turn (round robin) until ``max_batch`` rows, leaving out keys that already have a
batch in flight. One key's large batches therefore occupy at most one thread and never queue
ahead of another key's request (per-key fairness), and each key's requests are answered (and
audited) in the order they arrived. A batch is validated and predicted together (one model
call). Validation errors stay per request: one request's bad row never fails its neighbours.

Detection does not run here: it follows the audit log (:mod:`mlsiege.gateway.detection`) and
stores its decisions in the database (:class:`~mlsiege.gateway.store.BlockStore`), which the
engine reads to refuse a blocked key or degrade a key's output, in every process.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from mlsiege.defenses.serving.alerts import Alert
from mlsiege.errors import MlsiegeError
from mlsiege.gateway.output import Answers, shape
from mlsiege.gateway.policy import GatewayPolicy, OutputPolicy
from mlsiege.gateway.store import BlockStore

__all__ = ["Engine", "Outcome"]

log = logging.getLogger("mlsiege.gateway")


class Outcome:
    """What one request gets: an HTTP status and a JSON-ready body."""

    __slots__ = ("body", "status")

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status, self.body = status, body


class _Job:
    __slots__ = ("context", "key_id", "output", "rows")

    def __init__(self, key_id: str, rows: list[dict[str, Any]], output: OutputPolicy, context: Any) -> None:
        self.key_id, self.rows, self.output, self.context = key_id, rows, output, context


class Engine:
    """Owns the model and the schema, and answers queued requests on a pool of threads.

    ``submit`` may be called from any thread; ``on_batch(jobs, outcomes)`` is called from a pool
    thread once per answered batch, with one :class:`Outcome` per job (each job carries the
    ``context`` its caller submitted). ``blocks`` holds detection's decisions (none when ``None``).
    """

    def __init__(self, target: Any, schema: Any, policy: GatewayPolicy, *,
                 on_batch: Callable[[list[Any], list[Outcome]], None], max_batch: int = 256,
                 threads: int = 2, blocks: BlockStore | None = None) -> None:
        self.target, self.schema, self.policy = target, schema, policy
        self.names = list(schema.names)
        self._numeric = all(f.type != "categorical" for f in schema.features)
        self.kind = ("classifier" if hasattr(target, "predict_proba") or hasattr(target, "classes_")
                     else "scorer" if hasattr(target, "score") else "regressor")
        self.on_batch = on_batch
        self.max_batch = max_batch
        self.blocks = blocks
        self.batches = 0
        self._queues: dict[str, deque[_Job]] = {}
        self._busy: set[str] = set()
        self._cv = threading.Condition()
        self._stopping = False
        self._pool = [threading.Thread(target=self._work, name=f"mlsiege-engine-{i}", daemon=True)
                      for i in range(max(1, threads))]
        for t in self._pool:
            t.start()

    def is_blocked(self, key_id: str) -> bool:
        """Whether detection blocked ``key_id`` (in any process sharing the database)."""
        return self.blocks is not None and self.blocks.is_blocked(key_id)

    def is_degraded(self, key_id: str) -> bool:
        return self.blocks is not None and self.blocks.is_degraded(key_id)

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
        except Exception:  # the model itself failed: a server fault, logged under an id, said plainly
            error_id = secrets.token_hex(8)
            log.exception("error %s: the model failed on a batch of %d requests", error_id, len(jobs))
            outcomes = [Outcome(503, {"detail": "the model failed to answer", "error_id": error_id}) for _ in jobs]
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
                out_policy = self.policy.degrade_to if self.is_degraded(j.key_id) else j.output
                if self.is_blocked(j.key_id):
                    outcomes[i] = Outcome(403, {"detail": "this key is blocked by attack detection"})
                else:
                    outcomes[i] = Outcome(200, {"predictions": shape(part, out_policy)})
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


def alert_record(alert: Alert, action: str, audit_id: int | None = None) -> dict[str, Any]:
    """The ``alerts`` table row of an alert (``query``: the audit record holding its row, if known)."""
    query = alert.query if audit_id is None else audit_id
    return {"ts": time.time(), "key_id": alert.key, "detector": alert.detector, "query": query,
            "score": alert.score, "related": json.dumps(list(alert.related)), "action": action,
            "detail": alert.detail}
