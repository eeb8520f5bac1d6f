"""Run the conformance checks on any module: ``python -m mlsiege.checks MODULE [--family F]``.

A user who writes a recipe gets the verdict the project's own recipes get. The recipes of
``MODULE`` are the callables in its ``__all__`` (else its public functions); each one's family
is ``--family``, else read from its signature (:func:`infer_family`). ``--all`` runs every
family package the project ships (:func:`project_families`). One line per check (``PASS``,
``FAIL`` with the reason, ``SKIP`` with the reason), a count, and exit code 1 when any check
fails (2 when the module cannot be imported or a family cannot be told).

Examples
--------
>>> from mlsiege.checks.runner import infer_family
>>> def my_evasion(target, X, *, schema, pool_X=None, pool_y=None, budget, seed=0): ...
>>> infer_family(my_evasion)
'evasion'
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
import unittest
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from mlsiege.errors import ConfigError

__all__ = ["Outcome", "infer_family", "main", "module_recipes", "project_families", "run_checks"]


@dataclass(frozen=True)
class Outcome:
    """One check on one recipe: ``status`` is ``pass``, ``fail`` or ``skip``; ``message`` says why."""

    family: str
    recipe: str
    check: str
    status: str
    message: str = ""

    def line(self) -> str:
        text = f"{self.status.upper():<4}  {self.family}:{self.recipe}:{self.check}"
        return f"{text}  {self.message}" if self.message else text


def project_families() -> list[tuple[ModuleType, str]]:
    """The family packages mlsiege ships, with the family of their conformance harness."""
    from mlsiege.attacks import evasion, extraction, poisoning
    from mlsiege.attacks import reco as reco_attacks
    from mlsiege.defenses import data
    from mlsiege.defenses import reco as reco_defenses

    return [(evasion, "evasion"), (extraction, "extraction"), (poisoning, "poisoning"),
            (data, "data_defense"), (reco_attacks, "reco_attack"), (reco_defenses, "reco_defense")]


def module_recipes(module: ModuleType) -> list[tuple[str, Callable[..., Any]]]:
    """``(name, recipe)`` for the callables a module exports (``__all__``, else its public functions)."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, v in vars(module).items()
                 if inspect.isfunction(v) and not n.startswith("_") and v.__module__ == module.__name__]
    return [(n, getattr(module, n)) for n in names if inspect.isfunction(getattr(module, n, None))]


def infer_family(component: Callable[..., Any]) -> str:
    """The family a recipe belongs to, read from its calling convention (``mlsiege.checks.harnesses``)."""
    params = inspect.signature(component).parameters
    positional = [p.name for p in params.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    names = set(params)
    if positional[:1] == ["interactions"]:
        return "reco_attack" if {"targets", "n_sybils"} <= names else "reco_defense"
    if positional[:3] == ["X", "y", "meta"]:
        return "data_defense"
    if positional[:2] == ["X", "y"]:
        return "poisoning"
    if positional[:2] == ["target", "X"]:
        return "evasion"
    if positional[:1] == ["target"]:
        return "extraction"
    raise ConfigError(f"cannot tell the family of {component.__name__} from its signature "
                      f"({', '.join(params)}); pass --family")


def run_checks(recipes: Iterable[tuple[str, Callable[..., Any], str]]) -> list[Outcome]:
    """Run every check of each ``(name, recipe, family)``; never stops at the first failure."""
    from mlsiege.checks import yield_checks

    outcomes = []
    for name, recipe, family in recipes:
        for check_name, check in yield_checks(recipe, family):
            try:
                check()
            except unittest.SkipTest as exc:
                outcomes.append(Outcome(family, name, check_name, "skip", str(exc)))
            except AssertionError as exc:
                outcomes.append(Outcome(family, name, check_name, "fail", " ".join(str(exc).split())))
            except Exception as exc:  # a recipe that crashes fails the check, with what it raised
                message = " ".join(str(exc).split())[:300]
                outcomes.append(Outcome(family, name, check_name, "fail", f"raised {type(exc).__name__}: {message}"))
            else:
                outcomes.append(Outcome(family, name, check_name, "pass"))
    return outcomes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlsiege.checks", description=__doc__.split("\n\n")[0])
    parser.add_argument("module", nargs="?", help="dotted name of the module whose recipes to check")
    parser.add_argument("--family", help="family of every recipe of MODULE (default: read from each signature)")
    parser.add_argument("--all", action="store_true", help="check every family package mlsiege ships")
    parser.add_argument("--quiet", action="store_true", help="print failures and the count only")
    args = parser.parse_args(argv)
    if bool(args.module) == bool(args.all):
        parser.error("give MODULE or --all")
    try:
        if args.all:
            recipes = [(n, r, family) for module, family in project_families() for n, r in module_recipes(module)]
        else:
            module = importlib.import_module(args.module)
            found = module_recipes(module)
            if not found:
                raise ConfigError(f"{args.module} exports no recipe (no function in __all__ or at its top level)")
            recipes = [(n, r, args.family or infer_family(r)) for n, r in found]
    except (ImportError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    outcomes = run_checks(recipes)
    for o in outcomes:
        if not args.quiet or o.status == "fail":
            print(o.line())
    counts = {s: sum(o.status == s for o in outcomes) for s in ("pass", "fail", "skip")}
    recipes_failing = len({(o.family, o.recipe) for o in outcomes if o.status == "fail"})
    print(f"{len(recipes)} recipes, {len(outcomes)} checks: {counts['pass']} passed, {counts['fail']} failed "
          f"({recipes_failing} recipes with a failing check), {counts['skip']} skipped")
    return 1 if counts["fail"] else 0
