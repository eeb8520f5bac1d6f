"""Tiny fake recipes and a tiny world for the scan tests (the families' calling conventions)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from mlsiege.errors import QueryBudgetExceeded
from mlsiege.results import AttackResult
from mlsiege.schema import Feature, Schema


def world(n: int = 160, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, size=(n, 3))
    y = (X[:, 0] + X[:, 1] > 1.0).astype(int)
    schema = Schema([Feature(f"f{i}", "real", 0.0, 1.0) for i in range(3)])
    frame = pd.DataFrame(X, columns=schema.names)
    model = LogisticRegression().fit(frame, y)
    return X, y, schema, model, frame


def fake_evasion(target, X, *, schema, pool_X=None, pool_y=None, budget, seed=0):
    """Bisection toward the nearest pool row of another label (test fake, 2024)."""
    adv = np.full_like(X, np.nan, dtype=float)
    success = np.zeros(len(X), dtype=bool)
    for i, x in enumerate(X):
        view = target.sub_budget(budget)
        best = None
        try:
            label = view.predict(x[None])[0]
            others = pool_X[:5][view.predict(pool_X[:5]) != label]
            if len(others):
                lo, best = x, others[0]
                for _ in range(budget):
                    mid = (lo + best) / 2
                    if view.predict(mid[None])[0] != label:
                        best = mid
                    else:
                        lo = mid
        except QueryBudgetExceeded:
            pass
        if best is not None:
            adv[i], success[i] = best, True
    return AttackResult("fake_evasion", "succeeded" if success.all() else "partial",
                        artifacts={"adversarial": adv, "success": success}, seed=seed)


def fake_extraction(target, *, schema, pool_X=None, budget, seed=0):
    """Query pool rows, fit a tree (test fake, 2024)."""
    rows = pool_X[: int(min(budget, len(pool_X)))]
    try:
        labels = target.predict(rows)
    except QueryBudgetExceeded as exc:
        labels = exc.partial
        rows = rows[: len(labels)]
    tree = DecisionTreeClassifier(max_depth=3, random_state=seed).fit(rows, labels)
    return AttackResult("fake_extraction", "succeeded", artifacts={"surrogate": tree, "queried": rows},
                        queries=len(rows), seed=seed)


def fake_poisoning(X, y, *, schema, seed=0):
    """Flip the first 30% of labels (test fake, 2024)."""
    n = int(0.3 * len(y))
    yp = y.copy()
    yp[:n] = 1 - yp[:n]
    is_poison = np.zeros(len(y), dtype=bool)
    is_poison[:n] = True
    return AttackResult("fake_poisoning", "succeeded",
                        artifacts={"X_poisoned": X.copy(), "y_poisoned": yp, "is_poison": is_poison}, seed=seed)


RECIPES = {
    "evasion_score": ("fake_evasion", fake_evasion),
    "evasion_label": ("fake_evasion", fake_evasion),
    "extraction": ("fake_extraction", fake_extraction),
    "poisoning": [("fake_poisoning", fake_poisoning)],
}
