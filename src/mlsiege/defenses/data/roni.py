"""RONI: reject a record (or a batch) whose addition hurts a model on a quiz set."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import log_loss
from sklearn.naive_bayes import GaussianNB

from mlsiege.defenses.data.cost import COST_OPTIONS, check_inputs, defense_result
from mlsiege.errors import ConfigError
from mlsiege.options import check_options

__all__ = ["RoniConfig", "roni_nelson2008"]


@dataclass(frozen=True)
class RoniConfig:
    """``unit``: ``None`` judges every record alone, or a meta column whose groups are judged
    together (e.g. ``"batch"``); ``base``: share of records used as the base training set when
    no trusted rows are given (another equal share is the quiz set); ``z``: a unit is rejected
    when its impact falls ``z`` robust standard deviations below the median impact and below 0."""

    unit: str | None = None
    base: float = 0.25
    z: float = 3.0

    def __post_init__(self) -> None:
        if not 0.05 <= self.base <= 0.45:
            raise ConfigError(f"base must be in [0.05, 0.45], got {self.base}")
        if self.z < 0:
            raise ConfigError(f"z must be >= 0, got {self.z}")


def _loss(model: Any, X: np.ndarray, y: np.ndarray) -> float:
    return float(log_loss(y, model.predict_proba(X), labels=model.classes_))


def roni_nelson2008(X: Any, y: Any, meta: Any = None, *, seed: int = 0, **options: Any) -> Any:
    """Reject On Negative Impact: add each unit to a base set, refit, reject it if the quiz loss rises.

    Nelson et al. (2008), "Exploiting machine learning to subvert your spam filter", LEET: a
    candidate is added to a base training set and rejected when the refitted model does worse
    on a quiz set. The base and quiz sets are trusted rows (``X_val``/``y_val``, split in
    half) or, without them, random shares of the data. Impact is measured as the change of
    quiz log-loss (continuous, so one record moves it) and judged against the other units'
    impacts (median - ``z`` x MAD). One refit per unit: use ``unit="batch"`` on large data.

    Parameters
    ----------
    X, y, meta
        Records, labels, metadata (the ``unit`` column when grouping).
    seed
        Seed of the base/quiz split and of the model.
    **options
        ``unit``, ``base`` (0.25), ``z`` (3.0), ``model`` (default Gaussian naive Bayes, the
        learner family of the spam filter the paper defended; must offer ``predict_proba``), ``X_val``, ``y_val``; ``is_poison``,
        ``X_test``, ``y_test`` for the costs.

    Returns
    -------
    DefenseResult
        Scores are the loss increases caused by each record's unit (higher = worse).
    """
    check_options("roni_nelson2008", options, ("unit", "base", "z", "model", "X_val", "y_val", *COST_OPTIONS))
    from mlsiege.training import fit

    started = time.perf_counter()
    config = RoniConfig(unit=options.pop("unit", None), base=options.pop("base", 0.25), z=options.pop("z", 3.0))
    need = (config.unit,) if config.unit else ()
    X, y, meta = check_inputs(X, y, meta, need=need)
    model = options.pop("model", None) or GaussianNB()
    rng = np.random.default_rng(seed)
    X_val, y_val = options.pop("X_val", None), options.pop("y_val", None)
    if X_val is None or y_val is None:
        order = rng.permutation(len(X))
        nb = max(2, int(config.base * len(X)))
        Xb, yb, Xq, yq = X[order[:nb]], y[order[:nb]], X[order[nb:2 * nb]], y[order[nb:2 * nb]]
    else:
        X_val, y_val = np.asarray(X_val, dtype=float), np.asarray(y_val)
        half = len(X_val) // 2
        Xb, yb, Xq, yq = X_val[:half], y_val[:half], X_val[half:], y_val[half:]
    units = meta[config.unit].astype(str).to_numpy() if config.unit else np.arange(len(X)).astype(str)
    before = _loss(fit(model, Xb, yb, seed), Xq, yq)
    impact: dict[str, float] = {}
    for u in np.unique(units):
        rows = units == u
        after = _loss(fit(model, np.vstack([Xb, X[rows]]), np.concatenate([yb, y[rows]]), seed), Xq, yq)
        impact[u] = after - before
    values = np.array(list(impact.values()))
    med = float(np.median(values))
    mad = float(np.median(np.abs(values - med))) * 1.4826 or 1e-12
    bad = {u for u, v in impact.items() if v > 0 and (v - med) / mad > config.z}
    keep = ~np.isin(units, list(bad))
    scores = np.array([impact[u] for u in units])
    return defense_result("roni_nelson2008", keep, scores, X=X, y=y, config=config, seed=seed, started=started,
                          mitigations=("AML.M0007",), options=options, refits=len(impact) + 1)


#: RONI judges records against trusted rows (``X_val``/``y_val``); ``mlsiege.checks`` gives it some
roni_nelson2008.needs = ("trusted_rows",)
