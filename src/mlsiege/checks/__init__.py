"""Conformance checks for every attack, defense and target adapter.

``yield_checks(component, family)`` yields ``(name, check)`` pairs; each ``check()`` raises
``AssertionError`` naming what broke. ``tests/test_conformance.py`` runs them over every recipe
a family package lists in its ``__all__``, like scikit-learn's ``parametrize_with_checks``.

Examples
--------
>>> from mlsiege.checks import yield_checks
>>> def noop(X, y, meta, *, seed=0):
...     '''Keeps everything (no reference, 2024).'''
...     import numpy as np
...     from mlsiege.results import DefenseResult
...     return DefenseResult("noop", np.ones(len(y), bool), np.zeros(len(y)))
>>> for name, check in yield_checks(noop, "data_defense"):
...     check()
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
    """Yield the named checks for ``component`` of ``family``."""
    if family not in FAMILIES:
        raise ConfigError(f"unknown family {family!r}; known: {sorted(FAMILIES)}")
    yield "check_docstring_cites_source", partial(common.check_docstring_cites_source, component)
    harness = FAMILIES[family]()
    for check in _WITH_TARGET:
        yield check.__name__, partial(check, component, harness)
    for check in harness.extra.get("checks", ()):  # a family's own checks (e.g. sybil budgets)
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
