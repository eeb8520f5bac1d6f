"""Which recipe fills each role of a scan: a plain table of names, looked up in each family's
``__all__`` (no ``eval``, no dotted strings from the user).

The family packages are imported by name (:func:`family_module`), so a package that fails to
import fails the scan with its own error instead of silently dropping the step. The first name of
a role's preference list that its family exports is used; when none is, the family's first
exported recipe is (except for ``evasion_score``, which needs a recipe that uses scores).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

__all__ = ["FAMILIES", "PREFERENCES", "default_recipes", "family_module", "recipe_by_name"]

#: role -> family package (documentation; :func:`family_module` imports it by name)
FAMILIES = {
    "evasion_score": "mlsiege.attacks.evasion",
    "evasion_label": "mlsiege.attacks.evasion",
    "extraction": "mlsiege.attacks.extraction",
    "poisoning": "mlsiege.attacks.poisoning",
}

#: role -> recipe names in order of preference
PREFERENCES: dict[str, tuple[str, ...]] = {
    "evasion_score": ("sparse_greedy_search", "moeva_simonetto2022"),
    "evasion_label": ("hopskipjump_chen2020",),
    "extraction": ("active_extraction_chandrasekaran2020",),
    "poisoning": ("label_flip_targeted_xiao2012", "inject_phony_records"),
}


def family_module(role: str) -> ModuleType:
    """The family package that fills ``role`` (imported here; an import error propagates)."""
    if role in ("evasion_score", "evasion_label"):
        from mlsiege.attacks import evasion as module
    elif role == "extraction":
        from mlsiege.attacks import extraction as module
    elif role == "poisoning":
        from mlsiege.attacks import poisoning as module
    else:
        raise KeyError(f"no scan role {role!r}; roles: {sorted(FAMILIES)}")
    return module


def _exports(module: ModuleType) -> list[str]:
    return [name for name in getattr(module, "__all__", []) if callable(getattr(module, name, None))]


def recipe_by_name(role: str, name: str) -> tuple[str, Callable[..., Any]]:
    """``(name, recipe)`` for a recipe its role's family exports; ``KeyError`` otherwise."""
    module = family_module(role)
    if name not in _exports(module):
        raise KeyError(f"{module.__name__} exports no recipe {name!r}")
    return name, getattr(module, name)


def default_recipes(roles: tuple[str, ...] = tuple(FAMILIES)) -> dict[str, Any]:
    """``{role: (name, recipe)}`` for every role whose family exports a recipe.

    ``poisoning`` maps to a list of pairs (every preferred recipe present is measured: they cost
    refits, not queries).
    """
    chosen: dict[str, Any] = {}
    for role in roles:
        exported = _exports(family_module(role))
        preferred = [n for n in PREFERENCES.get(role, ()) if n in exported]
        if not preferred and role != "evasion_score":  # a decision-based stand-in proves nothing about scores
            preferred = exported[:1]
        if not preferred:
            continue
        if role == "poisoning":
            chosen[role] = [recipe_by_name(role, n) for n in preferred]
        else:
            chosen[role] = recipe_by_name(role, preferred[0])
    return chosen
