"""Flagship B's demo across seeds, with today's pre-demo default as the anchor in the same run.

Prints one JSON line per seed for the demo (``mlsiege demo feed``'s defaults): exposure clean ->
attacked (audience, mean over the days), amplification, each attacker variant's exposure, each
mitigation's worst exposure cut and worst utility loss over the variants, whether it holds
(>= 80% cut at <= 2% loss against every variant), CPU and wall seconds. Then one anchor line
per seed: the feed-injection scenario's previous default (audience mimicry vs item-kNN, 5
rounds), final-round audience exposure and amplification, the figures the issue started from.
``--quick`` runs seed 0 only. Timings are on whatever else the machine is doing: read CPU seconds.
"""

from __future__ import annotations

import argparse
import json
import time


def demo_line(seed: int) -> dict:
    from mlsiege.scenarios.feed_demo import FeedDemoConfig, run_feed_demo

    wall, cpu = time.perf_counter(), time.process_time()
    p = run_feed_demo(FeedDemoConfig(seed=seed, workers=1))
    s = p["summary"]
    return {
        "bench": "feed-demo", "seed": seed,
        "exposure_clean": round(s["exposure_clean"], 4), "exposure_attacked": round(s["exposure_attacked"], 4),
        "amplification": round(s["amplification"], 3), "reach_attacked": round(s["reach_attacked"], 3),
        "variants": {v["key"]: round(v["exposure"], 4) for v in p["attacker_variants"]},
        "mitigations": {m["key"]: {"worst_cut": round(min(r["exposure_reduction"] for r in m["per_variant"]), 3),
                                   "worst_loss": round(max(r["utility_loss"] for r in m["per_variant"]), 4),
                                   "loss_no_attack": round(m["utility_loss_clean"], 4), "holds": m["holds_against_all"]}
                        for m in p["mitigations"]},
        "cpu_s": round(time.process_time() - cpu, 1), "wall_s": round(time.perf_counter() - wall, 1),
    }


def anchor_line(seed: int) -> dict:
    from mlsiege.attacks.reco import audience_mimicry_tang2020
    from mlsiege.scenarios.feed_injection import run_feed_injection
    from mlsiege.sim.feed import FeedConfig
    from mlsiege.targets.recommenders import make_recommender

    wall = time.perf_counter()
    p = run_feed_injection(FeedConfig(), audience_mimicry_tang2020, lambda: make_recommender("item-knn", seed=seed), seed=seed)
    s = p["summary"]
    return {"bench": "anchor: feed-injection default (audience-mimicry vs item-knn)", "seed": seed,
            "exposure_clean": round(s["exposure_clean_final"], 4), "exposure_attacked": round(s["exposure_attacked_final"], 4),
            "amplification": round(s["amplification_final"], 3), "wall_s": round(time.perf_counter() - wall, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="seed 0 only")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    for seed in range(1 if args.quick else args.seeds):
        print(json.dumps(demo_line(seed)), flush=True)
        print(json.dumps(anchor_line(seed)), flush=True)


if __name__ == "__main__":
    main()
