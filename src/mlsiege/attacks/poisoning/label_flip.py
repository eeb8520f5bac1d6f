"""Label flipping: change the labels of a fraction of training rows, features untouched."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlsiege.attacks.poisoning.effect import (
    EFFECT_OPTIONS,
    check_xy,
    default_model,
    downstream_effect,
    fit,
    poisoning_result,
)
from mlsiege.errors import ConfigError
from mlsiege.options import check_options
from mlsiege.schema import Schema

__all__ = ["LabelFlipConfig", "label_flip_random_biggio2011", "label_flip_targeted_xiao2012"]


@dataclass(frozen=True)
class LabelFlipConfig:
    """``rate``: fraction of all rows flipped; ``target_class``: targeted flips take rows of it
    (default: the positive / last class); ``metric``: downstream metric (auc, accuracy)."""

    rate: float = 0.1
    target_class: Any = None
    metric: str = "auc"

    def __post_init__(self) -> None:
        if not 0.0 < self.rate < 0.5:
            raise ConfigError(f"rate must be in (0, 0.5), got {self.rate}")
        if self.metric not in ("auc", "accuracy"):
            raise ConfigError(f"metric must be 'auc' or 'accuracy' for label flips, got {self.metric!r}")


def _flip(y: np.ndarray, idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    classes = np.unique(y)
    out = y.copy()
    for i in idx:
        others = classes[classes != y[i]]
        out[i] = others[rng.integers(0, len(others))] if len(others) else y[i]
    return out


def _finish(name: str, X, y, y_new, idx, schema, config, seed, started, options) -> Any:
    is_poison = np.zeros(len(y), dtype=bool)
    is_poison[idx] = True
    eff, _, _ = downstream_effect(
        X, y, X, y_new, X_test=options.get("X_test"), y_test=options.get("y_test"),
        model=options.get("model"), metric=config.metric, seed=seed,
    )
    return poisoning_result(
        name, X, y_new, is_poison, schema=schema, config=config, seed=seed, started=started,
        techniques=("AML.T0020",), metrics=eff, succeeded=eff["utility_drop"] > 0,
    )


def label_flip_random_biggio2011(X: Any, y: Any, *, schema: Schema, seed: int = 0, **options: Any) -> Any:
    """Flip the labels of a random ``rate`` fraction of the training rows.

    Random label noise as an attack baseline, after Biggio, Nelson and Laskov (2011), "Support
    vector machines under adversarial label noise", ACML. Features are left untouched, so every
    row stays in the schema; ``is_poison`` marks the flipped rows.

    Parameters
    ----------
    X, y
        Training rows (attack space) and labels.
    schema
        Feature space.
    seed
        Seed of the private generator.
    **options
        ``rate`` (0.1), ``metric`` ("auc"), and for the downstream effect ``model`` (an
        unfitted scikit-learn estimator), ``X_test``, ``y_test``.

    Returns
    -------
    AttackResult
        Artifacts ``X_poisoned``, ``y_poisoned``, ``is_poison``; metrics ``metric_clean``,
        ``metric_poisoned``, ``utility_drop``.
    """
    check_options("label_flip_random_biggio2011", options, ("rate", "metric", *EFFECT_OPTIONS))
    started = time.perf_counter()
    config = LabelFlipConfig(rate=options.pop("rate", 0.1), metric=options.pop("metric", "auc"))
    X, y = check_xy(X, y, schema)
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(y), size=max(1, round(config.rate * len(y))), replace=False)
    return _finish("label_flip_random_biggio2011", X, y, _flip(y, idx, rng), idx, schema, config, seed, started, options)


def label_flip_targeted_xiao2012(X: Any, y: Any, *, schema: Schema, seed: int = 0, **options: Any) -> Any:
    """Flip the labels of the rows of one class that a surrogate model is surest about.

    After Xiao, Xiao and Eckert (2012), "Adversarial label flips attack on support vector
    machines", ECAI: flips that maximise the surrogate's loss move the boundary most. Here the
    surrogate is ``model`` (default: standardized logistic regression) fitted on the clean
    rows, and the ``rate * n`` rows of ``target_class`` with the largest margin toward their
    own label are flipped (greedy, one fit).

    Parameters
    ----------
    X, y, schema, seed
        As in :func:`label_flip_random_biggio2011`.
    **options
        ``rate`` (0.1), ``target_class`` (default: the last class), ``metric``, ``model``,
        ``X_test``, ``y_test``.

    Returns
    -------
    AttackResult
        As :func:`label_flip_random_biggio2011`.
    """
    check_options("label_flip_targeted_xiao2012", options, ("rate", "target_class", "metric", *EFFECT_OPTIONS))
    started = time.perf_counter()
    config = LabelFlipConfig(
        rate=options.pop("rate", 0.1), target_class=options.pop("target_class", None), metric=options.pop("metric", "auc")
    )
    X, y = check_xy(X, y, schema)
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    target = classes[-1] if config.target_class is None else config.target_class
    pool = np.flatnonzero(y == target)
    if len(pool) == 0:
        raise ConfigError(f"target_class {target!r} does not occur in y (classes {classes.tolist()})")
    surrogate = fit(options.get("model") or default_model(seed), X, y, seed)
    proba = surrogate.predict_proba(X[pool])
    col = int(np.flatnonzero(surrogate.classes_ == target)[0])
    order = pool[np.argsort(-proba[:, col], kind="stable")]
    idx = order[: max(1, min(len(order), round(config.rate * len(y))))]
    return _finish("label_flip_targeted_xiao2012", X, y, _flip(y, idx, rng), idx, schema, config, seed, started, options)
