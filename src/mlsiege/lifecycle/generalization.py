"""Does a detector generalize to abuse it has never seen? A leave-one-class-out test.

A detector trained on the known classes of abuse is "descriptive analytics overextended to
prescriptive use": it may catch only what it was shown. For each known class (a column naming
the class of every positive row, or a k-means clustering of the positive rows when there is
none), the detector is retrained without that class and scored on held-out rows: the detection
rate of the class it never saw is reported next to the rate on the classes it knows and next to
the rate it reaches when the class *is* in training. This is the leave-one-attack-out protocol
of intrusion-detection evaluation (e.g. the "unknown attacks" splits of NSL-KDD, Tavallaee et al.
2009).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.base import clone, is_outlier_detector
from sklearn.cluster import KMeans
from sklearn.model_selection import train_test_split

from mlsiege.errors import ConfigError, DataValidationError

__all__ = ["GeneralizationConfig", "novel_class_test"]


@dataclass(frozen=True)
class GeneralizationConfig:
    """``test_size``: share of rows held out for scoring; ``n_clusters`` when no class column;
    ``min_class_rows``: a class with fewer positive rows is too rare to hold out alone (merged
    with the other rare ones into one ``rare: ...`` class when together they reach it, else
    skipped; both listed in the result)."""

    test_size: float = 0.4
    n_clusters: int = 3
    seed: int = 0
    min_class_rows: int = 10

    def __post_init__(self) -> None:
        if not 0.05 <= self.test_size <= 0.9:
            raise ConfigError(f"test_size must be in [0.05, 0.9], got {self.test_size}")
        if self.n_clusters < 2:
            raise ConfigError(f"n_clusters must be >= 2, got {self.n_clusters}")
        if self.min_class_rows < 2:
            raise ConfigError(f"min_class_rows must be >= 2, got {self.min_class_rows}")


def _flags(model: Any, X: np.ndarray) -> np.ndarray:
    pred = np.asarray(model.predict(X))
    if is_outlier_detector(model):  # scikit-learn: -1 = outlier
        return pred == -1
    return pred.astype(int) == 1


def _fit(trainer: Any, X: np.ndarray, y: np.ndarray) -> Any:
    model = clone(trainer)
    if is_outlier_detector(model):
        return model.fit(X[y == 0])  # a one-class detector learns normal traffic only
    return model.fit(X, y)


def novel_class_test(
    X: np.ndarray,
    y: np.ndarray,
    trainer: Any,
    classes: np.ndarray | None = None,
    config: GeneralizationConfig | None = None,
) -> dict[str, Any]:
    """Leave each known abuse class out of training and measure how much of it is still caught.

    Parameters
    ----------
    X, y
        Features (numeric) and labels (1 = abuse).
    trainer
        An unfitted estimator (classifier, or a scikit-learn outlier detector fitted on y == 0).
    classes
        The class of each row (only positives matter); ``None`` clusters the positives.

    Returns
    -------
    dict with ``classes`` (one row per class: ``detection_rate_held_out``,
    ``detection_rate_when_known``, ``detection_rate_known``, ``benign_fpr``), ``mean_gap``,
    ``merged_rare_classes`` / ``skipped_rare_classes`` (too rare to hold out alone) and the config.
    Fewer than two usable classes is a :class:`DataValidationError` naming the class counts.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(0, 1, (300, 2)), rng.normal([5, 0], 0.3, (60, 2)), rng.normal([0, 5], 0.3, (60, 2))])
    >>> y = np.r_[np.zeros(300), np.ones(120)].astype(int)
    >>> cls = np.r_[["benign"] * 300, ["a"] * 60, ["b"] * 60]
    >>> out = novel_class_test(X, y, DecisionTreeClassifier(random_state=0), cls)
    >>> [round(r["detection_rate_held_out"], 1) for r in out["classes"]]
    [0.0, 0.0]
    """
    config = config or GeneralizationConfig()
    X = np.asarray(X, dtype=float)
    y = np.asarray(y).astype(int)
    if len(X) != len(y):
        raise DataValidationError(f"X has {len(X)} rows but y has {len(y)}")
    pos = np.flatnonzero(y == 1)
    if len(pos) < 10 or (y == 0).sum() < 10:
        raise DataValidationError("the generalization test needs at least 10 abuse and 10 benign rows")
    labels = np.full(len(y), "benign", dtype=object)
    if classes is None:
        km = KMeans(n_clusters=config.n_clusters, n_init=10, random_state=config.seed).fit(X[pos])
        labels[pos] = [f"cluster-{k}" for k in km.labels_]
        source = "k-means clusters of the positive rows"
    else:
        labels[pos] = np.asarray(classes, dtype=object)[pos]
        source = "class column"
    labels[pos] = [str(c) for c in labels[pos]]
    counts = {c: int(np.sum(labels[pos] == c)) for c in sorted(set(labels[pos]))}
    rare = sorted(c for c, k in counts.items() if k < config.min_class_rows)
    merged: list[str] = []
    skipped: list[str] = []
    if rare:
        if sum(counts[c] for c in rare) >= config.min_class_rows:
            merged = rare
            name = "rare: " + ", ".join(rare[:5]) + (", ..." if len(rare) > 5 else "")
            labels[np.isin(labels, rare)] = name
        else:
            skipped = rare
            keep_rows = ~np.isin(labels, rare)
            X, y, labels = X[keep_rows], y[keep_rows], labels[keep_rows]
    names = sorted({str(c) for c in labels[y == 1]})
    if len(names) < 2:
        detail = "; ".join(f"{c}: {k} rows" for c, k in counts.items())
        raise DataValidationError(
            f"the generalization test needs at least two abuse classes of >= {config.min_class_rows} rows each "
            f"(rare ones merged), found {detail or 'none'}")
    idx_tr, idx_te = train_test_split(np.arange(len(y)), test_size=config.test_size,
                                      stratify=labels.astype(str), random_state=config.seed)
    full = _fit(trainer, X[idx_tr], y[idx_tr])
    full_flags = _flags(full, X[idx_te])
    rows = []
    for name in names:
        keep = idx_tr[labels[idx_tr] != name]
        model = _fit(trainer, X[keep], y[keep])
        flags = _flags(model, X[idx_te])
        held = labels[idx_te] == name
        known = (y[idx_te] == 1) & ~held
        benign = y[idx_te] == 0
        rows.append({
            "class": name,
            "n_test": int(held.sum()),
            "detection_rate_held_out": float(flags[held].mean()),
            "detection_rate_when_known": float(full_flags[held].mean()),
            "detection_rate_known": float(flags[known].mean()) if known.any() else float("nan"),
            "benign_fpr": float(flags[benign].mean()),
        })
    gaps = [r["detection_rate_known"] - r["detection_rate_held_out"] for r in rows]
    return {"classes": rows, "mean_gap": float(np.nanmean(gaps)), "class_source": source,
            "merged_rare_classes": merged, "skipped_rare_classes": skipped,
            "config": asdict(config), "figure_data": True}
