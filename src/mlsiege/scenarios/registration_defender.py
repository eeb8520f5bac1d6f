"""The defender's model work between events: hardening, retraining on cleaned data, reuse.

* :func:`mimicry_examples` — adversarial examples for training (``model_hardening``): each known
  bot is copied with the form fields of a random benign registrant and keeps its own
  server-observed fields, the evasion a defender expects (Goodfellow et al. 2015 train on
  adversarial examples; here they are constraint-valid mimicry rows, as in Kulynych et al. 2018).
* :func:`fit_detector` — the profile's detector: hardened or not, on reference data plus whatever
  the defender labelled since.
* :func:`attendance_auc` — the downstream team's no-show model (logistic regression on the
  exported attendee list) and its ROC AUC on clean registrants.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlsiege.scenarios.registration_attacker import make_valid
from mlsiege.sim.registration_detector import RegistrationDetector, featurize, train_detector

__all__ = ["attendance_auc", "fit_detector", "mimicry_examples"]


def mimicry_examples(schema: Any, X: np.ndarray, is_bot: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One mimicry row per bot: a benign registrant's form fields on the bot's infrastructure."""
    bots = X[is_bot]
    benign = X[~is_bot]
    if len(bots) == 0 or len(benign) == 0:
        return np.empty((0, X.shape[1]))
    donor = benign[rng.integers(0, len(benign), len(bots))]
    out = bots.copy()
    mutable = schema.mutable_mask
    out[:, mutable] = donor[:, mutable]
    out[:, schema.index("country")] = bots[:, schema.index("country")]  # bots declare their IP's country
    return make_valid(schema, out)


def fit_detector(world: Any, X: np.ndarray, y: np.ndarray, *, kind: str, hardened: bool, seed: int,
                 anomaly: str = "hbos", benign_fpr: float = 0.01) -> RegistrationDetector:
    """The detector on ``X, y``; with ``hardened``, mimicry examples are added as bots."""
    if hardened:
        rng = np.random.default_rng([seed, 31])
        extra = mimicry_examples(world.schema, X, y.astype(bool), rng)
        X = np.vstack([X, extra])
        y = np.concatenate([y, np.ones(len(extra), dtype=int)])
    return train_detector(world, kind=kind, seed=seed, X=X, y=y, anomaly=anomaly, benign_fpr=benign_fpr)


def attendance_auc(schema: Any, X: np.ndarray, y: np.ndarray, test_X: np.ndarray, test_y: np.ndarray,
                   seed: int = 0, max_rows: int = 8_000) -> float:
    """ROC AUC on clean registrants of a no-show model trained on ``X, y`` (``nan`` if one class).

    Trained on at most ``max_rows`` rows drawn at random (seeded) from ``X``, which keeps the
    poison share in expectation and bounds the cost at 10^5 registrations.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import StandardScaler

    if len(X) > max_rows:
        keep = np.random.default_rng([seed, 53]).choice(len(X), max_rows, replace=False)
        X, y = X[keep], y[keep]
    if len(np.unique(y)) < 2:
        return float("nan")
    make = featurize(schema)
    scaler = StandardScaler().fit(make(X))
    model = LogisticRegression(max_iter=40, tol=1e-3, random_state=seed).fit(scaler.transform(make(X)), y)
    return float(roc_auc_score(test_y, model.predict_proba(scaler.transform(make(test_X)))[:, 1]))
