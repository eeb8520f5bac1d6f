"""Transfer: evasion crafted on the extracted surrogate, then tried once on the real target."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from mlsiege.attacks.extraction.active import (
    ATLAS,
    _budget_view,
    active_extraction_chandrasekaran2020,
)
from mlsiege.attacks.extraction.oracle import Oracle
from mlsiege.errors import ConfigError
from mlsiege.metrics.extraction import transfer_rate
from mlsiege.results import AttackResult
from mlsiege.schema import Schema
from mlsiege.targets import Budgeted, from_estimator

__all__ = ["surrogate_line_search", "transfer_evasion_papernot2017"]


def _accepted(surrogate: Any, schema: Schema, x: np.ndarray, a: np.ndarray, t: float, accept: Any) -> tuple[bool, np.ndarray]:
    """Is the projected row ``t`` of the way from ``x`` to ``a`` valid and accepted by the surrogate?"""
    row = schema.project((x + t * (a - x))[None, :], x[None, :])
    ok = schema.valid_mask(row, x[None, :])[0] and surrogate.predict(row)[0] == accept
    return bool(ok), row[0]


def surrogate_line_search(surrogate: Any, schema: Schema, X: np.ndarray, anchors: np.ndarray, accept: Any, *, steps: int = 20, margin: float = 0.05) -> np.ndarray:
    """Move each row of ``X`` toward its nearest ``anchor`` until the surrogate answers ``accept``.

    White-box in the cheapest sense: the surrogate is local, so its answers are free. Bisection on
    the segment finds the crossing; the row is pushed ``margin`` of the segment past it (a
    surrogate's boundary is only an estimate) and projected onto the schema with the original row
    (immutables and directions held). Rows the surrogate never accepts come back as NaN.
    """
    out = np.full_like(np.asarray(X, dtype=float), np.nan)
    if len(anchors) == 0:
        return out
    span = schema.scale()
    for i, x in enumerate(np.asarray(X, dtype=float)):
        order = np.argsort(np.linalg.norm((anchors - x) / span, axis=1))
        for a in anchors[order[:3]]:
            ok, row = _accepted(surrogate, schema, x, a, 1.0, accept)
            if not ok:
                continue
            lo, hi = 0.0, 1.0
            for _ in range(steps):
                mid = (lo + hi) / 2.0
                if _accepted(surrogate, schema, x, a, mid, accept)[0]:
                    hi = mid
                else:
                    lo = mid
            ok, row = _accepted(surrogate, schema, x, a, min(1.0, hi + margin), accept)
            if ok:
                out[i] = row
                break
    return out


def transfer_evasion_papernot2017(
    target: Any,
    *,
    schema: Schema,
    pool_X: np.ndarray | None = None,
    budget: int,
    seed: int = 0,
    X_attack: np.ndarray | None = None,
    reject: Any = 1,
    extraction_share: float = 0.8,
    evasion: Callable[..., AttackResult] | None = None,
    evasion_budget: int = 200,
    max_points: int = 50,
    **options: Any,
) -> AttackResult:
    """Extract a surrogate, craft evasions on it for free, and count how many fool the target.

    The practical black-box attack of Papernot et al. (2017): ``extraction_share`` of the budget
    buys a surrogate (:func:`active_extraction_chandrasekaran2020`, ``options`` go to its config);
    rows the target rejects (``X_attack``, or the bought rows it rejected) are moved across the
    surrogate's boundary, by ``evasion`` (any evasion recipe of :mod:`mlsiege.attacks.evasion`, run
    against the local surrogate with ``evasion_budget`` queries per row) or by default by
    :func:`surrogate_line_search` toward the nearest accepted row; each result costs one query on
    the real target. Without ``X_attack``, at most ``max_points`` rejected rows are attacked.

    Returns
    -------
    AttackResult
        ``artifacts``: ``surrogate``, ``queried``, ``adversarial`` (NaN where the surrogate could
        not be fooled), ``success`` (fooled the target); metrics ``transfer_rate`` (fooled target
        / fooled surrogate), ``surrogate_success_rate``, ``success_rate``.

    References
    ----------
    Papernot, McDaniel, Goodfellow, Jha, Celik, Swami. "Practical Black-Box Attacks against
    Machine Learning", AsiaCCS 2017.
    """
    started = time.perf_counter()
    if not 0.0 < extraction_share < 1.0:
        raise ConfigError(f"extraction_share must be in (0, 1), got {extraction_share!r}")
    view = _budget_view(target, budget)
    n_extract = int(round(extraction_share * budget))
    base = active_extraction_chandrasekaran2020(view, schema=schema, pool_X=pool_X, budget=n_extract, seed=seed, **options)
    surrogate = base.artifacts["surrogate"]
    bought, answers = np.asarray(base.artifacts["queried"]), np.asarray(base.artifacts["answers"])
    accept_rows = bought[answers != reject] if len(bought) else bought
    accepted_labels = answers[answers != reject]
    accept = accepted_labels[0] if len(accepted_labels) else (0 if reject != 0 else 1)
    if X_attack is None:
        X = bought[answers == reject][:max_points] if len(bought) else np.empty((0, schema.n_features))
    else:
        X = np.array(X_attack, dtype=float, copy=True)
    if evasion is not None and len(X):
        local = Budgeted(from_estimator(surrogate), None)
        ev = evasion(local, X, schema=schema, pool_X=accept_rows if len(accept_rows) else None,
                     pool_y=np.full(len(accept_rows), accept) if len(accept_rows) else None,
                     budget=evasion_budget, seed=seed)
        adversarial = np.asarray(ev.artifacts["adversarial"], dtype=float)
    else:
        adversarial = surrogate_line_search(surrogate, schema, X, accept_rows, accept)
    fooled_surrogate = ~np.isnan(adversarial).any(axis=1) if len(X) else np.zeros(0, dtype=bool)
    oracle = Oracle(view, use_scores=False)
    answers_t = oracle.ask(adversarial[fooled_surrogate]) if fooled_surrogate.any() else np.empty(0)
    success = np.zeros(len(X), dtype=bool)
    tried = np.flatnonzero(fooled_surrogate)[: len(answers_t)]
    success[tried] = np.asarray(answers_t) != reject
    tested = np.zeros(len(X), dtype=bool)
    tested[tried] = True
    sent = np.vstack([bought.reshape(-1, schema.n_features), adversarial[tried]])
    rate = transfer_rate(tested, success)
    metrics = {**base.metrics, "attacked": int(len(X)), "surrogate_success_rate": float(fooled_surrogate.mean()) if len(X) else float("nan"),
               "transfer_rate": rate, "success_rate": float(success.mean()) if len(X) else float("nan")}
    status = "failed" if not success.any() else ("succeeded" if success.all() else "partial")
    return AttackResult(
        attack="transfer_evasion_papernot2017",
        status=status,
        artifacts={"surrogate": surrogate, "queried": sent, "answers": answers, "adversarial": adversarial,
                   "success": success, "fidelity_curve": base.artifacts.get("fidelity_curve", [])},
        queries=view.queries_used,
        calls=view.calls,
        valid_rate=float(schema.valid_mask(adversarial[tried], X[tried]).mean()) if len(tried) else 1.0,
        seconds=time.perf_counter() - started,
        config={**base.config, "extraction_share": extraction_share, "reject": reject,
                "evasion": None if evasion is None else getattr(evasion, "__name__", repr(evasion)), "evasion_budget": evasion_budget},
        seed=seed,
        atlas_techniques=(*ATLAS, "AML.T0015"),
        metrics=metrics,
        failure_reason=None if success.any() else ("nothing to attack: the target rejected none of the bought rows" if not len(X) else "no evasion transferred to the target"),
    )
