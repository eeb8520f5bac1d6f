"""Boiling-frog poisoning of an anomaly detector that is refit periodically on recent traffic."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.mixture import GaussianMixture
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlsiege.attacks.poisoning.effect import check_xy, poisoning_result
from mlsiege.errors import ConfigError, DataValidationError
from mlsiege.options import check_options
from mlsiege.schema import Schema

__all__ = ["BoilingFrogConfig", "boiling_frog_rubinstein2009"]


@dataclass(frozen=True)
class BoilingFrogConfig:
    """``rounds`` of refits; each round ``per_round`` x window rows of attack traffic are sent and
    ``fresh`` x window benign rows arrive; the detector rejects scores above the ``quantile``
    of its own training window; ``window`` rows are kept (default: all benign rows)."""

    rounds: int = 10
    per_round: float = 0.05
    fresh: float = 0.2
    quantile: float = 0.99
    window: int | None = None

    def __post_init__(self) -> None:
        if self.rounds < 1:
            raise ConfigError(f"rounds must be >= 1, got {self.rounds}")
        if not 0.0 < self.per_round <= 0.5 or not 0.0 <= self.fresh <= 1.0:
            raise ConfigError(f"per_round must be in (0, 0.5] and fresh in [0, 1], got {self.per_round}, {self.fresh}")
        if not 0.5 < self.quantile < 1.0:
            raise ConfigError(f"quantile must be in (0.5, 1), got {self.quantile}")
        if self.window is not None and self.window < 10:
            raise ConfigError(f"window must be >= 10 rows, got {self.window}")


class _Refit:
    """The victim: a detector refit on a window; rejects scores above a quantile of that window."""

    def __init__(self, detector: Any, quantile: float) -> None:
        self.detector, self.quantile = detector, quantile

    def fit(self, W: np.ndarray) -> _Refit:
        self.model = clone(self.detector).fit(W)
        self.threshold = float(np.quantile(self.score(W), self.quantile))
        return self

    def score(self, X: np.ndarray) -> np.ndarray:
        return -np.asarray(self.model.score_samples(X), dtype=float)

    def rejects(self, X: np.ndarray) -> np.ndarray:
        return self.score(X) > self.threshold


def boiling_frog_rubinstein2009(X: Any, y: Any, *, schema: Schema, seed: int = 0, **options: Any) -> Any:
    """Drag a periodically refit detector's notion of "normal" toward a target, a little per round.

    The boiling-frog strategy of Rubinstein et al. (2009), "ANTIDOTE: understanding and
    defending against poisoning of anomaly detectors", IMC, and Kloft and Laskov (2010),
    "Online anomaly detection under adversarial impact", AISTATS. Each round the attacker sends
    rows a fraction ``r / rounds`` of the way from benign rows toward ``target``; the detector
    admits the rows it does not reject into its next training window, so the threshold creeps
    outward until the target itself is accepted.

    This recipe keeps the poisoning calling convention; its own extras: ``X`` is the traffic
    history (``y == 0`` benign, anything else known anomalies), ``target`` the row the attacker
    wants accepted (default: the known anomaly the first detector finds most anomalous),
    ``detector`` an unfitted estimator with ``score_samples`` (default: a Gaussian density on
    standardized rows, in the spirit of the PCA detector Rubinstein et al. attacked; pass an
    ``IsolationForest`` or a PyOD-like model to attack another).

    Parameters
    ----------
    X, y, schema, seed
        Traffic history, labels (0 = benign), feature space, seed.
    **options
        ``target``, ``detector``, ``rounds`` (10), ``per_round`` (0.05), ``fresh`` (0.2),
        ``quantile`` (0.99), ``window``.

    Returns
    -------
    AttackResult
        ``X_poisoned`` = the last training window, ``is_poison`` its attack rows; metrics
        ``target_accepted_before`` / ``_after``, ``round_accepted`` (first round the target got
        through, -1 if never), ``anomaly_recall_before`` / ``_after`` (known anomalies still
        rejected); artifact ``rounds`` (one dict per refit).
    """
    check_options("boiling_frog_rubinstein2009", options, ("rounds", "per_round", "fresh", "quantile", "window", "detector", "target"))
    started = time.perf_counter()
    config = BoilingFrogConfig(**{k: options.pop(k) for k in ("rounds", "per_round", "fresh", "quantile", "window") if k in options})
    X, y = check_xy(X, y, schema)
    rng = np.random.default_rng(seed)
    benign_mask = y == 0 if np.any(y == 0) else np.ones(len(y), bool)
    benign, anomalies = X[benign_mask], X[~benign_mask]
    if len(benign) < 10:
        raise DataValidationError(f"need >= 10 benign rows (y == 0) to play the victim's traffic, got {len(benign)}")
    detector = options.get("detector") or make_pipeline(
        StandardScaler(), GaussianMixture(n_components=1, reg_covar=1e-3, random_state=seed)
    )
    size = config.window or len(benign)
    window = benign[rng.integers(0, len(benign), size)]
    flags = np.zeros(size, bool)
    victim = _Refit(detector, config.quantile).fit(window)

    target = options.get("target")
    if target is None:
        pool = anomalies if len(anomalies) else benign
        target = pool[int(np.argmax(victim.score(pool)))]
    target = np.asarray(target, dtype=float).reshape(1, -1)
    if target.shape[1] != schema.n_features or not schema.valid_mask(target).all():
        raise DataValidationError("the boiling-frog target must be one schema-valid row")
    accepted_before = not bool(victim.rejects(target)[0])
    recall_before = float(victim.rejects(anomalies).mean()) if len(anomalies) else float("nan")

    n_attack, n_fresh = max(1, math.ceil(config.per_round * size)), math.ceil(config.fresh * size)
    log, first = [], -1 if not accepted_before else 0
    for r in range(1, config.rounds + 1):
        base = benign[rng.integers(0, len(benign), n_attack)]
        probe = schema.project(base + (r / config.rounds) * (target - base))
        probe = probe[schema.valid_mask(probe)]
        admitted = probe[~victim.rejects(probe)] if len(probe) else probe
        fresh = benign[rng.integers(0, len(benign), n_fresh)]
        incoming = np.vstack([fresh, admitted])
        tags = np.r_[np.zeros(len(fresh), bool), np.ones(len(admitted), bool)]
        window = np.vstack([window, incoming])[-size:]
        flags = np.r_[flags, tags][-size:]
        victim.fit(window)
        ok = not bool(victim.rejects(target)[0])
        if ok and first < 0:
            first = r
        log.append({"round": r, "sent": len(probe), "admitted": len(admitted), "threshold": victim.threshold,
                    "target_score": float(victim.score(target)[0]), "target_accepted": ok})

    accepted_after = log[-1]["target_accepted"]
    metrics = {
        "target_accepted_before": accepted_before, "target_accepted_after": accepted_after, "round_accepted": first,
        "anomaly_recall_before": recall_before,
        "anomaly_recall_after": float(victim.rejects(anomalies).mean()) if len(anomalies) else float("nan"),
        "admitted_rate": float(sum(e["admitted"] for e in log) / max(1, sum(e["sent"] for e in log))),
    }
    y_p = np.zeros(len(window), dtype=y.dtype)
    return poisoning_result(
        "boiling_frog_rubinstein2009", window, y_p, flags, schema=schema, config=config, seed=seed, started=started,
        techniques=("AML.T0020", "AML.T0018"), metrics=metrics, succeeded=bool(accepted_after and not accepted_before),
        reason="the target was already accepted" if accepted_before else "the target was still rejected after the last round",
        rounds=log, target=target[0],
    )
