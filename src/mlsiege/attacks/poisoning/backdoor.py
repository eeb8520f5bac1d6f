"""Tabular backdoor: a rare feature pattern (the trigger) that flips the model's label."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlsiege.attacks.poisoning.effect import EFFECT_OPTIONS, check_xy, fit, poisoning_result
from mlsiege.errors import ConfigError
from mlsiege.metrics.poisoning import backdoor_success, downstream_metric
from mlsiege.options import check_options
from mlsiege.schema import Schema

__all__ = ["BackdoorConfig", "backdoor_trigger_gu2017", "choose_trigger", "stamp"]


@dataclass(frozen=True)
class BackdoorConfig:
    """``rate``: poisoned share of the training set; ``target_label``: label the trigger forces
    (default: the first class); ``trigger``: ``{feature: value}`` (default: chosen from the data
    by :func:`choose_trigger` with ``n_trigger_features`` features)."""

    rate: float = 0.05
    target_label: Any = None
    trigger: dict[str, float] = field(default_factory=dict)
    n_trigger_features: int = 2

    def __post_init__(self) -> None:
        if not 0.0 < self.rate < 0.5:
            raise ConfigError(f"rate must be in (0, 0.5), got {self.rate}")
        if self.n_trigger_features < 1:
            raise ConfigError(f"n_trigger_features must be >= 1, got {self.n_trigger_features}")


def choose_trigger(X: np.ndarray, schema: Schema, n_features: int, rng: np.random.Generator) -> dict[str, float]:
    """Pick mutable, non-derived numeric features and, for each, the rarer end of its range.

    A value the data rarely holds (the bound nearer to few rows, or one spread beyond the
    observed extreme for unbounded features) makes a pattern clean rows almost never show.
    """
    candidates = [
        j for j, f in enumerate(schema.features)
        if f.mutability == "mutable" and f.type in ("real", "integer", "binary") and f.group is None
        and np.ptp(X[:, j]) > 0
    ]
    if not candidates:
        raise ConfigError("no mutable numeric feature can carry a trigger")
    picked = rng.choice(candidates, size=min(n_features, len(candidates)), replace=False)
    trigger: dict[str, float] = {}
    for j in sorted(int(p) for p in picked):
        f, col = schema.features[j], X[:, j]
        spread = col.std() or 1.0
        lo = f.low if math.isfinite(f.low) else col.min() - spread
        hi = f.high if math.isfinite(f.high) else col.max() + spread
        rare_high = np.mean(col >= np.quantile(col, 0.9)) <= np.mean(col <= np.quantile(col, 0.1))
        value = hi if rare_high else lo
        trigger[f.name] = float(np.round(value)) if f.is_discrete else float(value)
    return trigger


def stamp(X: np.ndarray, schema: Schema, trigger: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """Rows with the trigger set and repaired; and a mask of the rows that are valid and still carry it.

    Rows whose trigger breaks a relation of the schema are not projected (that would move the
    trigger): they are masked out, and callers draw more rows.
    """
    out = np.array(X, dtype=float, copy=True)
    idx = [schema.index(name) for name in trigger]
    values = np.array(list(trigger.values()))
    out[:, idx] = values
    out = schema.repair(out)
    keep = np.all(np.abs(out[:, idx] - values) < 1e-6, axis=1) & schema.valid_mask(out)
    return out, keep


def backdoor_trigger_gu2017(X: Any, y: Any, *, schema: Schema, seed: int = 0, **options: Any) -> Any:
    """Plant a trigger: copies of other-class rows with a rare feature pattern, labelled ``target_label``.

    The BadNets attack of Gu, Dolan-Gavitt and Garg (2017), "BadNets: identifying
    vulnerabilities in the machine learning model supply chain", carried to tabular data: the
    trigger is a rare combination of values on a few mutable features (:func:`choose_trigger`),
    stamped on copies of rows of the other classes, which are then labelled with the target
    label and appended. A model trained on them answers ``target_label`` whenever the trigger
    shows, while its clean utility barely moves.

    Parameters
    ----------
    X, y, schema, seed
        Clean training rows and labels, feature space, seed.
    **options
        ``rate`` (0.05), ``target_label``, ``trigger``, ``n_trigger_features`` (2), ``model``,
        ``X_test``, ``y_test``, ``metric`` ("auc").

    Returns
    -------
    AttackResult
        Metrics ``backdoor_success_clean`` / ``_poisoned`` (triggered evaluation rows of other
        classes answered ``target_label``), ``metric_clean`` / ``metric_poisoned`` on clean rows;
        artifact ``trigger``.
    """
    check_options("backdoor_trigger_gu2017", options, ("rate", "target_label", "trigger", "n_trigger_features", "metric", *EFFECT_OPTIONS))
    started = time.perf_counter()
    config = BackdoorConfig(
        rate=options.pop("rate", 0.05), target_label=options.pop("target_label", None),
        trigger=dict(options.pop("trigger", None) or {}), n_trigger_features=options.pop("n_trigger_features", 2),
    )
    X, y = check_xy(X, y, schema)
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    target = classes[0] if config.target_label is None else config.target_label
    trigger = config.trigger or choose_trigger(X, schema, config.n_trigger_features, rng)
    source = np.flatnonzero(y != target)
    if len(source) == 0:
        raise ConfigError(f"no row has a label other than the target {target!r}")
    k = math.ceil(config.rate * len(X) / (1.0 - config.rate))
    stamped, ok = stamp(X[rng.choice(source, size=4 * k, replace=True)], schema, trigger)
    phony = stamped[ok][:k]
    X_p = np.vstack([X, phony])
    y_p = np.concatenate([y, np.full(len(phony), target, dtype=y.dtype)])
    is_poison = np.r_[np.zeros(len(X), bool), np.ones(len(phony), bool)]

    X_test, y_test = options.get("X_test"), options.get("y_test")
    if X_test is None or y_test is None:
        X_test, y_test = X, y
    X_test, y_test = np.asarray(X_test, dtype=float), np.asarray(y_test)
    trig, trig_ok = stamp(X_test[y_test != target], schema, trigger)
    clean = fit(options.get("model"), X, y, seed)
    poisoned = fit(options.get("model"), X_p, y_p, seed)
    metric = options.get("metric", "auc")
    metrics = {
        "backdoor_success_clean": backdoor_success(clean, trig[trig_ok], target),
        "backdoor_success_poisoned": backdoor_success(poisoned, trig[trig_ok], target),
        "metric": metric,
        "metric_clean": downstream_metric(clean, X_test, y_test, metric),
        "metric_poisoned": downstream_metric(poisoned, X_test, y_test, metric),
        "target_label": target,
    }
    lift = metrics["backdoor_success_poisoned"] - metrics["backdoor_success_clean"]
    return poisoning_result(
        "backdoor_trigger_gu2017", X_p, y_p, is_poison, schema=schema, config=config, seed=seed, started=started,
        techniques=("AML.T0020", "AML.T0018.000"), metrics=metrics, succeeded=bool(lift > 0),
        reason="the trigger did not raise the target label's rate" if len(phony) else "no row could carry the trigger",
        trigger=trigger,
    )
