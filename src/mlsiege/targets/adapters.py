"""Adapters: build a target from what a user has (a callable, a fitted estimator, a file).

One adapter per *kind of thing*, never one subclass per framework (the lesson of ART's 60 KB
``scikitlearn.py``): anything with scikit-learn's method names (scikit-learn itself, pipelines,
LightGBM, XGBoost's sklearn API, PyOD detectors) goes through :func:`from_estimator`.

Sign convention: every anomaly scorer here answers **higher = more anomalous**. scikit-learn's
outlier detectors answer ``score_samples`` with higher = more normal, so the adapter negates it;
PyOD's ``decision_function`` is already higher = more anomalous and is passed through.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mlsiege.errors import ConfigError, TargetError
from mlsiege.targets.inputs import ModelInputs, SmallBatchThreads, _lightgbm_categories, final_step

__all__ = [
    "CallableTarget",
    "EstimatorClassifier",
    "EstimatorRegressor",
    "EstimatorScorer",
    "from_callable",
    "from_estimator",
    "load_joblib",
]

_KINDS = ("classifier", "scorer", "regressor")


class CallableTarget:
    """A target answered by plain Python functions.

    Parameters
    ----------
    fn
        ``fn(X) -> labels`` (classifier / regressor) or ``fn(X) -> scores`` (scorer).
    kind
        ``"classifier"``, ``"scorer"`` (higher = more anomalous) or ``"regressor"``.
    proba
        Optional ``proba(X) -> (n, n_classes)`` for a classifier that exposes probabilities.
    classes
        Class labels in the column order of ``proba`` (default ``[0, 1]``).
    """

    def __init__(
        self,
        fn: Callable[[np.ndarray], Any],
        kind: str = "classifier",
        *,
        proba: Callable[[np.ndarray], Any] | None = None,
        classes: Any = None,
        threshold: float | None = None,
    ) -> None:
        if kind not in _KINDS:
            raise ConfigError(f"kind must be one of {_KINDS}, got {kind!r}")
        self.fn = fn
        self.kind = kind
        self._proba = proba
        self.classes_ = np.asarray(classes if classes is not None else [0, 1])
        if threshold is not None:
            self.threshold = float(threshold)

    def __getattr__(self, name: str) -> Any:
        # expose exactly the capabilities this kind has, so hasattr() tells the truth
        if name.startswith("_"):
            raise AttributeError(name)
        if name == "predict" and self.kind in ("classifier", "regressor"):
            return lambda X: np.asarray(self.fn(X))
        if name == "predict_proba" and self.kind == "classifier" and self._proba is not None:
            return lambda X: np.asarray(self._proba(X), dtype=float)
        if name == "score" and self.kind == "scorer":
            return lambda X: np.asarray(self.fn(X), dtype=float)
        raise AttributeError(name)


def from_callable(fn: Callable[[np.ndarray], Any], kind: str = "classifier", **kwargs: Any) -> CallableTarget:
    """Target from a function: the purest black box.

    Examples
    --------
    >>> import numpy as np
    >>> t = from_callable(lambda X: X.sum(axis=1), kind="scorer")
    >>> t.score(np.ones((2, 3))).tolist()
    [3.0, 3.0]
    """
    return CallableTarget(fn, kind, **kwargs)


class EstimatorClassifier:
    """A fitted classifier with scikit-learn's method names."""

    def __init__(self, estimator: Any, inputs: ModelInputs) -> None:
        self.estimator = estimator
        self._inputs = inputs
        self._threads = SmallBatchThreads(estimator)
        self.classes_ = np.asarray(getattr(estimator, "classes_", [0, 1]))

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self._threads.call(self.estimator.predict, self._inputs(X)))

    def __getattr__(self, name: str) -> Any:
        if name == "predict_proba" and hasattr(self.estimator, "predict_proba"):
            return lambda X: np.asarray(self._threads.call(self.estimator.predict_proba, self._inputs(X)), dtype=float)
        raise AttributeError(name)


class EstimatorRegressor:
    """A fitted regressor with scikit-learn's method names."""

    def __init__(self, estimator: Any, inputs: ModelInputs) -> None:
        self.estimator = estimator
        self._inputs = inputs
        self._threads = SmallBatchThreads(estimator)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self._threads.call(self.estimator.predict, self._inputs(X)), dtype=float)


class EstimatorScorer:
    """A fitted outlier detector; ``score`` is higher = more anomalous whatever the library.

    ``threshold`` is the score above which the detector itself calls a row an outlier
    (scikit-learn: ``-offset_``; PyOD: ``threshold_``), so ``ThresholdOracle(t, t.threshold)``
    reproduces the deployed accept/reject decision.
    """

    def __init__(self, estimator: Any, inputs: ModelInputs) -> None:
        self.estimator = estimator
        self._inputs = inputs
        self._threads = SmallBatchThreads(estimator)
        if _is_pyod(estimator):
            self._sign = 1.0
            self._method = "decision_function"
            self.threshold = float(getattr(estimator, "threshold_", np.nan))
        elif hasattr(estimator, "score_samples"):
            self._sign = -1.0
            self._method = "score_samples"
            offset = getattr(estimator, "offset_", None)
            self.threshold = float(-offset) if offset is not None else float("nan")
        else:
            raise ConfigError(f"{type(estimator).__name__} has neither PyOD's decision_function nor score_samples")

    def score(self, X: np.ndarray) -> np.ndarray:
        raw = self._threads.call(getattr(self.estimator, self._method), self._inputs(X))
        return self._sign * np.asarray(raw, dtype=float)


def _is_pyod(estimator: Any) -> bool:
    return type(estimator).__module__.startswith("pyod.") or hasattr(estimator, "decision_scores_")


def _sklearn_says(check: Any, estimator: Any) -> bool:
    # scikit-learn >= 1.6 raises AttributeError for objects with fit() but no __sklearn_tags__
    try:
        return bool(check(estimator))
    except AttributeError:
        return False


def _kind_of(estimator: Any) -> str:
    from sklearn.base import is_classifier, is_outlier_detector, is_regressor

    if _is_pyod(estimator) or _sklearn_says(is_outlier_detector, estimator):
        return "scorer"
    if _sklearn_says(is_classifier, estimator) or hasattr(estimator, "predict_proba"):
        return "classifier"
    if _sklearn_says(is_regressor, estimator):
        return "regressor"
    if hasattr(estimator, "score_samples") and not hasattr(estimator, "predict_proba"):
        return "scorer"
    return "classifier"


def from_estimator(estimator: Any, *, schema: Any = None, kind: str | None = None, decode: bool | None = None) -> Any:
    """Target from a fitted scikit-learn-style object (pipelines, LightGBM, PyOD included).

    Parameters
    ----------
    estimator
        A fitted object with ``predict`` (classifier/regressor) or ``score_samples`` /
        PyOD ``decision_function`` (outlier detector).
    schema
        The feature space of the attack-space rows. A model fitted on a DataFrame (it has
        ``feature_names_in_``: pipelines with a ``ColumnTransformer``, LightGBM on ``category``
        columns) then receives a DataFrame with its own column names and order, categorical
        levels decoded and the dtypes it was fitted on (:mod:`mlsiege.targets.inputs`).
    kind
        Force ``"classifier"``, ``"scorer"`` or ``"regressor"``; guessed when omitted.
    decode
        ``None``: decode when the model was fitted on a DataFrame; ``True``: always (a model that
        wants named columns without saying so); ``False``: send level codes.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([0, 0, 1, 1])
    >>> t = from_estimator(LogisticRegression().fit(X, y))
    >>> t.predict(np.array([[3.0]])).tolist()
    [1]
    """
    kind = kind or _kind_of(estimator)
    if kind not in _KINDS:
        raise ConfigError(f"kind must be one of {_KINDS}, got {kind!r}")
    names = getattr(estimator, "feature_names_in_", None)
    # a LightGBM model fitted directly on a frame with category columns wants them back as such
    categories = _lightgbm_categories(estimator) if final_step(estimator) is estimator else {}
    inputs = ModelInputs(schema, list(names) if names is not None else None, decode=decode, categories=categories)
    if kind == "scorer":
        return EstimatorScorer(estimator, inputs)
    if kind == "regressor":
        return EstimatorRegressor(estimator, inputs)
    return EstimatorClassifier(estimator, inputs)


def load_joblib(
    path: str | Path, *, schema: Any = None, kind: str | None = None, warn: bool = True, decode: bool | None = None
) -> Any:
    """Load a joblib/pickle file and adapt it with :func:`from_estimator`.

    Unpickling runs arbitrary code from the file: load only files you trust, and prefer ONNX
    (:func:`mlsiege.targets.onnx.load_onnx`) for models that come from elsewhere.
    """
    import joblib

    path = Path(path)
    if not path.exists():
        raise ConfigError(f"model file not found: {path}")
    if warn:
        warnings.warn(
            f"loading {path.name} unpickles it, which runs code from the file; load only trusted files "
            "(ONNX is the safe alternative)",
            UserWarning,
            stacklevel=2,
        )
    try:
        estimator = joblib.load(path)
    except Exception as exc:
        raise TargetError(f"could not load {path}: {type(exc).__name__}: {exc}") from exc
    return from_estimator(estimator, schema=schema, kind=kind, decode=decode)
