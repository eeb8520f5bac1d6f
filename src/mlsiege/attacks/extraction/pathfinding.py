"""Path finding: map every leaf of a decision tree whose API tells leaves apart."""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from mlsiege.attacks.extraction.active import ATLAS, _budget_view, paid_result
from mlsiege.attacks.extraction.oracle import Oracle
from mlsiege.attacks.extraction.synthesis import Box, box_samples
from mlsiege.errors import ConfigError
from mlsiege.results import AttackResult
from mlsiege.schema import Schema

__all__ = ["LeafBoxes", "PathFindingConfig", "path_finding_tramer2016"]


class LeafBoxes:
    """The recovered partition: one axis-aligned box and one label per leaf.

    ``predict`` answers the label of the box holding a row, or of the nearest box (range-scaled
    L-infinity distance) for rows in regions the search never reached.
    """

    def __init__(self, low: np.ndarray, high: np.ndarray, labels: np.ndarray, span: np.ndarray) -> None:
        self.span_ = np.asarray(span, dtype=float)
        self.low_ = np.asarray(low, dtype=float).reshape(len(labels), len(self.span_))
        self.high_ = np.asarray(high, dtype=float).reshape(len(labels), len(self.span_))
        self.labels_ = np.asarray(labels)

    def apply(self, X: np.ndarray) -> np.ndarray:
        """Index of the leaf box of each row (nearest box when none holds it)."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        out = (np.maximum(0.0, self.low_[None] - X[:, None]) + np.maximum(0.0, X[:, None] - self.high_[None])) / self.span_
        return np.argmin(out.max(axis=2), axis=1)

    def predict(self, X: np.ndarray) -> np.ndarray:
        if len(self.labels_) == 0:
            raise ConfigError("no leaf was recovered")
        return self.labels_[self.apply(X)]


@dataclass(frozen=True)
class PathFindingConfig:
    """Search settings.

    Attributes
    ----------
    tolerance
        Width (share of a feature's range) to which each split threshold is located.
    identity
        ``"auto"`` (probability vectors when exposed; a label-only API is refused, spending
        nothing), ``"proba"`` or ``"label"`` (leaves of one class merge: a rough map only).
    starts
        Random feasible starting rows (besides pool rows) seeding the leaf queue.
    """

    tolerance: float = 1e-4
    identity: str = "auto"
    starts: int = 1

    def __post_init__(self) -> None:
        if not 0.0 < self.tolerance < 1.0:
            raise ConfigError(f"tolerance must be in (0, 1), got {self.tolerance!r}")
        if self.identity not in ("auto", "proba", "label"):
            raise ConfigError(f"identity must be auto, proba or label, got {self.identity!r}")
        if int(self.starts) != self.starts or self.starts < 1:
            raise ConfigError(f"starts must be a positive integer, got {self.starts!r}")


class _Leaves:
    """Leaf identity of rows as the API reveals it."""

    def __init__(self, oracle: Oracle) -> None:
        self.oracle = oracle

    def ask(self, X: np.ndarray) -> list[tuple] | None:
        before = len(self.oracle)
        labels = self.oracle.ask(X)
        if len(labels) < len(X):
            return None
        if self.oracle.scores:
            return [tuple(np.round(p, 12)) for p in self.oracle.proba[before:]]
        return [(v,) for v in labels.tolist()]


def _extent(schema: Schema, x: np.ndarray, j: int, end: float) -> float:
    """Furthest value toward ``end`` on feature ``j`` that keeps ``x`` feasible (no queries)."""
    y = x.copy()
    y[j] = end
    if schema.valid_mask(y[None, :])[0]:
        return end
    good, bad = x[j], end
    for _ in range(40):
        mid = (good + bad) / 2.0
        y[j] = mid
        if schema.valid_mask(y[None, :])[0]:
            good = mid
        else:
            bad = mid
    return good


def _line_search(leaves: _Leaves, schema: Schema, x: np.ndarray, leaf: tuple, j: int, end: float, tol: float, queue: deque) -> float | None:
    """Where leaf ``leaf`` ends on feature ``j`` going from ``x`` toward ``end``; None if out of budget."""
    discrete = schema.features[j].is_discrete
    y = x.copy()
    y[j] = end
    ids = leaves.ask(y[None, :])
    if ids is None:
        return None
    if ids[0] == leaf:
        return end
    queue.append((y.copy(), ids[0]))
    inside, outside = x[j], end
    while abs(outside - inside) > (1.0 if discrete else tol):
        mid = (inside + outside) / 2.0
        if discrete:
            mid = math.floor(mid) if outside > inside else math.ceil(mid)
            if mid in (inside, outside):
                break
        y[j] = mid
        ids = leaves.ask(y[None, :])
        if ids is None:
            return None
        if ids[0] == leaf:
            inside = mid
        else:
            outside = mid
            queue.append((y.copy(), ids[0]))
    return (inside + outside) / 2.0


def path_finding_tramer2016(
    target: Any,
    *,
    schema: Schema,
    pool_X: np.ndarray | None = None,
    budget: int,
    seed: int = 0,
    config: PathFindingConfig | None = None,
    **options: Any,
) -> AttackResult:
    """Recover a decision tree's leaves as boxes when its answers identify the leaf.

    Many tree APIs return a leaf's confidence (class frequencies), unique per leaf in practice.
    From a row in an unexplored leaf, a line search along each feature (the other features
    held) finds where the answer changes: the leaf's interval on that feature, located by
    bisection to ``tolerance``; every different answer met on the way is a new leaf to explore
    (Tramèr et al. 2016, section 4.2, "path-finding"). Features a leaf does not test cost two
    queries. Every probe is kept inside the schema's feasible set.

    Parameters
    ----------
    target, schema, pool_X, budget, seed
        As for every extraction recipe; pool rows, if given, seed the leaf queue.
    config, **options
        :class:`PathFindingConfig` or its fields.

    Returns
    -------
    AttackResult
        ``artifacts["surrogate"]`` is a :class:`LeafBoxes`; ``metrics["leaves"]`` the leaves
        mapped; status ``partial`` when the budget ran out with leaves still unexplored.

    References
    ----------
    Tramèr, Zhang, Juels, Reiter, Ristenpart. "Stealing Machine Learning Models via Prediction
    APIs", USENIX Security 2016.
    """
    started = time.perf_counter()
    cfg = config if config is not None else PathFindingConfig(**options)
    view = _budget_view(target, budget)
    rng = np.random.default_rng(seed)
    oracle = Oracle(view, use_scores=cfg.identity != "label")
    if cfg.identity == "proba" and not oracle.scores:
        raise ConfigError("identity='proba' needs an API that exposes probabilities")
    if cfg.identity == "auto" and not oracle.scores:
        return AttackResult(
            attack="path_finding_tramer2016", status="failed",
            artifacts={"surrogate": None, "queried": np.empty((0, schema.n_features)), "fidelity_curve": []},
            seconds=time.perf_counter() - started, config=asdict(cfg), seed=seed, atlas_techniques=ATLAS,
            failure_reason="the API answers labels only: leaves cannot be told apart (use active extraction)",
        )
    leaves = _Leaves(oracle)
    box = Box.of(schema, pool_X)
    tol = cfg.tolerance
    starts = box_samples(schema, box, cfg.starts, rng)
    if pool_X is not None and len(pool_X):
        pool = np.asarray(pool_X, dtype=float)
        starts = np.vstack([pool[schema.valid_mask(pool)][: cfg.starts], starts])
    queue: deque = deque()
    ids = leaves.ask(starts) if len(starts) else None
    if ids is not None:
        queue.extend(zip(list(starts), ids, strict=True))
    found: dict[tuple, tuple[np.ndarray, np.ndarray, Any]] = {}
    out_of_budget = ids is None
    while queue and not out_of_budget:
        x, leaf = queue.popleft()
        if leaf in found:
            continue
        lo, hi = box.low.copy(), box.high.copy()
        for j in range(schema.n_features):
            for end_value, side in ((box.high[j], hi), (box.low[j], lo)):
                end = _extent(schema, x, j, end_value)
                if end == x[j]:
                    side[j] = x[j]
                    continue
                edge = _line_search(leaves, schema, x, leaf, j, end, tol * box.span[j], queue)
                if edge is None:
                    out_of_budget = True
                    break
                side[j] = edge
            if out_of_budget:
                break
        if out_of_budget:
            break
        label = oracle.classes[int(np.argmax(leaf))] if oracle.scores and oracle.classes is not None else (
            int(np.argmax(leaf)) if oracle.scores else leaf[0])
        # a leaf that reaches the schema's bound goes on beyond it (trees extrapolate that way)
        lo[lo <= box.low] = -np.inf
        hi[hi >= box.high] = np.inf
        found[leaf] = (lo, hi, label)
    keys = list(found)
    surrogate = LeafBoxes(
        np.array([found[k][0] for k in keys]).reshape(len(keys), schema.n_features),
        np.array([found[k][1] for k in keys]).reshape(len(keys), schema.n_features),
        np.array([found[k][2] for k in keys]),
        box.span,
    )
    queried = oracle.X if len(oracle) else np.empty((0, schema.n_features))
    pending = len({leaf for _, leaf in queue if leaf not in found})
    status = "failed" if not keys else ("partial" if pending or out_of_budget else "succeeded")
    return paid_result(
        "path_finding_tramer2016", status, surrogate=surrogate, queried=queried, answers=oracle.y, view=view,
        schema=schema, started=started, config=asdict(cfg), seed=seed,
        metrics={"leaves": len(keys), "unexplored": pending, "identity": "proba" if oracle.scores else "label"},
        reason=None if status == "succeeded" else (
            "no answer could be bought" if not keys else "budget ran out with leaves unexplored"),
    )


#: what the API must answer (``mlsiege.checks``: refuses a label-only target cleanly)
path_finding_tramer2016.needs = ("scores", "leaves")
