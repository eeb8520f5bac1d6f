"""Cross-validated label filtering: a record the held-out models confidently contradict is suspect."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from mlsiege.defenses.data.cost import COST_OPTIONS, check_inputs, defense_result
from mlsiege.errors import ConfigError
from mlsiege.options import check_options

__all__ = ["CvLabelConfig", "cv_label_filter_brodley1999"]


@dataclass(frozen=True)
class CvLabelConfig:
    """``folds`` of cross-fitting; a record is flagged when the held-out model's margin for its
    own label falls below ``-margin`` (decision-function units for margin models such as the
    default RBF SVM, probability difference for probabilistic ones)."""

    folds: int = 10
    margin: float = 0.2

    def __post_init__(self) -> None:
        if self.folds < 2:
            raise ConfigError(f"folds must be >= 2, got {self.folds}")
        if self.margin < 0:
            raise ConfigError(f"margin must be >= 0, got {self.margin}")


def _own_margin(model: Any, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    classes = list(model.classes_)
    col = np.array([classes.index(v) if v in classes else -1 for v in y])
    if hasattr(model, "decision_function") and len(classes) == 2:
        d = np.asarray(model.decision_function(X), dtype=float)
        return np.where(col == 1, d, -d)
    P = np.asarray(model.predict_proba(X))
    own = np.where(col >= 0, P[np.arange(len(y)), np.maximum(col, 0)], 0.0)
    others = P.copy()
    others[np.arange(len(y)), np.maximum(col, 0)] = -np.inf
    return own - others.max(axis=1)


def cv_label_filter_brodley1999(X: Any, y: Any, meta: Any = None, *, seed: int = 0, **options: Any) -> Any:
    """Flag records whose label the model fitted on the other folds confidently contradicts.

    The classification filter of Brodley and Friedl (1999), "Identifying mislabeled training
    data", JAIR, with the margin rule of confident learning (Northcutt, Jiang and Chuang 2021):
    each record is scored by a model that never saw it (``folds``-fold cross-fitting), and
    flagged when that model's margin for the record's own label is below ``-margin``. Records
    near the class boundary (margin around 0) are kept, which is what keeps benign losses low.

    Parameters
    ----------
    X, y, meta
        Records, labels, metadata (unused).
    seed
        Seed of the fold split.
    **options
        ``folds`` (10), ``margin`` (0.2), ``model`` (default: standardized RBF SVM);
        ``is_poison``, ``X_test``, ``y_test`` for the costs.

    Returns
    -------
    DefenseResult
        Scores are the negated own-label margins (higher = more suspicious).
    """
    check_options("cv_label_filter_brodley1999", options, ("folds", "margin", "model", *COST_OPTIONS))
    started = time.perf_counter()
    config = CvLabelConfig(folds=options.pop("folds", 10), margin=options.pop("margin", 0.2))
    X, y, meta = check_inputs(X, y, meta)
    model = options.pop("model", None) or make_pipeline(StandardScaler(), SVC(C=1.0, gamma="scale"))
    _, counts = np.unique(y, return_counts=True)
    folds = min(config.folds, int(counts.min())) if len(counts) > 1 else 0
    margin = np.zeros(len(X))
    if folds >= 2:
        split = StratifiedKFold(folds, shuffle=True, random_state=seed)
        for tr, te in split.split(X, y):
            est = clone(model).fit(X[tr], y[tr])
            margin[te] = _own_margin(est, X[te], y[te])
    keep = margin >= -config.margin
    return defense_result("cv_label_filter_brodley1999", keep, -margin, X=X, y=y, config=config, seed=seed,
                          started=started, mitigations=("AML.M0007",), options=options, refits=max(folds, 0))
