"""The model a poisoning experiment trains: the default victim model, refitting it, and a user's trainer.

Shared by poisoning attacks (``mlsiege.attacks.poisoning``), data defenses
(``mlsiege.defenses.data``), scans and the lifecycle audit, so every refit is done the same way
and neither attacks nor defenses import each other.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import numpy as np

from mlsiege.errors import ConfigError, DataValidationError

__all__ = ["default_model", "fit", "load_trainer"]


def default_model(seed: int = 0) -> Any:
    """Standardized logistic regression: fast, deterministic, sensitive to poison."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, random_state=seed))


def fit(model: Any, X: np.ndarray, y: np.ndarray, seed: int = 0) -> Any:
    """A fitted clone of ``model`` (``default_model`` when ``None``); one-class data is refused."""
    from sklearn.base import clone

    if len(np.unique(y)) < 2 and not hasattr(model, "score_samples"):
        raise DataValidationError(f"training labels hold a single class ({np.unique(y).tolist()}): cannot refit")
    est = clone(model) if model is not None else default_model(seed)
    return est.fit(X, y)


def load_trainer(spec: str) -> Any:
    """An unfitted estimator from ``--trainer SPEC`` (``pkg.mod:Factory`` or a ``.joblib`` file).

    A class or zero-argument factory is called; an estimator (fitted or not) is cloned.
    """
    from sklearn.base import clone

    if spec.lower().endswith((".joblib", ".pkl", ".pickle")):
        import joblib

        if not Path(spec).is_file():
            raise ConfigError(f"trainer file not found: {spec}")
        obj = joblib.load(spec)
    elif ":" in spec:
        module_name, _, attr = spec.partition(":")
        try:
            obj = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"cannot import trainer {spec!r}: {exc}") from exc
        if isinstance(obj, type) or (callable(obj) and not hasattr(obj, "fit")):
            obj = obj()
    else:
        raise ConfigError(f"--trainer must be module:Factory or a .joblib file, got {spec!r}")
    if not hasattr(obj, "fit"):
        raise ConfigError(f"trainer {spec!r} has no fit()")
    try:
        return clone(obj)
    except TypeError as exc:
        raise ConfigError(f"trainer {spec!r} cannot be cloned: {exc}") from exc
