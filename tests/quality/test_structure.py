"""Structure the project promises: a light CLI start-up, layers that hold, one table reader."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mlsiege.datasets.tables import read_table
from mlsiege.errors import DataValidationError

HEAVY = ("numpy", "pandas", "scipy", "sklearn", "mlsiege.attacks", "mlsiege.defenses", "mlsiege.scenarios")


def test_cli_help_imports_nothing_heavy():
    # --help must not pay for the scientific stack or the recipes: they load inside the commands
    code = (
        "import sys; sys.argv = ['mlsiege', '--help']\n"
        "from mlsiege.cli.main import app\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {{h.split('.')[0] for h in {HEAVY!r}}}"
        f" and any(m == h or m.startswith(h + '.') for h in {HEAVY!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]", out.strip().splitlines()[-1]


def test_cli_name_tables_resolve_every_name():
    from mlsiege.cli.evasion_cmd import KINDS
    from mlsiege.cli.reco_cmd import ATTACKS
    from mlsiege.cli.reco_detect_cmd import DETECTORS

    for table in (KINDS, ATTACKS, DETECTORS):
        for name in table:
            assert callable(table[name]), name


def test_layers_contract_holds():
    lint = pytest.importorskip("importlinter")  # the dev extra installs it
    assert lint
    exe = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"],
                         capture_output=True, text=True)
    assert exe.returncode == 0 and "0 broken" in exe.stdout, exe.stdout[-2000:]


@pytest.mark.parametrize("content, problem", [
    (None, "not found"),
    ("", "is empty"),
    ("a,b\n", "holds no rows"),
    ("a,b\n1,2,3,4\n1\n\"x\n", "cannot parse"),
])
def test_read_table_one_line_errors(tmp_path, content, problem):
    path = tmp_path / "rows.csv"
    if content is not None:
        path.write_text(content)
    with pytest.raises(DataValidationError, match=problem) as info:
        read_table(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_read_table_names_missing_columns(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(DataValidationError, match=r"lacks the columns \['c'\]"):
        read_table(path, columns=["a", "c"])
    assert read_table(path, columns=["a"]).shape == (1, 2)


def test_schema_cli_default_levels_match_the_library():
    from mlsiege.cli import schema_cmd
    from mlsiege.schema import infer

    assert schema_cmd.DEFAULT_MAX_LEVELS == infer.DEFAULT_MAX_LEVELS


def test_registration_attacker_reads_no_simulator_internals():
    # the botnet learns through its probe channel; it may know the public form (levels), nothing else
    import ast
    import inspect

    import mlsiege.scenarios.registration_attacker as attacker

    tree = ast.parse(inspect.getsource(attacker))
    from_sim = {a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module == "mlsiege.sim.registration"
                for a in node.names}
    assert from_sim <= {"ASN", "COUNTRY", "DEVICE", "EMAIL", "REFERRER"}, from_sim
    assert "threshold_bisection" in {a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for a in node.names}
