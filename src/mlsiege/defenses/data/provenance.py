"""Provenance-group filtering: drop whole sources whose records make a model worse."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlsiege.defenses.data.cost import COST_OPTIONS, check_inputs, defense_result
from mlsiege.errors import ConfigError
from mlsiege.metrics.poisoning import downstream_metric
from mlsiege.options import check_options

__all__ = ["ProvenanceConfig", "provenance_filter_baracaldo2017"]


@dataclass(frozen=True)
class ProvenanceConfig:
    """``group``: the meta column naming a record's provenance; ``eps``: smallest gain in the
    validation metric that condemns a group; ``z``: how far (in robust standard deviations)
    above the other groups' gains a condemned group must also stand; ``holdout``: share of each
    group held out as validation when no trusted rows are given; ``metric``: auc / accuracy /
    rmse; ``min_records``: smaller groups are judged together as one group "(small)";
    ``warm_start``: start each leave-one-group-out fit from the full model's solution when the
    estimator supports it (same optimum for convex models, far fewer iterations)."""

    group: str = "source"
    eps: float = 0.005
    z: float = 3.5
    holdout: float = 0.25
    metric: str = "auc"
    min_records: int = 5
    warm_start: bool = True

    def __post_init__(self) -> None:
        if self.eps < 0 or self.z < 0:
            raise ConfigError(f"eps and z must be >= 0, got {self.eps}, {self.z}")
        if not 0.05 <= self.holdout <= 0.5:
            raise ConfigError(f"holdout must be in [0.05, 0.5], got {self.holdout}")
        if self.metric not in ("auc", "accuracy", "rmse"):
            raise ConfigError(f"metric must be auc, accuracy or rmse, got {self.metric!r}")
        if self.min_records < 1:
            raise ConfigError(f"min_records must be >= 1, got {self.min_records}")


def _warm_param(model: Any) -> str | None:
    """Name of the ``warm_start`` parameter of ``model`` (or of its last pipeline step), if any."""
    params = model.get_params()
    for name in ("warm_start", f"{getattr(model, 'steps', [[None]])[-1][0]}__warm_start"):
        if name in params:
            return name
    return None


def _refit_warm(full: Any, X: np.ndarray, y: np.ndarray) -> Any:
    est = copy.deepcopy(full)
    est.set_params(**{_warm_param(full): True})
    return est.fit(X, y)


def provenance_filter_baracaldo2017(X: Any, y: Any, meta: Any, *, seed: int = 0, **options: Any) -> Any:
    """Flag every record of a provenance group whose removal improves a model on validation data.

    Baracaldo, Chen, Ludwig and Safavi (2017), "Mitigating poisoning attacks on machine learning
    models: a data provenance based approach", AISec: records are grouped by provenance (here
    the ``meta`` column ``group``, e.g. the source feed); for each group a model is fitted
    without it and compared with the model fitted on everything, on trusted validation rows
    (``X_val``, ``y_val``) or, without them, on a held-out share of every *other* group. A
    group is condemned when removing it gains more than ``eps`` and stands ``z`` robust
    standard deviations (median / MAD over groups, the MAD floored at ``eps / 2``) above the
    other groups' gains.

    One fit on all data plus one per group (the ART implementation refits the full model for
    every group as well); each per-group fit starts from the full model's solution when the
    estimator has ``warm_start`` (logistic regression does). The score of a record is its group's gain.

    Parameters
    ----------
    X, y
        Records and labels.
    meta
        Per-record metadata with the ``group`` column (default ``"source"``).
    seed
        Seed of the held-out split and of the model.
    **options
        ``group``, ``eps`` (0.005), ``z`` (3.5, the robust outlier cut of Iglewicz and Hoaglin 1993), ``holdout`` (0.25), ``metric`` ("auc"),
        ``min_records``, ``model`` (unfitted scikit-learn estimator; default standardized
        logistic regression), ``X_val``, ``y_val``; ``is_poison``, ``X_test``, ``y_test`` for
        the costs.

    Returns
    -------
    DefenseResult
        ``groups`` maps each group to its gain, size and verdict.
    """
    check_options("provenance_filter_baracaldo2017", options, ("group", "eps", "z", "holdout", "metric", "min_records", "warm_start", "model", "X_val", "y_val", *COST_OPTIONS))
    from mlsiege.training import fit

    started = time.perf_counter()
    keys = ("group", "eps", "z", "holdout", "metric", "min_records", "warm_start")
    config = ProvenanceConfig(**{k: options.pop(k) for k in keys if k in options})
    X, y, meta = check_inputs(X, y, meta, need=(config.group,))
    model = options.pop("model", None)
    groups = meta[config.group].astype(str).to_numpy()
    names, counts = np.unique(groups, return_counts=True)
    small = set(names[counts < config.min_records])
    groups = np.where(np.isin(groups, list(small)), "(small)", groups)
    rng = np.random.default_rng(seed)
    X_val, y_val = options.pop("X_val", None), options.pop("y_val", None)
    if X_val is None or y_val is None:
        val = rng.random(len(X)) < config.holdout
        train = ~val
    else:
        val, train = None, np.ones(len(X), bool)
        X_val, y_val = np.asarray(X_val, dtype=float), np.asarray(y_val)
    sign = -1.0 if config.metric == "rmse" else 1.0

    def score(model_fit: Any, exclude: str | None) -> float:
        if val is None:
            return sign * downstream_metric(model_fit, X_val, y_val, config.metric)
        rows = val & (groups != exclude)
        return sign * downstream_metric(model_fit, X[rows], y[rows], config.metric)

    full = fit(model, X[train], y[train], seed)
    warm = config.warm_start and _warm_param(full) is not None
    refits = 1
    gains: dict[str, float] = {}
    for g in np.unique(groups):
        rows = train & (groups != g)
        if len(np.unique(y[rows])) < 2:
            gains[g] = 0.0
            continue
        without = _refit_warm(full, X[rows], y[rows]) if warm else fit(model, X[rows], y[rows], seed)
        refits += 1
        gains[g] = score(without, g) - score(full, g)
    values = np.array(list(gains.values()))
    med = float(np.median(values))
    # spread floor eps / 2: with a coarse metric (accuracy) most gains tie and the MAD is 0
    mad = max(float(np.median(np.abs(values - med))) * 1.4826, config.eps / 2)
    condemned = {g for g, v in gains.items() if v > config.eps and (v - med) / mad > config.z}
    keep = ~np.isin(groups, list(condemned))
    scores = np.array([gains[g] for g in groups])
    table = {g: {"gain": gains[g], "records": int((groups == g).sum()), "flagged": g in condemned} for g in gains}
    return defense_result(
        "provenance_filter_baracaldo2017", keep, scores, X=X, y=y, config=config, seed=seed, started=started,
        mitigations=("AML.M0025", "AML.M0007"), options=options, refits=refits, groups=table,
        metrics={"groups_flagged": sorted(condemned)},
    )
