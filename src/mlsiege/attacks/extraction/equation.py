"""Equation solving: exact recovery of a linear or logistic model that exposes its scores."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from mlsiege.attacks.extraction.active import _budget_view, paid_result
from mlsiege.attacks.extraction.oracle import Oracle
from mlsiege.attacks.extraction.synthesis import Box, feasible
from mlsiege.errors import ConfigError, QueryBudgetExceeded
from mlsiege.results import AttackResult
from mlsiege.schema import Schema

__all__ = ["EquationSolvingConfig", "LinearSurrogate", "equation_solving_tramer2016"]


class LinearSurrogate:
    """A recovered linear model: ``z = X @ coef_.T + intercept_``.

    For a classifier, ``z`` are the log-odds of each class against ``classes_[0]`` (softmax, or
    the logistic function with two classes); for a scorer, ``z`` is the score itself.
    """

    def __init__(self, coef: np.ndarray, intercept: np.ndarray, classes: np.ndarray | None) -> None:
        self.coef_ = np.atleast_2d(coef)
        self.intercept_ = np.atleast_1d(intercept)
        self.classes_ = classes

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        z = np.asarray(X, dtype=float) @ self.coef_.T + self.intercept_
        return z[:, 0] if z.shape[1] == 1 else z

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        z = np.asarray(X, dtype=float) @ self.coef_.T + self.intercept_
        z = np.column_stack([np.zeros(len(z)), z])
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.classes_ is None:
            return self.decision_function(X)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


@dataclass(frozen=True)
class EquationSolvingConfig:
    """Where the d+1 (or more) queries go.

    Attributes
    ----------
    step
        Offset of each probe from the anchor along one feature, as a share of its range (small
        steps keep the probes where the target's probabilities are not saturated).
    extra_queries
        Probes beyond d+1 (random directions); the system is then solved in least squares, which
        averages out rounding of the answers.
    """

    step: float = 1e-3
    extra_queries: int = 0

    def __post_init__(self) -> None:
        if not 0.0 < self.step <= 1.0:
            raise ConfigError(f"step must be in (0, 1], got {self.step!r}")
        if int(self.extra_queries) != self.extra_queries or self.extra_queries < 0:
            raise ConfigError(f"extra_queries must be a non-negative integer, got {self.extra_queries!r}")


def _probes(schema: Schema, anchor: np.ndarray, box: Box, cfg: EquationSolvingConfig, rng: np.random.Generator) -> np.ndarray:
    d = len(anchor)
    steps = np.where(schema.discrete_mask, 1.0, cfg.step * box.span)
    rows = [anchor]
    for j in range(d):
        x = anchor.copy()
        # step inward when the anchor sits on the upper bound
        x[j] = anchor[j] + steps[j] if anchor[j] + steps[j] <= box.high[j] else anchor[j] - steps[j]
        rows.append(x)
    for _ in range(cfg.extra_queries):
        rows.append(anchor + rng.choice([-1.0, 1.0], d) * rng.uniform(0.2, 1.0, d) * steps)
    return feasible(schema, np.asarray(rows))


def _anchor(schema: Schema, box: Box, pool: np.ndarray | None) -> np.ndarray:
    if pool is not None and len(pool):
        centre = np.median(pool, axis=0)
        return pool[np.argmin(np.linalg.norm((pool - centre) / box.span, axis=1))].astype(float)
    P = feasible(schema, ((box.low + box.high) / 2.0)[None, :])
    return P[0] if len(P) else box.low.copy()


def _log_odds(proba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Log-odds against the first class, and a mask of rows whose answers were saturated."""
    tiny = np.finfo(float).tiny
    saturated = (proba <= 0.0).any(axis=1) | (proba >= 1.0).any(axis=1)
    logp = np.log(np.clip(proba, tiny, None))
    return logp[:, 1:] - logp[:, :1], saturated


def equation_solving_tramer2016(
    target: Any,
    *,
    schema: Schema,
    pool_X: np.ndarray | None = None,
    budget: int,
    seed: int = 0,
    config: EquationSolvingConfig | None = None,
    **options: Any,
) -> AttackResult:
    """Recover a logistic (or linear-score) model exactly from d+1 answered probabilities.

    For a logistic model, ``log p_k(x) - log p_0(x) = w_k . x + b_k`` is linear in ``x``: d+1
    probes in general position give a square linear system whose solution is the model itself
    (Tramèr et al. 2016, section 4.1). The probes are a small simplex around an anchor (a pool
    row near the pool's median, else the centre of the schema's box) so the answers stay
    unsaturated. Rounded probabilities (``Rounded``) break exactness: the error it leaves is
    what that hardening buys. A label-only API defeats the method (the result says so).

    Parameters
    ----------
    target, schema, pool_X, budget, seed
        As for every extraction recipe; ``budget`` must be at least d+1.
    config, **options
        :class:`EquationSolvingConfig` or its fields.

    Returns
    -------
    AttackResult
        ``artifacts["surrogate"]`` is a :class:`LinearSurrogate` (``coef_``, ``intercept_``);
        ``metrics["residual"]`` is the largest misfit of the solved system on the probes and
        ``metrics["saturated"]`` the probes whose answers were clipped at 0 or 1.

    References
    ----------
    Tramèr, Zhang, Juels, Reiter, Ristenpart. "Stealing Machine Learning Models via Prediction
    APIs", USENIX Security 2016.
    """
    started = time.perf_counter()
    cfg = config if config is not None else EquationSolvingConfig(**options)
    view = _budget_view(target, budget)
    rng = np.random.default_rng(seed)
    d = schema.n_features
    scorer = hasattr(view, "score") and not hasattr(view, "predict_proba")
    oracle = Oracle(view) if not scorer else None
    box = Box.of(schema, pool_X)

    def done(status: str, surrogate: Any, queried: np.ndarray, metrics: dict, reason: str | None) -> AttackResult:
        return paid_result(
            "equation_solving_tramer2016", status, surrogate=surrogate, queried=queried,
            answers=np.empty(0) if oracle is None else oracle.y, view=view, schema=schema, started=started,
            config=asdict(cfg), seed=seed, metrics=metrics, reason=reason,
        )

    empty = np.empty((0, d))
    if not scorer and (oracle is None or not oracle.scores):
        return done("failed", None, empty, {}, "the API answers labels only: equation solving needs scores")
    probes = _probes(schema, _anchor(schema, box, pool_X), box, cfg, rng)
    if budget < d + 1 or len(probes) < d + 1:
        return done("failed", None, empty, {}, f"needs at least {d + 1} feasible probes within the budget, has {min(budget, len(probes))}")
    if scorer:
        try:
            Z = view.score(probes).reshape(-1, 1)
        except QueryBudgetExceeded as exc:
            Z = np.asarray(exc.partial, dtype=float).reshape(-1, 1)
        sent, saturated, classes = probes[: len(Z)], np.zeros(len(Z), dtype=bool), None
    else:
        oracle.ask(probes)
        sent = oracle.X
        Z, saturated = _log_odds(oracle.proba)
        classes = oracle.classes
    A = np.column_stack([sent, np.ones(len(sent))])
    rank = int(np.linalg.matrix_rank(A))
    solution, *_ = np.linalg.lstsq(A, Z, rcond=None)
    surrogate = LinearSurrogate(solution[:-1].T, solution[-1], classes)
    residual = float(np.max(np.abs(A @ solution - Z))) if len(Z) else float("nan")
    metrics = {"rank": rank, "residual": residual, "saturated": int(saturated.sum()), "probes": int(len(sent))}
    # probabilities with at most 6 decimals everywhere are rounded by the API (scores: not judged)
    answers = np.empty((0, 1)) if scorer else oracle.proba
    rounded = bool(len(answers)) and bool(np.all(np.abs(answers * 1e6 - np.round(answers * 1e6)) < 1e-6))
    metrics["rounded_answers"] = rounded
    exact = rank == d + 1 and not saturated.any() and not rounded
    reason = None
    if not exact:
        reason = ("answers saturated at 0 or 1" if saturated.any() else
                  "answers are rounded: the solution is approximate" if rounded else f"probes span rank {rank} < {d + 1}")
    return done("succeeded" if exact else "partial", surrogate, sent, metrics, reason)


#: what the API must answer (``mlsiege.checks``: refuses a label-only target cleanly)
equation_solving_tramer2016.needs = ("scores",)
