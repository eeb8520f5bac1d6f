"""Surrogate extraction with active query selection (the workhorse recipe of this family)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from mlsiege.attacks.extraction.oracle import Oracle
from mlsiege.attacks.extraction.selection import STRATEGIES, fit_thief, pick
from mlsiege.attacks.extraction.synthesis import (
    Box,
    bisect_boundary,
    box_samples,
    diagonal_samples,
    feasible,
    local_samples,
)
from mlsiege.errors import ConfigError
from mlsiege.metrics.extraction import fidelity
from mlsiege.results import AttackResult
from mlsiege.schema import Schema
from mlsiege.targets import Budgeted, ensure_budgeted

__all__ = ["ATLAS", "ActiveExtractionConfig", "active_extraction_chandrasekaran2020", "knowledge_of"]

#: Extract AI Model, Create Proxy AI Model
ATLAS = ("AML.T0024.002", "AML.T0005")


@dataclass(frozen=True)
class ActiveExtractionConfig:
    """How the thief is trained and how it picks its queries.

    Attributes
    ----------
    thief
        Any scikit-learn classifier (cloned and seeded); ``None``: a 100-tree random forest.
    selector
        Model that ranks candidates (``None``: the thief). A forest's vote fractions make a good
        committee even when the final thief is a boosted model whose probabilities are overconfident.
    strategy
        ``"uncertainty"``, ``"disagreement"`` (bootstrap committee) or ``"random"``.
    initial
        Random queries before the first model (pool rows, or synthesized rows schema-only).
    batch_size
        Queries bought per round of selection (``None``: ``max(5, budget // 20)``, so the
        thief is refitted about twenty times whatever the budget).
    explore_fraction, boundary_fraction
        Without a pool: shares of the budget spent on exploration draws and on bisection
        toward the decision boundary before uncertainty sampling takes over.
    bisection_steps
        Queries per bisection between two differently labelled rows.
    n_candidates
        Synthesized candidates scored per round.
    self_training
        After the budget is spent, refit on the unqueried pool rows labelled by the surrogate
        (free: the pool is the attacker's own data).
    use_scores
        Ask for probabilities when the API exposes them (labels otherwise).
    """

    thief: Any = None
    selector: Any = None
    strategy: str = "uncertainty"
    initial: int = 10
    batch_size: int | None = None
    explore_fraction: float = 0.2
    boundary_fraction: float = 0.3
    bisection_steps: int = 6
    n_candidates: int = 2000
    self_training: bool = True
    use_scores: bool = True

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ConfigError(f"strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        for name in ("initial", "batch_size", "bisection_steps", "n_candidates"):
            if getattr(self, name) is not None and int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        for name in ("explore_fraction", "boundary_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1], got {getattr(self, name)!r}")
        if self.explore_fraction + self.boundary_fraction > 1.0:
            raise ConfigError("explore_fraction + boundary_fraction must not exceed 1")
        for name in ("thief", "selector"):
            model = getattr(self, name)
            if model is not None and not (hasattr(model, "fit") and hasattr(model, "predict")):
                raise ConfigError(f"{name} must be a scikit-learn style classifier, got {type(model).__name__}")

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if k not in ("thief", "selector")}
        d["thief"] = "RandomForestClassifier(n_estimators=100)" if self.thief is None else repr(self.thief)
        d["selector"] = None if self.selector is None else repr(self.selector)
        return d


def knowledge_of(pool_X: Any, pool_y: Any) -> str:
    """``"labeled-pool"``, ``"schema+pool"`` (unlabeled pool) or ``"schema"``."""
    if pool_y is not None:
        return "labeled-pool"
    return "schema+pool" if pool_X is not None and len(pool_X) else "schema"


def _budget_view(target: Any, budget: int) -> Budgeted:
    if int(budget) != budget or budget < 0:
        raise ConfigError(f"budget must be a non-negative integer, got {budget!r}")
    parent = ensure_budgeted(target, int(budget))
    return parent if parent.max_queries == budget and parent.queries_used == 0 else parent.sub_budget(int(budget))


class _Run:
    """State of one extraction: what is known, what was bought, how well the copy does."""

    def __init__(self, oracle: Oracle, cfg: ActiveExtractionConfig, seed: int, known: tuple[np.ndarray, np.ndarray] | None, evaluation: tuple | None) -> None:
        self.oracle, self.cfg, self.seed = oracle, cfg, seed
        self.known = known
        self.evaluation = evaluation
        self.curve: list[dict[str, float]] = []

    def labelled(self) -> tuple[np.ndarray, np.ndarray]:
        parts_X, parts_y = [], []
        if self.known is not None:
            parts_X.append(self.known[0])
            parts_y.append(self.known[1])
        if len(self.oracle):
            parts_X.append(self.oracle.X)
            parts_y.append(self.oracle.y)
        if not parts_X:
            return np.empty((0, 0)), np.empty(0)
        return np.vstack(parts_X), np.concatenate(parts_y)

    def fit(self, model: Any = None) -> Any:
        X, y = self.labelled()
        return fit_thief(self.cfg.thief if model is None else model, X, y, self.seed)

    def record(self, surrogate: Any) -> None:
        if self.evaluation is not None:
            X, y = self.evaluation
            self.curve.append({"queries": len(self.oracle), "fidelity": fidelity(surrogate, X, y)})


def _explore(run: _Run, schema: Schema, box: Box, n: int, rng: np.random.Generator) -> None:
    half = n // 2
    C = np.vstack([diagonal_samples(schema, box, n - half, rng), box_samples(schema, box, half, rng)])
    run.oracle.ask(feasible(schema, C[rng.permutation(len(C))][:n]))


def _boundary(run: _Run, schema: Schema, box: Box, until: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Bisect between nearby differently labelled rows until ``until`` queries are spent."""
    centres: list[np.ndarray] = []
    steps = run.cfg.bisection_steps
    while len(run.oracle) + steps <= until and not run.oracle.exhausted:
        X, y = run.labelled()
        labels = np.unique(y)
        if len(labels) < 2:
            break
        i = int(rng.integers(len(X)))
        others = np.flatnonzero(y != y[i])
        dist = np.linalg.norm((X[others] - X[i]) / box.span, axis=1)
        # the nearest opposite rows, with some randomness so bisections spread along the boundary
        j = others[int(np.argmin(dist * (1.0 + rng.uniform(0.0, 0.5, len(dist)))))]
        centre = bisect_boundary(run.oracle, schema, X[i], y[i], X[j], steps)
        if centre is None:
            break
        centres.append(centre)
    return centres


def active_extraction_chandrasekaran2020(
    target: Any,
    *,
    schema: Schema,
    pool_X: np.ndarray | None = None,
    budget: int,
    seed: int = 0,
    pool_y: np.ndarray | None = None,
    eval_X: np.ndarray | None = None,
    eval_y: np.ndarray | None = None,
    config: ActiveExtractionConfig | None = None,
    **options: Any,
) -> AttackResult:
    """Copy a prediction API into a local surrogate, choosing each batch of queries actively.

    The attacker's knowledge is explicit: the schema only (queries are synthesized in its
    feasible set: exploration draws, then bisection to the decision boundary, then candidates
    around the boundary ranked by the surrogate's uncertainty); the schema and an unlabeled pool
    (``pool_X``: labels are bought for the pool rows the surrogate is least sure of, and the rest
    of the pool is pseudo-labelled at the end); or a labeled pool (``pool_y``: the surrogate starts
    from it and buys labels near its boundary). Works with label-only and score outputs.

    Parameters
    ----------
    target
        The prediction API (wrapped in :class:`~mlsiege.targets.Budgeted` if it is not).
    schema
        Feature space; every row sent satisfies it.
    pool_X, pool_y
        The attacker's own rows (unlabeled) and, for a labeled pool, their labels.
    budget
        Rows this extraction may send.
    seed
        Seed of the private random generator (and of the thief).
    eval_X, eval_y
        Held-out rows and the target's answers on them (computed by the evaluator, outside the
        budget) for ``artifacts["fidelity_curve"]``.
    config, **options
        :class:`ActiveExtractionConfig` or its fields as keywords.

    Returns
    -------
    AttackResult
        ``artifacts``: ``surrogate``, ``queried``, ``answers``, ``fidelity_curve``, ``knowledge``.

    References
    ----------
    Chandrasekaran, Chaudhuri, Giacomelli, Jha, Yan. "Exploring Connections Between Active
    Learning and Model Extraction", USENIX Security 2020. Tramèr et al., "Stealing Machine
    Learning Models via Prediction APIs", USENIX Security 2016 (boundary line search).

    Examples
    --------
    >>> import numpy as np
    >>> from mlsiege.schema import Feature, Schema
    >>> from mlsiege.targets import from_callable
    >>> s = Schema([Feature("a", "real", 0, 1), Feature("b", "real", 0, 1)])
    >>> api = from_callable(lambda X: (X[:, 0] > 0.3).astype(int))
    >>> r = active_extraction_chandrasekaran2020(api, schema=s, budget=60, seed=0)
    >>> r.queries, r.artifacts["surrogate"].predict([[0.9, 0.5], [0.1, 0.5]]).tolist()
    (60, [1, 0])
    """
    started = time.perf_counter()
    cfg = config if config is not None else ActiveExtractionConfig(**options)
    if config is not None and options:
        raise ConfigError(f"pass either config or options, not both (got {sorted(options)})")
    view = _budget_view(target, budget)
    rng = np.random.default_rng(seed)
    oracle = Oracle(view, use_scores=cfg.use_scores)
    knowledge = knowledge_of(pool_X, pool_y)
    pool = np.empty((0, schema.n_features))
    if pool_X is not None and len(pool_X):
        pool = np.array(pool_X, dtype=float, copy=True)
        keep = schema.valid_mask(pool)
        pool_y = None if pool_y is None else np.asarray(pool_y)[keep]
        pool = pool[keep]
    if eval_X is not None and eval_y is None:
        raise ConfigError("eval_X needs eval_y: the target's answers on the held-out rows")
    evaluation = None if eval_X is None else (np.asarray(eval_X, dtype=float), np.asarray(eval_y))
    known = (pool, pool_y) if knowledge == "labeled-pool" else None
    run = _Run(oracle, cfg, seed, known, evaluation)
    box = Box.of(schema, pool if len(pool) else None)
    unused = np.ones(len(pool), dtype=bool) if knowledge == "schema+pool" else np.zeros(len(pool), dtype=bool)
    centres: list[np.ndarray] = []

    if knowledge == "schema+pool":
        first = rng.choice(len(pool), min(cfg.initial, len(pool), budget), replace=False)
        oracle.ask(pool[first])
        unused[first] = False
    elif knowledge == "schema" and budget:
        _explore(run, schema, box, max(cfg.initial, int(cfg.explore_fraction * budget)), rng)
    if knowledge != "schema+pool":
        until = int((cfg.explore_fraction + cfg.boundary_fraction) * budget)
        centres = _boundary(run, schema, box, until, rng)

    selector = cfg.selector
    while not oracle.exhausted and oracle.remaining > 0:
        X_lab, y_lab = run.labelled()
        surrogate = run.fit()
        run.record(surrogate)
        ranker = surrogate if selector is None else run.fit(selector)
        k = int(min(cfg.batch_size or max(5, budget // 20), oracle.remaining))
        if unused.any():
            cand_idx = np.flatnonzero(unused)
            C = pool[cand_idx]
        else:
            cand_idx = None
            anchors = np.asarray(centres) if centres else X_lab
            if len(np.unique(y_lab)) < 2 and knowledge == "schema":
                C = np.vstack([diagonal_samples(schema, box, cfg.n_candidates // 2, rng), box_samples(schema, box, cfg.n_candidates // 2, rng)])
            elif len(anchors):
                C = local_samples(schema, box, anchors, cfg.n_candidates, rng)
            else:
                C = box_samples(schema, box, cfg.n_candidates, rng)
        if len(C) == 0:
            break
        chosen = pick(cfg.strategy, ranker, C, k, rng, thief=cfg.thief if selector is None else selector, X=X_lab, y=y_lab)
        before = len(oracle)
        if cand_idx is not None:
            oracle.ask(C[chosen])
            unused[cand_idx[chosen[: len(oracle) - before]]] = False
        else:
            oracle.ask(feasible(schema, C[chosen]))
        if len(oracle) == before:
            break

    surrogate = run.fit()
    if cfg.self_training and unused.any() and len(np.unique(run.labelled()[1])) > 1:
        X_lab, y_lab = run.labelled()
        extra = pool[unused]
        surrogate = fit_thief(cfg.thief, np.vstack([X_lab, extra]), np.concatenate([y_lab, surrogate.predict(extra)]), seed)
    run.record(surrogate)
    return _result(
        "active_extraction_chandrasekaran2020", run, surrogate, schema, view, cfg.to_dict(), seed, started,
        knowledge=knowledge, boundary_points=np.asarray(centres).reshape(-1, schema.n_features),
    )


def _result(name: str, run: _Run, surrogate: Any, schema: Schema, view: Budgeted, config: dict, seed: int, started: float, **artifacts: Any) -> AttackResult:
    oracle = run.oracle
    queried = oracle.X if len(oracle) else np.empty((0, schema.n_features))
    _, y = run.labelled()
    seen = len(np.unique(y))
    metrics: dict[str, Any] = {"classes_seen": seen, "output": "scores" if oracle.scores else "labels"}
    if run.curve:
        metrics["fidelity"] = run.curve[-1]["fidelity"]
    failure = None if seen > 1 else "every answer bought was the same class: the surrogate is constant"
    return paid_result(
        name, "succeeded" if seen > 1 else "failed", surrogate=surrogate, queried=queried, answers=oracle.y,
        view=view, schema=schema, started=started, config=config, seed=seed, metrics=metrics, reason=failure,
        curve=run.curve, **artifacts,
    )


def paid_result(
    name: str, status: str, *, surrogate: Any, queried: np.ndarray, answers: np.ndarray, view: Budgeted, schema: Schema,
    started: float, config: dict, seed: int, metrics: dict, reason: str | None, curve: Any = (), **artifacts: Any,
) -> AttackResult:
    """The result every query-paying extraction recipe returns: the surrogate, the rows bought and
    their answers, the budget view's query and call counts, and the share of bought rows that were
    valid under ``schema``."""
    return AttackResult(
        attack=name,
        status=status,
        artifacts={"surrogate": surrogate, "queried": queried, "answers": answers, "fidelity_curve": list(curve), **artifacts},
        queries=view.queries_used,
        calls=view.calls,
        valid_rate=float(schema.valid_mask(queried).mean()) if len(queried) else 1.0,
        seconds=time.perf_counter() - started,
        config=config,
        seed=seed,
        atlas_techniques=ATLAS,
        metrics=metrics,
        failure_reason=reason,
    )
