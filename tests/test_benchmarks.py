"""Every benchmark script takes ``--quick``; the fast ones run in the suite (``--quick`` or ``--smoke``).

A benchmark whose ``--quick`` run is too long for the suite's 10 minutes, or needs a tool the
tests do not install (wrk, ART, RecAD), is skipped here with the reason; the acceptance checks
run their ``--quick`` modes.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
#: helpers and generators, not benchmarks
NOT_BENCHMARKS = {"setups", "recad_anchor", "real_tables", "reco_ratings_eval", "make_ratings", "make_planted_ratings",
                  "rating_logs"}
BENCHMARKS = sorted(p.stem for p in BENCH.glob("*.py") if p.stem not in NOT_BENCHMARKS)
#: what the suite runs: the flag and a timeout (s)
IN_SUITE = {"reco_detection": ("--quick", 300), "scan_wine": ("--smoke", 300), "reco_attacks": ("--quick", 300)}
#: why the others are not run here (measured on 2 cores shared with 7 other jobs)
NOT_IN_SUITE = {
    "evasion_vs_art": "--quick takes ~20 min and needs ART (bench extra); acceptance check 'evasion' runs it",
    "extraction_vs_art": "--quick takes ~8 min and needs ART (bench extra); acceptance check 'extraction' runs it",
    "feed_scale": "--quick builds a 50k-user, 1M-engagement round (35 s, ~1 GB); acceptance check 'feed' runs it",
    "gateway_load": "needs wrk; acceptance check 'gateway' runs it",
    "gateway_detection": "--quick takes 2-3 minutes; acceptance check 'gateway' runs it",
    "poisoning_defenses": "--quick takes several minutes and needs ART; acceptance check 'poisoning' runs it",
    "reco_factor_levers": "--quick refits ALS per filler design on 2,000 users (minutes)",
    "feed_demo": "--quick runs the whole feed demo (minutes); acceptance check 'feed-demo' runs the demo",
    "rating_aware_victim": "--quick fits biased MF per attack (minutes)",
    "reco_detection_adaptive": "--quick takes a few minutes (ALS victims)",
    "reco_detection_scale": "--quick builds logs up to 1M engagements (minutes)",
    "schema_projection": "--quick takes ~50 s on a shared machine (MILP per row)",
    "single_row_predict": "--quick is a timing loop (~60 s on a shared machine) with nothing to assert",
    "registration_scale": "--quick runs the whole scenario (2-3 minutes); acceptance check 'registration' runs it",
}


def test_every_benchmark_is_accounted_for():
    assert set(BENCHMARKS) == set(IN_SUITE) | set(NOT_IN_SUITE), set(BENCHMARKS) ^ (set(IN_SUITE) | set(NOT_IN_SUITE))


@pytest.mark.parametrize("name", BENCHMARKS)
def test_benchmark_takes_quick(name):
    # read from the source (starting each script would import ART, torch...: minutes on a shared machine)
    tree = ast.parse((BENCH / f"{name}.py").read_text())
    flags = {arg.value for node in ast.walk(tree) if isinstance(node, ast.Call)
             and getattr(node.func, "attr", None) == "add_argument"
             for arg in node.args if isinstance(arg, ast.Constant)}
    assert "--quick" in flags, f"benchmarks/{name}.py takes no --quick"


@pytest.mark.slow
@pytest.mark.parametrize("name", BENCHMARKS)
def test_benchmark_runs(name, tmp_path):
    if name not in IN_SUITE:
        pytest.skip(NOT_IN_SUITE[name])
    flag, timeout = IN_SUITE[name]
    out = subprocess.run([sys.executable, str(BENCH / f"{name}.py"), flag], capture_output=True, text=True,
                         timeout=timeout, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-1000:]
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert rows, f"{name} {flag} printed no JSON line"


def test_ratings_generators_are_deterministic(tmp_path):
    for name in ("make_ratings", "make_planted_ratings"):
        paths = [tmp_path / f"{name}{i}.data" for i in range(2)]
        for path in paths:
            subprocess.run([sys.executable, str(BENCH / f"{name}.py"), str(path)], check=True, timeout=120)
        assert paths[0].read_bytes() == paths[1].read_bytes()
        first = paths[0].read_text().splitlines()[0].split("\t")
        assert len(first) == 4 and all(part.isdigit() for part in first)
