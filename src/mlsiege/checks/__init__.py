"""Conformance checks for every attack, defense and target adapter.

``yield_checks(component, family)`` yields ``(name, check)`` pairs; each ``check()`` raises
``AssertionError`` naming what broke, or ``unittest.SkipTest`` with the reason it cannot judge.
Besides checks of shape (result type, budget, seeds, schema, label-only targets) every family
has one check that the component does something on its tiny problem. ``tests/test_conformance.py``
runs them over every recipe a family package lists in its ``__all__``, like scikit-learn's
``parametrize_with_checks``; ``python -m mlsiege.checks MODULE`` runs them on any module
(:mod:`mlsiege.checks.runner`), and :mod:`mlsiege.checks.null_recipes` holds one do-nothing
recipe per family that they must reject.

Examples
--------
>>> from mlsiege.checks import yield_checks
>>> def noop(X, y, meta, *, seed=0):
...     '''Keeps everything (no reference, 2024).'''
...     import numpy as np
...     from mlsiege.results import DefenseResult
...     return DefenseResult("noop", np.ones(len(y), bool), np.zeros(len(y)))
>>> checks = dict(yield_checks(noop, "data_defense"))
>>> checks["check_same_seed_same_result"]()
>>> checks["check_defense_flags_poison"]()
Traceback (most recent call last):
...
AssertionError: noop caught none of the 16 poisoned records (recall 0): it flagged none and scored none above 5% of the clean records, nor did it catch them once corrupted
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from mlsiege.checks import common
from mlsiege.checks.common import CountingTarget, Harness
from mlsiege.checks.harnesses import (
    data_defense_harness,
    evasion_harness,
    extraction_harness,
    poisoning_harness,
)
from mlsiege.checks.reco import reco_attack_harness
from mlsiege.checks.reco_defense import reco_defense_harness
from mlsiege.errors import ConfigError

__all__ = ["FAMILIES", "CountingTarget", "Harness", "check_target_adapter", "yield_checks"]

#: family name -> harness builder (the families, not the recipes: recipes are found by __all__)
FAMILIES: dict[str, Callable[[], Harness]] = {
    "evasion": evasion_harness,
    "extraction": extraction_harness,
    "poisoning": poisoning_harness,
    "data_defense": data_defense_harness,
    "reco_attack": reco_attack_harness,
    "reco_defense": reco_defense_harness,
}

_WITH_TARGET = (
    common.check_returns_result,
    common.check_input_not_mutated,
    common.check_budget_respected,
    common.check_same_seed_same_result,
    common.check_outputs_satisfy_schema,
    common.check_black_box,
)


def register_family(name: str, builder: Callable[[], Harness]) -> None:
    """Add a family's harness (used by family packages that live behind an extra)."""
    FAMILIES[name] = builder


def yield_checks(component: Any, family: str) -> Iterator[tuple[str, Callable[[], None]]]:
    """Yield the named checks for ``component`` of ``family``.

    Only the checks that apply to the family are yielded (a family that queries no target gets
    no budget check); a check that cannot be judged on this component's output skips with the
    reason (:func:`mlsiege.checks.common.skip`), it never passes silently.
    """
    if family not in FAMILIES:
        raise ConfigError(f"unknown family {family!r}; known: {sorted(FAMILIES)}")
    yield "check_docstring_cites_source", partial(common.check_docstring_cites_source, component)
    harness = FAMILIES[family]()
    for check in _WITH_TARGET:
        if check is common.check_budget_respected and (harness.make_target is None or harness.budget is None):
            continue
        if check is common.check_outputs_satisfy_schema and (harness.schema is None or harness.produced is None):
            continue
        if check is common.check_black_box and harness.make_label_only is None:
            continue
        yield check.__name__, partial(check, component, harness)
    for check in harness.extra.get("checks", ()):  # a family's own checks (e.g. sybil budgets, effect)
        yield check.__name__, partial(check, component, harness)


def check_target_adapter(target: Any, X: Any) -> None:
    """A target adapter answers one value per row through :class:`Budgeted`, exactly counted."""
    import numpy as np

    from mlsiege.targets import Budgeted

    b = Budgeted(target, max_queries=len(X))
    method = next((m for m in ("predict", "score") if hasattr(target, m)), None)
    assert method is not None, f"{type(target).__name__} offers neither predict nor score"
    out = np.asarray(getattr(b, method)(X))
    assert len(out) == len(X), f"{type(target).__name__}.{method} answered {len(out)} values for {len(X)} rows"
    assert b.queries_used == len(X), "query count differs from rows sent"
