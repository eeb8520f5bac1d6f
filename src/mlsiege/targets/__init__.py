"""The model under test: protocols, adapters, query accounting and output hardening.

Attacks only ever see a :class:`Budgeted` target. See :mod:`mlsiege.targets.protocols` for the
sign convention of anomaly scores (higher = more anomalous).
"""

from mlsiege.targets.adapters import (
    CallableTarget,
    EstimatorClassifier,
    EstimatorRegressor,
    EstimatorScorer,
    from_callable,
    from_estimator,
    load_joblib,
)
from mlsiege.targets.budget import Budgeted, QueryLog, QueryRecord, ensure_budgeted
from mlsiege.targets.hardening import LabelOnly, Rounded, ThresholdOracle, TopK
from mlsiege.targets.protocols import (
    AnomalyScorer,
    Classifier,
    ProbabilisticClassifier,
    Recommender,
    Regressor,
)
from mlsiege.targets.spec import load_target

__all__ = [
    "AnomalyScorer",
    "Budgeted",
    "CallableTarget",
    "Classifier",
    "EstimatorClassifier",
    "EstimatorRegressor",
    "EstimatorScorer",
    "LabelOnly",
    "ProbabilisticClassifier",
    "QueryLog",
    "QueryRecord",
    "Recommender",
    "Regressor",
    "Rounded",
    "ThresholdOracle",
    "TopK",
    "ensure_budgeted",
    "from_callable",
    "from_estimator",
    "load_joblib",
    "load_target",
]
