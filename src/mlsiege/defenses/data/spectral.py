"""Spectral signatures: poison leaves a trace along the top singular direction of its class."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlsiege.defenses.data.cost import COST_OPTIONS, check_inputs, defense_result, standardize
from mlsiege.errors import ConfigError
from mlsiege.options import check_options

__all__ = ["SpectralConfig", "spectral_signatures_tran2018"]


@dataclass(frozen=True)
class SpectralConfig:
    """``eps``: the poison share assumed per class; the top ``factor * eps`` of each class's
    scores is removed (1.5 in the paper)."""

    eps: float = 0.05
    factor: float = 1.5

    def __post_init__(self) -> None:
        if not 0.0 < self.eps < 0.5 or self.factor <= 0:
            raise ConfigError(f"eps must be in (0, 0.5) and factor > 0, got {self.eps}, {self.factor}")


def spectral_signatures_tran2018(X: Any, y: Any, meta: Any = None, *, seed: int = 0, **options: Any) -> Any:
    """Score each record by its squared projection on its class's top singular vector.

    Tran, Li and Madry (2018), "Spectral signatures in backdoor attacks", NeurIPS, applied to
    standardized tabular features rather than learned representations: within each label, the
    centred rows' top right singular vector captures a concentrated poison cluster, and the
    records with the largest squared projections (the top ``factor * eps`` of the class) are
    removed. Deterministic; no refit.

    Parameters
    ----------
    X, y, meta
        Records, labels, metadata (unused).
    seed
        Unused; kept for the calling convention.
    **options
        ``eps`` (0.05), ``factor`` (1.5); ``is_poison``, ``X_test``, ``y_test`` for the costs.

    Returns
    -------
    DefenseResult
        Scores are the squared projections divided by their class median.
    """
    check_options("spectral_signatures_tran2018", options, ("eps", "factor", *COST_OPTIONS))
    started = time.perf_counter()
    config = SpectralConfig(eps=options.pop("eps", 0.05), factor=options.pop("factor", 1.5))
    X, y, meta = check_inputs(X, y, meta)
    Z = standardize(X)
    scores = np.zeros(len(X))
    keep = np.ones(len(X), bool)
    for label in np.unique(y):
        rows = np.flatnonzero(y == label)
        if len(rows) < 3:
            continue
        R = Z[rows] - Z[rows].mean(axis=0)
        _, _, vt = np.linalg.svd(R, full_matrices=False)
        s = (R @ vt[0]) ** 2
        scores[rows] = s / (np.median(s) or 1.0)
        n_drop = int(np.floor(config.factor * config.eps * len(rows)))
        if n_drop:
            keep[rows[np.argsort(-s, kind="stable")[:n_drop]]] = False
    return defense_result("spectral_signatures_tran2018", keep, scores, X=X, y=y, config=config, seed=seed,
                          started=started, mitigations=("AML.M0007",), options=options)
