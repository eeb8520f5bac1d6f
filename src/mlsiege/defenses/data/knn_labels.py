"""k-NN label consistency: a record whose neighbours mostly carry another label is suspect."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.neighbors import NearestNeighbors

from mlsiege.defenses.data.cost import COST_OPTIONS, check_inputs, defense_result, standardize
from mlsiege.errors import ConfigError
from mlsiege.options import check_options

__all__ = ["KnnLabelConfig", "knn_label_consistency_peri2020"]


@dataclass(frozen=True)
class KnnLabelConfig:
    """``k`` neighbours (on standardized features); a record is flagged when the share of its
    neighbours that disagree with its label exceeds ``threshold`` (0.5: the plurality vote)."""

    k: int = 10
    threshold: float = 0.5

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ConfigError(f"k must be >= 1, got {self.k}")
        if not 0.0 <= self.threshold < 1.0:
            raise ConfigError(f"threshold must be in [0, 1), got {self.threshold}")


def knn_label_consistency_peri2020(X: Any, y: Any, meta: Any = None, *, seed: int = 0, **options: Any) -> Any:
    """Flag records whose label disagrees with the vote of their ``k`` nearest neighbours.

    The deep k-NN defense of Peri et al. (2020), "Deep k-NN defense against clean-label data
    poisoning attacks", ECCV workshops, on standardized tabular features: a poisoned (flipped
    or injected) record sits among records of the other class, so its neighbourhood outvotes
    its label. No refit; one neighbour search. The score is the share of disagreeing
    neighbours, distance-free so it means the same thing in every dataset.

    Parameters
    ----------
    X, y, meta
        Records, labels, per-record metadata (unused).
    seed
        Unused (the defense is deterministic); kept for the calling convention.
    **options
        ``k`` (10), ``threshold`` (0.5); ``is_poison``, ``X_test``, ``y_test`` for the costs.

    Returns
    -------
    DefenseResult
    """
    check_options("knn_label_consistency_peri2020", options, ("k", "threshold", *COST_OPTIONS))
    started = time.perf_counter()
    config = KnnLabelConfig(k=options.pop("k", 10), threshold=options.pop("threshold", 0.5))
    X, y, meta = check_inputs(X, y, meta)
    k = min(config.k, len(X) - 1)
    if k < 1:
        return defense_result("knn_label_consistency_peri2020", np.ones(len(X), bool), np.zeros(len(X)), X=X, y=y,
                              config=config, seed=seed, started=started, mitigations=("AML.M0007",), options=options)
    nn = NearestNeighbors(n_neighbors=k + 1).fit(standardize(X))
    _, idx = nn.kneighbors(standardize(X))
    neigh = idx[:, 1:]  # the record itself comes first (ties aside)
    disagree = (y[neigh] != y[:, None]).mean(axis=1)
    keep = disagree <= config.threshold
    return defense_result("knn_label_consistency_peri2020", keep, disagree, X=X, y=y, config=config, seed=seed,
                          started=started, mitigations=("AML.M0007",), options=options)
