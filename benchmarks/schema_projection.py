"""Time ``Schema.project`` with and without disjunctive relations (``or``, ``!=``).

The table is the mixed one of the tabular-real check (an 80-level categorical, counts, shares,
a conditional zero), drawn here; the candidates are real rows moved at random as an attack's
probes are (every numeric feature by up to one standard deviation, the categoricals re-drawn on a
third of the rows), projected onto the schema against their original row. Cases:

* ``plain``: the relations without an ``or`` (``opened <= sent``, ``share_a + share_b <= 1``);
* ``disjunctive-1`` / ``disjunctive-3``: plus one / three conditional relations
  (``status != 'refused' or payload == 0`` ...), solved as one program with a binary indicator
  per branch (ours), and, as the anchor in the same run, by the previous formulation: one
  program per combination of branches, the closest kept.

Prints one JSON object per case and formulation: rows, ``rows_solved`` (those still invalid after
the cheap repair, which need a program), seconds, milliseconds per row and per solved row, and
the ratio of the latter to ``plain`` (more rows break more relations, so per row alone would mix
how often rows break a rule with what a broken rule costs).

    python benchmarks/schema_projection.py            # 800 candidate rows per case
    python benchmarks/schema_projection.py --quick    # 200
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd

from mlsiege.schema import Schema, infer_schema
from mlsiege.schema.projection import LinearSystem, use_system


def table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    refused = rng.random(n) < 0.3
    sent = rng.poisson(20, n) + 1
    a = rng.beta(2, 5, n).round(3)
    return pd.DataFrame({
        "city": rng.choice([f"city_{k:02d}" for k in range(80)], n),
        "status": np.where(refused, "refused", "ok"),
        "sent": sent,
        "opened": np.minimum(sent, rng.binomial(sent, 0.4)),
        "payload": np.where(refused, 0, rng.lognormal(6, 1.2, n).round()),
        "share_a": a,
        "share_b": ((1 - a) * rng.beta(2, 2, n)).round(3),
    })


PLAIN = ["opened <= sent", "share_a + share_b <= 1"]
EXTRA = ["status != 'refused' or payload == 0", "city != 'city_07' or share_b <= 0.6",
         "status != 'refused' or opened <= 20"]


def candidates(schema: Schema, X: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    idx = rng.choice(len(X), n, replace=False)
    orig = X[idx]
    std = X.std(axis=0)
    moved = orig + rng.uniform(-1, 1, orig.shape) * std
    for j, f in enumerate(schema.features):
        if f.type == "categorical":
            redraw = rng.random(n) < 1 / 3
            moved[redraw, j] = rng.integers(0, len(f.levels), redraw.sum())
    return moved, orig


def time_case(schema: Schema, cand: np.ndarray, orig: np.ndarray, indicators: bool) -> dict:
    use_system(schema, LinearSystem(schema, branching=indicators))
    solved = int((~schema.valid_mask(schema.repair(cand, orig), orig)).sum())  # rows that need a program
    started = time.perf_counter()
    out = schema.project(cand, orig)
    seconds = time.perf_counter() - started
    return {"rows": len(cand), "rows_solved": solved, "seconds": round(seconds, 3),
            "ms_per_row": round(1000 * seconds / len(cand), 2), "ms_per_solved_row": round(1000 * seconds / max(solved, 1), 2),
            "valid_rate": float(schema.valid_mask(out, orig).mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 candidate rows per case instead of 800")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    n = 200 if args.quick else 800
    frame = table(4000, args.seed)
    features = infer_schema(frame).features
    base = None
    for name, cons in (("plain", PLAIN), ("disjunctive-1", PLAIN + EXTRA[:1]), ("disjunctive-3", PLAIN + EXTRA)):
        schema = Schema(features, cons)
        X = schema.encode(frame)
        cand, orig = candidates(schema, X, n, np.random.default_rng(args.seed + 1))
        for formulation, indicators in (("branch-and-bound", True), ("enumeration", False)):
            if name == "plain" and not indicators:
                continue
            row = {"case": name, "formulation": formulation, "tool": "mlsiege" if indicators else "anchor-previous",
                   **time_case(schema, cand, orig, indicators)}
            if name == "plain":
                base = row["ms_per_solved_row"]
            row["solved_ratio_to_plain"] = round(row["ms_per_solved_row"] / base, 2) if base else None
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
