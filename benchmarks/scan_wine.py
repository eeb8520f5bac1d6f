"""Time ``mlsiege scan`` on the issue's setup: a 50-tree random forest on the wine data.

Prints one JSON object per step (queries, seconds, headline figure) and one for the whole scan.
There is no anchor: no other tool runs a whole assessment; the figure to hold is the issue's
"--budget 2000 finishes within 10 minutes on 2 cores".

    python benchmarks/scan_wine.py            # --budget 2000, with the poisoning trainer
    python benchmarks/scan_wine.py --quick    # --budget 400
    python benchmarks/scan_wine.py --smoke    # --budget 100, no poisoning step (the test suite's run)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from sklearn.datasets import load_wine
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from mlsiege.report.rules import scan_findings
from mlsiege.scenarios.scan import ScanConfig, run_scan
from mlsiege.scenarios.scan_recipes import default_recipes
from mlsiege.schema import infer_schema
from mlsiege.targets import from_estimator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="budget 400 instead of 2000")
    parser.add_argument("--smoke", action="store_true", help="budget 100 and no poisoning trainer: seconds, for the tests")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    budget = 100 if args.smoke else 400 if args.quick else 2000
    data = load_wine(as_frame=True)
    y = (data.target == 0).astype(int).to_numpy()
    model = RandomForestClassifier(n_estimators=50, random_state=0).fit(data.data, y)
    schema = infer_schema(data.data)
    X = schema.encode(data.data)
    print(f"scanning with budget {budget} on {os.cpu_count()} cpus", file=sys.stderr)
    started = time.perf_counter()
    outcome = run_scan(from_estimator(model, schema=schema), X, y, schema=schema,
                       config=ScanConfig(budget=budget, seed=args.seed), recipes=default_recipes(),
                       trainer=None if args.smoke else LogisticRegression(max_iter=1000),
                       progress=lambda line: print(line, file=sys.stderr))
    wall = time.perf_counter() - started
    cpu = time.process_time()
    for step in outcome.steps:
        m = step.get("metrics", {})
        scalars = {k: v for k, v in m.items() if isinstance(v, (int, float, str, bool)) or v is None}
        recipes = [{"recipe": r.get("recipe"), "fraction": r.get("fraction"), "drop": r.get("drop")}
                   for r in m.get("recipes", []) if isinstance(r, dict)]
        print(json.dumps({"step": step["name"], "recipe": step.get("recipe"), "status": step["status"],
                          "budget": step.get("budget"), "queries": step.get("queries"), "seconds": step.get("seconds"),
                          "metrics": scalars, **({"recipes": recipes} if recipes else {})}, default=str))
    payload = outcome.to_payload()
    severities = [f.severity for f in scan_findings(payload)]
    print(json.dumps({"scan": "wine-rf50", "budget": budget, "queries_used": outcome.queries_used,
                      "wall_seconds": round(wall, 1), "process_cpu_seconds": round(cpu, 1),
                      "findings": len(severities), "severities": severities,
                      "within_10_minutes": wall < 600}))


if __name__ == "__main__":
    main()
