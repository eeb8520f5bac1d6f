"""Subpopulation poisoning: hurt the model on one natural cluster of rows, and only there."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler

from mlsiege.attacks.poisoning.effect import EFFECT_OPTIONS, check_xy, fit, poisoning_result
from mlsiege.attacks.poisoning.generator import PhonyGenerator
from mlsiege.errors import ConfigError
from mlsiege.metrics.poisoning import targeted_error
from mlsiege.options import check_options
from mlsiege.schema import Schema

__all__ = ["SubpopulationConfig", "subpopulation_jagielski2021"]


@dataclass(frozen=True)
class SubpopulationConfig:
    """``n_clusters``: clusters the attacker finds (ClusterMatch); ``cluster``: the one attacked
    (default: the smallest with >= 5 rows); ``ratio``: poison rows per subpopulation row."""

    n_clusters: int = 4
    cluster: int | None = None
    ratio: float = 1.0

    def __post_init__(self) -> None:
        if self.n_clusters < 2:
            raise ConfigError(f"n_clusters must be >= 2, got {self.n_clusters}")
        if not 0.0 < self.ratio <= 5.0:
            raise ConfigError(f"ratio must be in (0, 5], got {self.ratio}")
        if self.cluster is not None and not 0 <= self.cluster < self.n_clusters:
            raise ConfigError(f"cluster must be in [0, {self.n_clusters}), got {self.cluster}")


def subpopulation_jagielski2021(X: Any, y: Any, *, schema: Schema, seed: int = 0, **options: Any) -> Any:
    """Poison one cluster: add look-alikes of its rows carrying the opposite label.

    After Jagielski, Severi, Pousette Harger and Oprea (2021), "Subpopulation data poisoning
    attacks", CCS (the ClusterMatch variant with label flipping): k-means on standardized rows
    finds subpopulations; the attacker adds ``ratio`` x its size of copula look-alikes of the
    target cluster's rows, each labelled with the class that is *not* the cluster's majority.
    The damage stays local, so overall accuracy barely moves while the cluster's error jumps.

    Parameters
    ----------
    X, y, schema, seed
        Clean training rows and labels, feature space, seed.
    **options
        ``n_clusters`` (4), ``cluster``, ``ratio`` (1.0), ``model``, ``X_test``, ``y_test``.

    Returns
    -------
    AttackResult
        Metrics ``targeted_error_clean`` / ``targeted_error_poisoned`` on the subpopulation of
        the evaluation rows and ``collateral_error_clean`` / ``_poisoned`` on the rest;
        artifact ``subpopulation`` (mask over the evaluation rows).
    """
    check_options("subpopulation_jagielski2021", options, ("n_clusters", "cluster", "ratio", *EFFECT_OPTIONS))
    started = time.perf_counter()
    config = SubpopulationConfig(
        n_clusters=options.pop("n_clusters", 4), cluster=options.pop("cluster", None), ratio=options.pop("ratio", 1.0)
    )
    X, y = check_xy(X, y, schema)
    scaler = StandardScaler().fit(X)
    km = KMeans(n_clusters=config.n_clusters, n_init=4, random_state=seed).fit(scaler.transform(X))
    sizes = np.bincount(km.labels_, minlength=config.n_clusters)
    if config.cluster is None:
        eligible = np.flatnonzero(sizes >= 5)
        if len(eligible) == 0:
            raise ConfigError("no cluster holds 5 rows: lower n_clusters")
        cluster = int(eligible[np.argmin(sizes[eligible])])
    else:
        cluster = config.cluster
    members = km.labels_ == cluster
    values, counts = np.unique(y[members], return_counts=True)
    majority = values[np.argmax(counts)]
    others = np.unique(y[y != majority])
    if len(others) == 0:
        raise ConfigError("y holds a single class: nothing to flip toward")
    label = others[0]
    k = max(1, math.ceil(config.ratio * members.sum()))
    phony = PhonyGenerator(schema, X[members], jitter=0.05).sample(k, seed)
    X_p = np.vstack([X, phony])
    y_p = np.concatenate([y, np.full(len(phony), label, dtype=y.dtype)])
    is_poison = np.r_[np.zeros(len(X), bool), np.ones(len(phony), bool)]

    X_test, y_test = options.get("X_test"), options.get("y_test")
    if X_test is None or y_test is None:
        X_test, y_test = X, y
    X_test = np.asarray(X_test, dtype=float)
    sub = km.predict(scaler.transform(X_test)) == cluster
    clean = fit(options.get("model"), X, y, seed)
    poisoned = fit(options.get("model"), X_p, y_p, seed)
    metrics = {
        "cluster": cluster, "subpopulation_size": int(members.sum()),
        "targeted_error_clean": targeted_error(clean, X_test[sub], np.asarray(y_test)[sub]),
        "targeted_error_poisoned": targeted_error(poisoned, X_test[sub], np.asarray(y_test)[sub]),
        "collateral_error_clean": targeted_error(clean, X_test[~sub], np.asarray(y_test)[~sub]),
        "collateral_error_poisoned": targeted_error(poisoned, X_test[~sub], np.asarray(y_test)[~sub]),
    }
    gain = metrics["targeted_error_poisoned"] - metrics["targeted_error_clean"]
    return poisoning_result(
        "subpopulation_jagielski2021", X_p, y_p, is_poison, schema=schema, config=config, seed=seed,
        started=started, techniques=("AML.T0020",), metrics=metrics, succeeded=bool(gain > 0),
        reason="targeted error did not rise", subpopulation=sub,
    )
