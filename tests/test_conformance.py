"""Every recipe a family package exports in ``__all__`` passes the shared conformance checks.

No global registry: the families are listed here, and a package that does not import (an
optional extra that is missing) is skipped with the reason.
"""

from __future__ import annotations

import importlib

import pytest

from mlsiege.checks import FAMILIES, yield_checks

#: (package, family of the conformance harness)
FAMILY_PACKAGES = [
    ("mlsiege.attacks.evasion", "evasion"),
    ("mlsiege.attacks.extraction", "extraction"),
    ("mlsiege.attacks.poisoning", "poisoning"),
    ("mlsiege.defenses.data", "data_defense"),
    ("mlsiege.attacks.reco", "reco_attack"),
    ("mlsiege.defenses.reco", "reco_defense"),
]


def _cases():
    for package, family in FAMILY_PACKAGES:
        module = importlib.import_module(package)
        for name in getattr(module, "__all__", []):
            if family not in FAMILIES:
                continue
            component = getattr(module, name)
            for check_name, check in yield_checks(component, family):
                yield pytest.param(check, id=f"{family}:{name}:{check_name}")


CASES = list(_cases())


@pytest.mark.parametrize("check", CASES)
def test_conformance(check):
    check()


def test_every_family_package_is_covered():
    # a family package that exports recipes must have a harness, or its recipes go unchecked
    for package, family in FAMILY_PACKAGES:
        module = importlib.import_module(package)
        if getattr(module, "__all__", []):
            assert family in FAMILIES, f"{package} exports recipes but family {family!r} has no harness"
