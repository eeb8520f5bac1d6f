"""Micro-batched prediction with schema validation and stateful detection.

Requests waiting at the same moment are validated and predicted together (one DataFrame, one
model call). Detection does not run here: it follows the audit feed
(:mod:`mlsiege.gateway.detection`) and shares its decisions through ``blocked`` and ``degraded``.
Validation errors stay per request: one request's bad row never fails its neighbours.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from mlsiege.defenses.serving.alerts import Alert
from mlsiege.errors import MlsiegeError
from mlsiege.gateway.output import Answers, shape
from mlsiege.gateway.policy import GatewayPolicy, OutputPolicy

__all__ = ["Engine", "Outcome"]



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

    ``submit`` must be called from the event loop; ``on_batch(jobs, outcomes)`` is called there
    once per answered batch, with one :class:`Outcome` per job (each job carries the ``context``
    its caller submitted). ``on_alert(alert, action)`` is called for each alert (the app
    persists them).
    """

    def __init__(self, target: Any, schema: Any, policy: GatewayPolicy, *,
                 on_batch: Callable[[list[Any], list[Outcome]], None],
                 on_alert: Callable[[Alert, str], None] | None = None, max_batch: int = 256) -> None:
        self.target, self.schema, self.policy = target, schema, policy
        self.names = list(schema.names)
        self._numeric = all(f.type != "categorical" for f in schema.features)
        self.kind = ("classifier" if hasattr(target, "predict_proba") or hasattr(target, "classes_")
                     else "scorer" if hasattr(target, "score") else "regressor")
        self.on_alert, self.on_batch = on_alert, on_batch
        self.max_batch = max_batch
        self.blocked: set[str] = set()
        self.degraded: set[str] = set()
        self.batches = 0
        self._pending: list[_Job] = []
        self._scheduled = False

    def submit(self, key_id: str, rows: list[dict[str, Any]], output: OutputPolicy, context: Any) -> None:
        """Queue a request; ``context`` comes back with its job in ``on_batch``.

        The batch is processed on the loop's next turn, so every request parsed in this turn
        joins it: micro-batching without a thread hand-off (the slow part, the audit sync,
        happens on the audit thread).
        """
        self._pending.append(_Job(key_id, rows, output, context))
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._drain)

    def close(self) -> None:
        self._drain()

    # ----------------------------------------------------------------- worker
    def _drain(self) -> None:
        self._scheduled = False
        while self._pending:
            jobs, n = [], 0
            while self._pending and n < self.max_batch:
                job = self._pending.pop(0)
                jobs.append(job)
                n += len(job.rows)
            self.process(jobs)

    def process(self, jobs: list[_Job]) -> None:
        """Answer ``jobs`` as one batch and hand the outcomes to ``on_batch``."""
        try:
            outcomes = self._process(jobs)
        except Exception as exc:  # the model itself failed: a server fault, said plainly
            msg = f"the model failed: {type(exc).__name__}: {exc}"
            outcomes = [Outcome(503, {"detail": msg}) for _ in jobs]
        self.batches += 1
        self.on_batch(jobs, outcomes)

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
                if j.key_id in self.blocked:
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

    def _detect(self, key_id: str, X: np.ndarray, part: Answers) -> int | None:
        return None  # detection follows the audit feed (mlsiege.gateway.detection)


def alert_record(alert: Alert, action: str, audit_id: int | None = None) -> dict[str, Any]:
    """The ``alerts`` table row of an alert (``query``: the audit record holding its row, if known)."""
    query = alert.query if audit_id is None else audit_id
    return {"ts": time.time(), "key_id": alert.key, "detector": alert.detector, "query": query,
            "score": alert.score, "related": json.dumps(list(alert.related)), "action": action,
            "detail": alert.detail}
