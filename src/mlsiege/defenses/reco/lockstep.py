"""Lockstep detection in the manner of CopyCatch (Beutel et al. 2013)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from mlsiege.defenses.reco.engagement import as_engagements
from mlsiege.defenses.reco.flagging import account_result
from mlsiege.defenses.reco.synchrony import DAY, slot_table
from mlsiege.errors import ConfigError
from mlsiege.results import DefenseResult

__all__ = ["LockstepConfig", "lockstep_beutel2013"]


@dataclass(frozen=True)
class LockstepConfig:
    """A lockstep group: >= ``min_accounts`` accounts in the same ``window`` on >= ``min_items`` items.

    A slot counts only when its crowd is surprising for the item (``min_surprise``, in
    ``-log10`` of the Poisson tail probability, see :mod:`~mlsiege.defenses.reco.synchrony`).
    """

    window: float = DAY
    min_accounts: int = 5
    min_items: int = 1
    min_surprise: float = 6.0
    cap: float = 20.0

    def __post_init__(self) -> None:
        if self.window <= 0 or self.min_accounts < 2 or self.min_items < 1 or self.min_surprise < 0 or self.cap <= 0:
            raise ConfigError(f"lockstep needs window > 0, min_accounts >= 2, min_items >= 1, min_surprise >= 0, cap > 0; got {self}")


def lockstep_beutel2013(interactions, *, timestamps=None, follows=None, seed: int = 0, threshold: float | None = None, **options) -> DefenseResult:
    """Flag groups of accounts engaging the same items in the same time windows (CopyCatch).

    A. Beutel, W. Xu, V. Guruswami, C. Palow, C. Faloutsos, "CopyCatch: Stopping Group Attacks
    by Spotting Lockstep Behavior in Social Networks", WWW 2013. Instead of CopyCatch's
    iterative search for (accounts, items, time centres) we bucket every engagement into
    half-overlapping (item, window) slots, keep the slots whose crowd is improbable for the item,
    and join accounts sharing such slots into groups (connected components). An account's score
    sums the capped surprise of its synchronized items; it is flagged when it synchronized on at
    least ``min_items`` items. Benign fan communities and friends are lockstep too: this
    detector finds coordination, not intent.

    Examples
    --------
    >>> from mlsiege.checks.reco_defense import planted_platform
    >>> p = planted_platform(300, 120, sybil_fraction=0.03, targets=2, seed=1)
    >>> res = lockstep_beutel2013(p.interactions, timestamps=p.timestamps)
    >>> bool(res.flagged[p.is_sybil].all())
    True
    """
    started = time.perf_counter()
    config = LockstepConfig(**options)
    eng = as_engagements(interactions, timestamps)
    table = slot_table(eng, config.window)
    strong = (table.crowd >= config.min_accounts) & (table.surprise >= config.min_surprise)
    # per (account, item): the best capped surprise of a strong slot, then summed over items
    best = np.where(strong, np.minimum(table.surprise, config.cap), 0.0).max(axis=0)
    per_item = sp.csr_matrix((best, (eng.user, eng.item)), shape=(eng.n_users, eng.n_items))
    per_item.eliminate_zeros()
    scores = np.asarray(per_item.sum(axis=1)).ravel()
    n_items = np.diff(per_item.indptr)
    flagged = n_items >= config.min_items
    # groups: accounts joined through the strong slots they share
    e_idx = np.flatnonzero(strong.any(axis=0))
    slot_of = np.where(strong[0, e_idx], table.slot[0, e_idx], table.slot[1, e_idx])
    B = sp.csr_matrix((np.ones(e_idx.size), (eng.user[e_idx], slot_of)), shape=(eng.n_users, table.n_slots))
    n_groups, labels = connected_components(B @ B.T, directed=False)
    groups = np.where(flagged, labels, -1)
    return account_result(
        "lockstep_beutel2013", scores, flagged, groups=groups, config=asdict(config), seed=seed, started=started,
        threshold=threshold, groups_found=int(np.unique(groups[flagged]).size),
    )
