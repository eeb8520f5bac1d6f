"""The shared benchmark setups, so every figure in docs/benchmarks.md compares.

``breast_cancer()`` is the setup behind the evasion and extraction issues' figures:
``train_test_split(X, y, train_size=284, stratify=y, random_state=0)`` for the victim's training
set, the remaining 285 rows split the same way into a 142-row attacker pool and 143 test rows,
a StandardScaler fitted on the 284 rows (the attack space is standardized), and
``GradientBoostingClassifier(random_state=0)``; attacked points are the first 50 correctly
classified test rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler


@dataclass(frozen=True)
class BreastCancerSetup:
    X_train: np.ndarray
    y_train: np.ndarray
    X_pool: np.ndarray
    y_pool: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    model: GradientBoostingClassifier
    attack_idx: np.ndarray  # indices into X_test of the first 50 correctly classified rows
    feature_names: tuple[str, ...]

    @property
    def X_attack(self) -> np.ndarray:
        return self.X_test[self.attack_idx]

    @property
    def y_attack(self) -> np.ndarray:
        return self.y_test[self.attack_idx]


def breast_cancer(n_attack: int = 50) -> BreastCancerSetup:
    data = load_breast_cancer()
    X, y = data.data, data.target
    X_tr, X_rest, y_tr, y_rest = train_test_split(X, y, train_size=284, stratify=y, random_state=0)
    X_pool, X_te, y_pool, y_te = train_test_split(X_rest, y_rest, train_size=142, stratify=y_rest, random_state=0)
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_pool, X_te = scaler.transform(X_tr), scaler.transform(X_pool), scaler.transform(X_te)
    model = GradientBoostingClassifier(random_state=0).fit(X_tr, y_tr)
    correct = np.flatnonzero(model.predict(X_te) == y_te)[:n_attack]
    names = tuple(f"f{i}" for i in range(X.shape[1]))
    return BreastCancerSetup(X_tr, y_tr, X_pool, y_pool, X_te, y_te, model, correct, names)
