"""Adapter for any user recommender object offering ``recommend(users, k)``."""

from __future__ import annotations

from typing import Any

import numpy as np

from mlsiege.errors import CapabilityError, TargetResponseError

__all__ = ["RecommenderTarget", "from_recommender"]


class RecommenderTarget:
    """Wrap a foreign recommender so its answers are checked ``(len(users), k)`` integer ids.

    ``fit(interactions, follows=None)`` is passed through when the wrapped object has it, so the
    simulator can retrain it each round.
    """

    def __init__(self, model: Any, name: str | None = None) -> None:
        if not callable(getattr(model, "recommend", None)):
            raise CapabilityError(f"{type(model).__name__} has no recommend(users, k) method")
        self.model = model
        self.name = name or getattr(model, "name", type(model).__name__)

    def fit(self, interactions: Any, follows: Any = None) -> RecommenderTarget:
        fit = getattr(self.model, "fit", None)
        if fit is None:
            raise CapabilityError(f"{type(self.model).__name__} cannot be retrained (no fit method)")
        try:
            fit(interactions, follows)
        except TypeError:
            fit(interactions)
        return self

    def recommend(self, users: np.ndarray, k: int) -> np.ndarray:
        users = np.atleast_1d(np.asarray(users))
        out = np.asarray(self.model.recommend(users, k))
        if out.ndim != 2 or out.shape[0] != len(users):
            raise TargetResponseError(
                f"recommend() answered shape {out.shape} for {len(users)} users; expected ({len(users)}, {k})"
            )
        if not np.issubdtype(out.dtype, np.integer):
            raise TargetResponseError(f"recommend() answered {out.dtype} ids; expected integers")
        return out


def from_recommender(model: Any, name: str | None = None) -> RecommenderTarget:
    """A checked target around any object with ``recommend(users, k)``."""
    return model if isinstance(model, RecommenderTarget) else RecommenderTarget(model, name)
