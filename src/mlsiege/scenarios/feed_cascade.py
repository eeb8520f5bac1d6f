"""How target exposure spreads through a feed, round by round (the network effect made visible).

A :class:`CascadeRecorder` watches each round of :func:`mlsiege.sim.feed.run_rounds` and splits
the targets' impressions in real users' timelines by the path that most plausibly carried them:

* ``via_sybil``: the user follows a sybil that engaged with the target (first hop);
* ``via_real``: the user follows a *real* account that engaged with the target (the cascade:
  sybil engagement -> recommendation -> real engagement -> further recommendation);
* ``collaborative``: no followed account engaged with it; the recommender matched the user to
  the target's engagers by co-engagement.

Each impression is also split between *sybil-driven* and *organic* in proportion to who the
walk reaches: among the followed engagers when there are any, else among all the target's
engagers so far. This is an attribution rule, not a counterfactual (the exact counterfactual
needs one extra simulation per round); it matches how random-walk feed recommenders spread
score over engagers (Christoffel et al. 2015). The recorder also keeps the cascade tree: each
real user who engaged with a target, in which round, and the followed accounts that had engaged
with it before (the edges a person can follow on the picture).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from mlsiege.metrics.reco import target_exposure

__all__ = ["CascadeRecorder"]


@dataclass
class CascadeRecorder:
    """Per-round spread of ``targets`` among real users (ids ``< n_real``); sybils are the rest.

    Pass :meth:`on_round` and :meth:`on_engage` to ``run_rounds``; read :attr:`rounds` and
    :meth:`tree` afterwards. ``audience`` (bool over real users) is where exposure is measured;
    ``held`` (a ``real users x items`` matrix) the held-out next engagement utility is scored on.
    """

    n_real: int
    targets: np.ndarray
    audience: np.ndarray
    held: sp.csr_matrix | None = None
    max_edges: int = 4000
    rounds: list[dict[str, Any]] = field(default_factory=list)
    engagers: list[tuple[int, int, int]] = field(default_factory=list)
    edges: list[tuple[int, int, int]] = field(default_factory=list)
    _state: tuple[sp.csr_matrix, sp.csr_matrix] | None = None
    _reached: np.ndarray | None = None

    def on_round(self, r: int, timelines: np.ndarray, engaged: sp.csr_matrix, follows: sp.csr_matrix) -> None:
        self._state = (engaged, follows)

    def on_engage(self, r: int, timelines: np.ndarray, hits: np.ndarray, probability: np.ndarray) -> None:
        engaged, follows = self._state
        n, t = self.n_real, self.targets
        on_target = np.isin(timelines, t)
        col = np.searchsorted(t, np.where(on_target, timelines, t[0]))
        before = engaged[:n][:, t].toarray() > 0
        by_target = sp.csr_matrix(engaged[:, t], dtype=np.float32)
        sybil_followed = (follows[:n, n:] @ by_target[n:]).toarray()
        real_followed = (follows[:n, :n] @ by_target[:n]).toarray()
        n_sybil = np.asarray(by_target[n:].sum(axis=0)).ravel()
        n_real_eng = np.asarray(by_target[:n].sum(axis=0)).ravel()
        rows, slots = np.nonzero(on_target)
        tcol = col[rows, slots]
        s, q = sybil_followed[rows, tcol], real_followed[rows, tcol]
        social = (s + q) > 0
        all_eng = n_sybil[tcol] + n_real_eng[tcol]
        share = np.where(social, s / np.maximum(s + q, 1e-12), n_sybil[tcol] / np.maximum(all_eng, 1e-12))
        share = np.where(social | (all_eng > 0), share, 0.0)
        via_sybil = social & (s > 0) & (q == 0)
        via_real = q > 0
        hit_rows, hit_slots = np.nonzero(hits & on_target)
        new = [(int(u), int(t[col[u, j]]), r + 1) for u, j in zip(hit_rows, hit_slots, strict=True)]
        self.engagers.extend(new)
        for u, item, _ in new:  # the followed accounts that had engaged with the same target before
            if len(self.edges) >= self.max_edges:
                break
            followed = follows[u].indices
            parents = followed[engaged[followed, item].toarray().ravel() > 0]
            self.edges.extend((u, int(p), r + 1) for p in parents[:5])
        if self._reached is None:
            self._reached = np.zeros(n, dtype=bool)
        self._reached |= on_target.any(axis=1)
        aud = np.asarray(self.audience, dtype=bool)
        eligible = aud[:, None] & ~before
        not_target = ~on_target
        record = {
            "round": r + 1,
            "exposure": float(target_exposure(timelines, t, eligible=eligible).mean()),
            "exposure_all_users": float(target_exposure(timelines, t, eligible=~before).mean()),
            "reach": float(self._reached[aud].mean()) if aud.any() else 0.0,
            "impressions": int(on_target.sum()),
            "impressions_via_sybil": int(via_sybil.sum()),
            "impressions_via_real": int(via_real.sum()),
            "impressions_collaborative": int((~social).sum()),
            "impressions_sybil_driven": float(share.sum()),
            "impressions_organic": float((1.0 - share).sum()),
            "sybil_engagements_on_targets": int(n_sybil.sum()),
            "sybil_engagements": int(engaged[n:].nnz),
            "real_target_engagements_new": len(new),
            "real_target_engagements_total": int(before.sum()) + len(new),
            "expected_engagements": float((probability * not_target).sum()),
        }
        if self.held is not None:
            shown = sp.csr_matrix((np.ones(timelines.size), (np.repeat(np.arange(n), timelines.shape[1]), timelines.ravel())),
                                  shape=self.held.shape)
            shown.data[:] = 1.0
            users_with = np.asarray(self.held.sum(axis=1)).ravel() > 0
            found = np.asarray(shown.multiply(self.held).sum(axis=1)).ravel()
            record["held_out_hit_rate"] = float(found[users_with].mean()) if users_with.any() else 0.0
        self.rounds.append(record)

    def tree(self) -> dict[str, Any]:
        """The cascade: real engagers ``(user, target, round)`` and influence edges ``(user, followed, round)``."""
        return {
            "engagers": [{"user": u, "target": t, "round": r} for u, t, r in self.engagers],
            "edges": [{"user": u, "followed": p, "round": r} for u, p, r in self.edges],
            "edges_truncated": len(self.edges) >= self.max_edges,
        }
