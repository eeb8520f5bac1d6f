"""What pyproject.toml declares matches the code: extras named in hints exist, imports are declared,
package data exists."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "mlsiege"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
#: import name -> distribution name, where they differ
DISTRIBUTION = {"sklearn": "scikit-learn", "yaml": "pyyaml", "openlineage": "openlineage-python",
                "art": "adversarial-robustness-toolbox", "pyod": "pyod"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=\[ ;]", requirement, maxsplit=1)[0].lower()


def _declared() -> set[str]:
    names = {_name(r) for r in PROJECT["dependencies"]}
    for reqs in PROJECT["optional-dependencies"].values():
        names |= {_name(r) for r in reqs}
    return names


def test_every_extra_named_in_an_install_hint_exists():
    extras = set(PROJECT["optional-dependencies"]) | {"core"}
    named = set()
    for path in SRC.rglob("*.py"):
        for call in re.finditer(r"require\(\s*\"[\w.]+\",\s*(?:extra=)?\"([\w-]+)\"", path.read_text()):
            named.add((call.group(1), path.name))
    assert named and not [(e, f) for e, f in named if e not in extras], sorted(named)


def test_every_third_party_import_is_declared():
    stdlib = set(sys.stdlib_module_names)
    declared = _declared()
    missing = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                tops = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                tops = [node.module.split(".")[0]]
            else:
                continue
            for top in tops:
                if top in stdlib or top == "mlsiege" or top == "__future__":
                    continue
                if DISTRIBUTION.get(top, top).lower().replace("_", "-") not in declared:
                    missing.add((top, path.relative_to(SRC).as_posix()))
    assert not missing, sorted(missing)


def test_package_data_globs_match_files():
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    for pattern in tool["mlsiege"]:
        assert list(SRC.glob(pattern)), f"package-data lists {pattern}, which matches no file"
