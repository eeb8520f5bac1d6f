"""Model extraction and reverse engineering through a prediction API (MITRE ATLAS AML.T0024.002, AML.T0005).

Recipes (calling convention in :mod:`mlsiege.checks.harnesses`)::

    recipe(target, *, schema, pool_X=None, budget, seed=0, **options) -> AttackResult

* :func:`active_extraction_chandrasekaran2020`: surrogate with active query selection;
* :func:`equation_solving_tramer2016`: exact copy of a logistic / linear model exposing scores;
* :func:`level_sweep_lowd2005`: which values of each feature the API accepts, one feature at a time;
* :func:`path_finding_tramer2016`: a decision tree's leaves, when answers identify them;
* :func:`rule_recovery_craven1996`: a short rule list of what the target rejects;
* :func:`transfer_evasion_papernot2017`: evasion crafted on the surrogate, tried on the target.

Parts live in submodules: :mod:`.oracle` (buying answers), :mod:`.synthesis` (queries inside the
schema), :mod:`.selection` (thief and active selection), :mod:`.rules` (rule lists), :mod:`.levels`
(one-feature sweeps: :func:`~mlsiege.attacks.extraction.levels.sweep_levels`).
"""

from mlsiege.attacks.extraction.active import active_extraction_chandrasekaran2020
from mlsiege.attacks.extraction.equation import equation_solving_tramer2016
from mlsiege.attacks.extraction.levels import level_sweep_lowd2005
from mlsiege.attacks.extraction.pathfinding import path_finding_tramer2016
from mlsiege.attacks.extraction.rules import rule_recovery_craven1996
from mlsiege.attacks.extraction.transfer import transfer_evasion_papernot2017

__all__ = [
    "active_extraction_chandrasekaran2020",
    "equation_solving_tramer2016",
    "level_sweep_lowd2005",
    "path_finding_tramer2016",
    "rule_recovery_craven1996",
    "transfer_evasion_papernot2017",
]
