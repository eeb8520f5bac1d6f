"""Evasion metrics: perturbation sizes and per-attack summaries (pure functions).

Distances are reported in raw attack-space units and in standardized units (divided by a
per-feature scale). Medians of perturbation sizes are over successful points only: a failure
has no perturbation (counting it as zero would flatter the attack); ``median_queries`` is over
all attacked points, a failure counting what it spent.
"""

from __future__ import annotations

import numpy as np

__all__ = ["evasion_summary", "perturbation_norms", "success_at_eps"]


def perturbation_norms(adv: np.ndarray, X: np.ndarray, scale: np.ndarray | None = None, atol: float = 1e-9) -> dict[str, np.ndarray]:
    """Per-row L0, L2 and L-inf of ``adv - X`` (raw, and ``*_std`` divided by ``scale``).

    Rows of ``adv`` holding NaN (failed points) give NaN.
    """
    adv = np.atleast_2d(np.asarray(adv, dtype=float))
    X = np.atleast_2d(np.asarray(X, dtype=float))
    scale = np.ones(X.shape[1]) if scale is None else np.asarray(scale, dtype=float)
    diff = adv - X
    failed = np.isnan(diff).any(axis=1)
    diff = np.nan_to_num(diff)
    z = diff / scale
    out = {
        "l0": (np.abs(diff) > atol).sum(axis=1).astype(float),
        "l2": np.linalg.norm(diff, axis=1),
        "linf": np.abs(diff).max(axis=1, initial=0.0),
        "l2_std": np.linalg.norm(z, axis=1),
        "linf_std": np.abs(z).max(axis=1, initial=0.0),
    }
    return {k: np.where(failed, np.nan, v) for k, v in out.items()}


def success_at_eps(success: np.ndarray, l2_std: np.ndarray, eps: float = 1.0) -> float:
    """Share of points that succeeded with a standardized L2 of at most ``eps``."""
    success = np.asarray(success, dtype=bool)
    if success.size == 0:
        return 0.0
    l2 = np.where(success, np.nan_to_num(np.asarray(l2_std, dtype=float), nan=np.inf), np.inf)
    return float(np.mean(l2 <= eps + 1e-12))


def _median(values: np.ndarray) -> float | None:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return float(np.median(values)) if values.size else None


def evasion_summary(success: np.ndarray, queries: np.ndarray, norms: dict[str, np.ndarray], valid: np.ndarray) -> dict[str, float | None]:
    """``success_rate``, ``median_queries``, ``median_l0`` / ``median_l2`` / ``median_linf``
    (standardized, over successes), ``median_l2_raw`` and ``valid_rate`` (over produced rows).
    """
    success = np.asarray(success, dtype=bool)
    valid = np.asarray(valid, dtype=bool)
    produced = ~np.isnan(norms["l2"])
    return {
        "success_rate": float(success.mean()) if success.size else 0.0,
        "median_queries": _median(queries),
        "median_l0": _median(norms["l0"][success]),
        "median_l2": _median(norms["l2_std"][success]),
        "median_linf": _median(norms["linf_std"][success]),
        "median_l2_raw": _median(norms["l2"][success]),
        "valid_rate": float(valid[produced].mean()) if produced.any() else 1.0,
    }
