"""The hook a feed scenario calls to measure defenses: screen the log, retrain, re-measure exposure.

:func:`defended_exposure` takes what a feed simulation holds after its attacked run (the engaged
matrix with times, the follow graph, the recommender factory) and, optionally, the clean run of
the same seed as the campaign-free reference the thresholds are set on. For each defense it
reports the accounts flagged (real vs sybil, ids ``>= n_real`` being sybils) and the target
exposure among the audience with and without the defense (the recommender retrained without
the flagged accounts).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp

from mlsiege.defenses.reco.flagging import screen_accounts
from mlsiege.defenses.reco.ranking import without_accounts
from mlsiege.metrics.reco import hit_ratio_at_k

__all__ = ["defended_exposure"]


def _exposure(model: Any, engaged: sp.csr_matrix, follows: Any, targets: np.ndarray, audience: np.ndarray, k: int) -> float:
    model.fit(engaged, follows)
    users = np.flatnonzero(audience)
    if users.size == 0 or targets.size == 0:
        return 0.0
    return hit_ratio_at_k(np.asarray(model.recommend(users, k)), targets, engaged, users, k=k)


def defended_exposure(
    detectors: Mapping[str, Callable[..., Any]],
    engaged: sp.spmatrix,
    timestamps: sp.spmatrix,
    *,
    follows: sp.spmatrix | None,
    n_real: int,
    make_recommender: Callable[[], Any],
    targets: np.ndarray,
    audience: np.ndarray,
    k: int = 20,
    reference: Mapping[str, Any] | None = None,
    fpr_budget: float = 0.005,
    seed: int = 0,
) -> dict[str, Any]:
    """Exposure of ``targets`` to the real ``audience`` (bool over real users) with and without
    each defense; ``reference`` (``interactions``, ``timestamps``, ``follows`` of a clean run)
    sets the thresholds at ``fpr_budget``, else the budget applies to the log itself."""
    engaged = sp.csr_matrix(engaged)
    targets = np.asarray(targets)
    audience = np.asarray(audience, dtype=bool)
    n_acc = engaged.shape[0]
    is_sybil = np.arange(n_acc) >= n_real
    aud = np.zeros(n_acc, dtype=bool)
    aud[: audience.size] = audience
    base = _exposure(make_recommender(), engaged, follows, targets, aud, k)
    results = screen_accounts(detectors, engaged, timestamps=timestamps, follows=follows, reference=reference, fpr_budget=fpr_budget, seed=seed)
    out: dict[str, Any] = {"exposure_undefended": base, "fpr_budget": fpr_budget, "defenses": {}}
    for name, res in results.items():
        flagged = res.flagged
        exp = _exposure(make_recommender(), without_accounts(engaged, ~flagged), follows, targets, aud, k)
        out["defenses"][name] = {
            "recipe": res.defense,
            "flagged_sybil": int((flagged & is_sybil).sum()),
            "flagged_real": int((flagged & ~is_sybil).sum()),
            "sybils": int(is_sybil.sum()),
            "exposure_defended": exp,
            "exposure_reduction": (base - exp) / base if base > 0 else 0.0,
            "flagged_accounts": np.flatnonzero(flagged).tolist(),
        }
    return out
