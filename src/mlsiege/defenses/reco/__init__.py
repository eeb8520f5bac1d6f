"""Recommender mitigations: detect coordinated engagement, and rank robustly.

Every recipe in ``__all__`` follows the ``reco_defense`` convention (see
:mod:`mlsiege.checks.reco_defense`)::

    detector(interactions, *, timestamps=None, follows=None, seed=0, threshold=None, **options)
        -> DefenseResult over accounts (scores higher = more suspicious, groups: account -> id)

Parts live in submodules: :mod:`.engagement` (inputs), :mod:`.synchrony` (time slots),
:mod:`.fresh_crowds` (significant crowds of new accounts), :mod:`.profiles` (per-account
features), :mod:`.rating_stats` (classic explicit-rating profile statistics), :mod:`.target_groups`
(pushed items and the groups behind them), :mod:`.flagging` (significance against the log's own
null; optional false-positive bound), :mod:`.ensemble` (the default detector set for a log), :mod:`.ranking`
(trust-weighted engagement, cohort influence caps, retraining without flagged accounts). See docs/reco-defenses.md.
"""

from mlsiege.defenses.reco.coengagement import coengagement_pacheco2021
from mlsiege.defenses.reco.fraudar import fraudar_hooi2016
from mlsiege.defenses.reco.lockstep import lockstep_beutel2013
from mlsiege.defenses.reco.rating_stats import (
    degsim_chirita2005,
    fmtd_burke2006,
    lengthvar_burke2006,
    meanvar_burke2006,
    popularity_hao2018,
    rdma_chirita2005,
    wda_williams2007,
    wdma_williams2007,
)
from mlsiege.defenses.reco.scorers import (
    coordination_scorer,
    profile_scorer_chirita2005,
    shilling_pca_mehta2007,
)
from mlsiege.defenses.reco.target_groups import target_groups_zhou2016
from mlsiege.defenses.reco.trust import sybilrank_cao2012

__all__ = [
    "coengagement_pacheco2021",
    "coordination_scorer",
    "degsim_chirita2005",
    "fmtd_burke2006",
    "fraudar_hooi2016",
    "lengthvar_burke2006",
    "lockstep_beutel2013",
    "meanvar_burke2006",
    "popularity_hao2018",
    "profile_scorer_chirita2005",
    "rdma_chirita2005",
    "shilling_pca_mehta2007",
    "sybilrank_cao2012",
    "target_groups_zhou2016",
    "wda_williams2007",
    "wdma_williams2007",
]
