"""Every recipe a family package exports in ``__all__`` passes the shared conformance checks,
and every do-nothing recipe of :mod:`mlsiege.checks.null_recipes` is rejected by them.

No global registry: the families are listed by :func:`mlsiege.checks.runner.project_families`.
A check that cannot judge a recipe raises ``unittest.SkipTest`` with the reason (shown as skipped).
"""

from __future__ import annotations

import subprocess
import sys
import unittest

import pytest

from mlsiege.checks import FAMILIES, null_recipes, yield_checks
from mlsiege.checks.runner import infer_family, module_recipes, project_families


def _cases():
    for module, family in project_families():
        for name, component in module_recipes(module):
            for check_name, check in yield_checks(component, family):
                yield pytest.param(check, id=f"{family}:{name}:{check_name}")


CASES = list(_cases())


@pytest.mark.parametrize("check", CASES)
def test_conformance(check):
    check()


def test_every_family_package_is_covered():
    # a family package that exports recipes must have a harness, or its recipes go unchecked
    for module, family in project_families():
        if getattr(module, "__all__", []):
            assert family in FAMILIES, f"{module.__name__} exports recipes but family {family!r} has no harness"


@pytest.mark.parametrize("name", null_recipes.__all__)
def test_checks_reject_each_do_nothing_recipe(name):
    recipe = getattr(null_recipes, name)
    failed = []
    for check_name, check in yield_checks(recipe, infer_family(recipe)):
        try:
            check()
        except AssertionError:
            failed.append(check_name)
        except unittest.SkipTest:
            pass
    assert failed, f"every check accepted the do-nothing recipe {name}"


def test_checks_command_fails_on_the_null_recipes_and_names_each_failure():
    out = subprocess.run([sys.executable, "-m", "mlsiege.checks", "mlsiege.checks.null_recipes", "--quiet"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 1, out.stderr
    failing = {line.split()[1].split(":")[1] for line in out.stdout.splitlines() if line.startswith("FAIL")}
    assert failing == set(null_recipes.__all__)


def test_checks_command_rejects_a_module_it_cannot_import():
    out = subprocess.run([sys.executable, "-m", "mlsiege.checks", "surely_not_a_module_xyz"], capture_output=True, text=True)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "surely_not_a_module_xyz" in out.stderr
