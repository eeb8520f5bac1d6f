"""Query accounting: the only way an attack sees a target.

:class:`Budgeted` counts the rows actually sent and the calls made, keeps a log of every query
(inputs, outputs, timestamps, caller), and enforces a row budget exactly: a batch that would cross
the budget is cut at the budget, the rows that fit are answered, and
:class:`~mlsiege.errors.QueryBudgetExceeded` is raised carrying those answers, so nothing that was
paid for is lost. It exposes only the capabilities of the target it wraps: asking a label-only
API for probabilities raises :class:`~mlsiege.errors.CapabilityError` (an ``AttributeError``, so
``hasattr(budgeted, "predict_proba")`` tells an attack what it may use).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlsiege.errors import (
    CapabilityError,
    ConfigError,
    MlsiegeError,
    QueryBudgetExceeded,
    TargetRaisedError,
)

__all__ = ["Budgeted", "QueryLog", "QueryRecord", "ensure_budgeted"]

_ROW_METHODS = ("predict", "predict_proba", "score", "decision")


@dataclass(frozen=True)
class QueryRecord:
    """One call to the target: what was asked, what came back, when and by whom."""

    method: str
    inputs: np.ndarray
    outputs: Any
    started: float
    seconds: float
    caller: str

    @property
    def rows(self) -> int:
        return int(len(self.inputs))


@dataclass
class QueryLog:
    """Append-only list of :class:`QueryRecord`; feeds detection and reports."""

    records: list[QueryRecord] = field(default_factory=list)
    keep_io: bool = True

    def append(self, record: QueryRecord) -> None:
        self.records.append(record)

    def inputs(self) -> np.ndarray:
        """All rows sent, stacked in order (an empty ``(0, 0)`` array when nothing was sent)."""
        arrays = [r.inputs.reshape(len(r.inputs), -1) for r in self.records if len(r.inputs)]
        return np.vstack(arrays) if arrays else np.empty((0, 0))

    def __len__(self) -> int:
        return len(self.records)


class Budgeted:
    """Wrap ``target`` so that every row sent is counted against ``max_queries``.

    Parameters
    ----------
    target
        Any object following a protocol of :mod:`mlsiege.targets.protocols`.
    max_queries
        Hard cap on rows sent (users asked, for a recommender); ``None`` for no cap.
    caller
        Name stored with every logged query (an API key or attacker id).
    log_io
        Keep inputs and outputs in the log (turn off for very long campaigns).

    Examples
    --------
    >>> import numpy as np
    >>> from mlsiege.targets import Budgeted, from_callable
    >>> t = Budgeted(from_callable(lambda X: (X[:, 0] > 0).astype(int)), max_queries=3)
    >>> t.predict(np.array([[1.0], [-1.0]])).tolist(), t.queries_used
    ([1, 0], 2)
    """

    def __init__(
        self,
        target: Any,
        max_queries: int | None = None,
        *,
        caller: str = "attacker",
        log_io: bool = True,
        clock: Callable[[], float] = time.time,
        _child: bool = False,
    ) -> None:
        if isinstance(target, Budgeted) and not _child:
            raise ConfigError("target is already Budgeted; use .sub_budget(n) for a per-point cap")
        if max_queries is not None and (int(max_queries) != max_queries or max_queries < 0):
            raise ConfigError(f"max_queries must be a non-negative integer or None, got {max_queries!r}")
        self.target = target
        self.max_queries = None if max_queries is None else int(max_queries)
        self.caller = caller
        self.log = QueryLog(keep_io=log_io)
        self._clock = clock
        self.queries_used = 0
        self.calls = 0

    # ------------------------------------------------------------------ accounting
    def sub_budget(self, max_queries: int | None) -> Budgeted:
        """A view with its own cap whose queries also count here (per-point budgets).

        The view logs nothing itself; every row still lands in this wrapper's log and count.
        """
        cap = max_queries if self.max_queries is None else min(
            max_queries if max_queries is not None else self.max_queries, int(self.remaining)
        )
        return Budgeted(self, cap, caller=self.caller, log_io=False, clock=self._clock, _child=True)

    @property
    def remaining(self) -> float:
        """Rows still allowed (``inf`` without a cap)."""
        return float("inf") if self.max_queries is None else self.max_queries - self.queries_used

    def _call(self, method: str, X: Any, *args: Any) -> Any:
        fn = getattr(self.target, method, None)
        if fn is None:
            raise CapabilityError(f"the target does not offer {method}()")
        if isinstance(self.target, Budgeted):
            return self._call_child(fn, X, *args)
        n = len(X)
        allowed = n if self.max_queries is None else max(0, min(n, self.max_queries - self.queries_used))
        answered = None
        if allowed > 0:
            batch = X[:allowed]
            started = self._clock()
            try:
                answered = fn(batch, *args)
            except MlsiegeError:
                raise
            except Exception as exc:  # the model under test is foreign code: name it, keep cause
                raise TargetRaisedError(f"target {method}() raised {type(exc).__name__}: {exc}") from exc
            seconds = self._clock() - started
            self.queries_used += allowed
            self.calls += 1
            self.log.append(
                QueryRecord(
                    method=method,
                    inputs=np.array(batch, copy=True) if self.log.keep_io else np.empty((allowed, 0)),
                    outputs=np.array(answered, copy=True) if self.log.keep_io else None,
                    started=started,
                    seconds=seconds,
                    caller=self.caller,
                )
            )
        if allowed < n:
            raise QueryBudgetExceeded(
                self.max_queries or 0, self.queries_used, n,
                partial=answered if answered is not None else np.empty((0,)),
            )
        return answered

    def _call_child(self, fn: Callable[..., Any], X: Any, *args: Any) -> Any:
        n = len(X)
        allowed = n if self.max_queries is None else max(0, min(n, self.max_queries - self.queries_used))
        answered = None
        if allowed > 0:
            try:
                answered = fn(X[:allowed], *args)
            except QueryBudgetExceeded as exc:  # the parent ran out first: count what it answered
                self.queries_used += exc.sent
                self.calls += 1
                raise
            self.queries_used += allowed
            self.calls += 1
        if allowed < n:
            raise QueryBudgetExceeded(
                self.max_queries or 0, self.queries_used, n,
                partial=answered if answered is not None else np.empty((0,)),
            )
        return answered

    def _as_rows(self, X: Any) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim == 1:
            X = X.reshape(1, -1)
        return X

    # ------------------------------------------------------------------ capabilities
    def _bound(self, method: str) -> Callable[..., Any]:
        if not hasattr(self.target, method):
            raise CapabilityError(f"the target does not offer {method}()")
        return getattr(self, "_" + method)

    @property
    def predict(self) -> Callable[[np.ndarray], np.ndarray]:
        """Labels (classifier) or values (regressor) for ``X``."""
        return self._bound("predict")

    @property
    def predict_proba(self) -> Callable[[np.ndarray], np.ndarray]:
        """Class probabilities for ``X``; absent on label-only targets."""
        return self._bound("predict_proba")

    @property
    def score(self) -> Callable[[np.ndarray], np.ndarray]:
        """Anomaly scores for ``X`` (higher = more anomalous)."""
        return self._bound("score")

    @property
    def recommend(self) -> Callable[[np.ndarray, int], np.ndarray]:
        """Top-``k`` items per user; each user asked costs one query."""
        return self._bound("recommend")

    @property
    def classes_(self) -> np.ndarray:
        classes = getattr(self.target, "classes_", None)
        if classes is None:
            raise CapabilityError("the target does not expose classes_")
        return classes

    @property
    def threshold(self) -> float:
        threshold = getattr(self.target, "threshold", None)
        if threshold is None:
            raise CapabilityError("the target does not expose a threshold")
        return threshold

    def _predict(self, X: Any) -> np.ndarray:
        return np.asarray(self._call("predict", self._as_rows(X)))

    def _predict_proba(self, X: Any) -> np.ndarray:
        return np.asarray(self._call("predict_proba", self._as_rows(X)), dtype=float)

    def _score(self, X: Any) -> np.ndarray:
        return np.asarray(self._call("score", self._as_rows(X)), dtype=float)

    def _recommend(self, users: Any, k: int) -> np.ndarray:
        return np.asarray(self._call("recommend", np.atleast_1d(np.asarray(users)), k))

    def __repr__(self) -> str:
        cap = "inf" if self.max_queries is None else self.max_queries
        return f"Budgeted({type(self.target).__name__}, used={self.queries_used}/{cap}, calls={self.calls})"


def ensure_budgeted(target: Any, max_queries: int | None = None) -> Budgeted:
    """``target`` itself when already :class:`Budgeted`, else a new wrapper with that cap."""
    return target if isinstance(target, Budgeted) else Budgeted(target, max_queries)
