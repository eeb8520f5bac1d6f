"""Black-box evasion of tabular classifiers and anomaly detectors under domain constraints.

Recipes (calling convention in :mod:`mlsiege.checks.harnesses`)::

    recipe(target, X, *, schema, pool_X=None, pool_y=None, budget, seed=0, **options) -> AttackResult

Parts: :mod:`.oracle` (objective, per-point budget and projection), :mod:`.starts`
(data-driven starts), :mod:`.boundary` (bisection, shrink), searches :mod:`.hsj`,
:mod:`.walk`, :mod:`.evolution`, :mod:`.greedy`, :mod:`.probing`, and :mod:`.runner` (the
per-point driver that builds the :class:`~mlsiege.results.AttackResult`).
"""

from mlsiege.attacks.evasion.recipes_decision import (
    boundary_walk_brendel2018,
    hopskipjump_chen2020,
    one_feature_probe,
    threshold_bisection,
)
from mlsiege.attacks.evasion.recipes_score import moeva_simonetto2022, sparse_greedy_search

__all__ = [
    "boundary_walk_brendel2018",
    "hopskipjump_chen2020",
    "moeva_simonetto2022",
    "one_feature_probe",
    "sparse_greedy_search",
    "threshold_bisection",
]
