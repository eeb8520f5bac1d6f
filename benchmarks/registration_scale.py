"""Registration scenario: the defender's anomaly part, and 100,000 registrations through four profiles.

Prints one JSON object per line (progress on stderr):

* ``{"bench": "registration_detector", "anomaly": ...}`` — each anomaly detector (mlsiege's HBOS,
  scikit-learn's IsolationForest, PyOD's ECOD as anchors, run here in the same process) fitted on
  the default world without labels, its threshold set so 1% of held-out benign registrants are
  rejected; share of fresh known bots of each class it rejects, fit and scoring time.
* ``{"bench": "registration_scale", ...}`` — the whole scenario, all four maturity profiles, with
  100,000 registrations in total (3 events), wall time and each profile's figures.

Usage: ``python benchmarks/registration_scale.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

from mlsiege.scenarios.registration_botnet import RegistrationBotnetConfig, run_registration_botnet
from mlsiege.sim.registration import BOT_CLASSES, make_registrations, train_detector


def emit(record: dict) -> None:
    print(json.dumps(record), flush=True)


def detectors(n_benign: int) -> None:
    world = make_registrations(n_benign=n_benign, seed=0)
    benign = world.encode(world.sample(5000, "benign", seed=11))
    bots = {k: world.encode(world.sample(1000, k, seed=11)) for k in BOT_CLASSES}
    anomalies = ["hbos", "iforest"]
    try:
        import pyod  # noqa: F401

        anomalies.append("ecod")
    except ImportError:
        print("pyod not installed: ECOD anchor skipped", file=sys.stderr)
    for anomaly in anomalies:
        t0 = time.perf_counter()
        det = train_detector(world, kind="iforest", anomaly=anomaly, seed=0)
        fit = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(20):
            det.score(benign[:8])
        score8 = (time.perf_counter() - t0) / 20
        emit({
            "bench": "registration_detector", "anomaly": anomaly, "n_benign": n_benign,
            "benign_rejected": round(float(det.predict(benign).mean()), 4),
            **{f"caught_{k}": round(float(det.predict(X).mean()), 3) for k, X in bots.items()},
            "caught_known_bots": round(float(np.mean([det.predict(X).mean() for X in bots.values()])), 3),
            "fit_seconds": round(fit, 2), "score_8_rows_ms": round(1000 * score8, 2),
        })


def scale(total: int, events: int) -> None:
    accounts = 2000
    n_benign = int(round((total / events - accounts) / 1.1))  # known bots are 10% of benign
    cfg = RegistrationBotnetConfig(n_benign=n_benign, events=events, accounts=accounts, seed=0)
    t0, c0 = time.perf_counter(), time.process_time()
    report = run_registration_botnet(cfg, progress=lambda p, e, n: print(f"{p} event {e + 1}/{n}", file=sys.stderr))
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    emit({
        "bench": "registration_scale", "registrations_total": report["world"]["registrations_total"],
        "events": events, "n_benign_per_event": n_benign, "profiles": list(report["profiles"]),
        "seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1),
        "load_average_1min": round(os.getloadavg()[0], 1),
        **{f"{name}_success": round(p["attacker_success_rate"], 3) for name, p in report["profiles"].items()},
        **{f"{name}_benign_rejected": round(p["benign_rejected_rate"], 4) for name, p in report["profiles"].items()},
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small world, fewer registrations")
    args = parser.parse_args()
    detectors(5000 if args.quick else 20_000)
    scale(20_000 if args.quick else 100_000, 2 if args.quick else 3)


if __name__ == "__main__":
    main()
