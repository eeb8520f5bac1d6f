"""Poisoning attacks: corrupt the training data, then measure the downstream damage.

Calling convention (see :mod:`mlsiege.checks.harnesses`): ``recipe(X, y, *, schema, seed=0,
**options) -> AttackResult`` with artifacts ``X_poisoned``, ``y_poisoned`` and ``is_poison``;
every injected or changed row satisfies the schema, and every recipe refits a model on clean
and poisoned data to report the effect it had. Parts: :mod:`.generator` (the attacker's
phony-record generator), :mod:`.effect` (the shared downstream measurement).
"""

from mlsiege.attacks.poisoning.backdoor import backdoor_trigger_gu2017
from mlsiege.attacks.poisoning.boiling_frog import boiling_frog_rubinstein2009
from mlsiege.attacks.poisoning.injection import inject_phony_records
from mlsiege.attacks.poisoning.label_flip import (
    label_flip_random_biggio2011,
    label_flip_targeted_xiao2012,
)
from mlsiege.attacks.poisoning.subpopulation import subpopulation_jagielski2021

__all__ = [
    "backdoor_trigger_gu2017",
    "boiling_frog_rubinstein2009",
    "inject_phony_records",
    "label_flip_random_biggio2011",
    "label_flip_targeted_xiao2012",
    "subpopulation_jagielski2021",
]

