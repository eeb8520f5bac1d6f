"""How coordination detection grows with the log: 100k to 10M engagements on one machine.

Each size runs in its own process (so peak memory is that size's): a campaign-free log from
:func:`mlsiege.sim.engagement_log.synthetic_log` (accounts = engagements / 20; joins,
onboarding bursts, releases with recency, fan communities), then

* ``coordination_scorer`` (fresh crowds + join cohorts + profile terms) on the matrices;
* the per-account statistics (``profile_scorer_chirita2005``: rating deviation, burstiness,
  account age, with its synchrony slot table);
* the same statistics without the synchrony pair, in one shard and sharded over accounts
  (:func:`mlsiege.defenses.reco.sharded.account_statistics`, 8 shards on a local pool of 2
  processes: the path that runs as Ray tasks beyond one machine);
* ``mlsiege reco detect --detector coordination`` end to end on the log written as CSV (reading included);
* the anchor, in the same run at the small sizes: the reference FRAUDAR package (rgmining-fraudar,
  densest block, from its own venv as in ``reco_detection.py``) on the same graph.

Per row: engagements, accounts, wall and CPU seconds, peak traced memory of the detection step (tracemalloc,
numpy's buffers included) and the process's peak resident memory (``resource``), real accounts
flagged on the campaign-free log, and for the planted aged + drip campaign (0.5% sybils, 3
targets) its precision and recall. One JSON object per line.

    python benchmarks/reco_detection_scale.py --quick              # 100k, 300k, 1M
    python benchmarks/reco_detection_scale.py --sizes 10000000     # one size
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import scipy.sparse as sp

HERE = Path(__file__).resolve().parent


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024.0  # Linux reports KiB


def cpu_seconds(who: int = resource.RUSAGE_SELF) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


LAST_CPU: list[float] = [0.0]  # CPU seconds of the last measured() step


def measured(fn):
    """``(result, wall seconds, traced peak MB)`` of ``fn()``; its CPU seconds land in ``LAST_CPU``.

    On a shared machine the wall time grows with the load; the CPU time of a single-threaded
    step hardly does, so both are reported.
    """
    tracemalloc.start()
    c = cpu_seconds()
    t = time.perf_counter()
    out = fn()
    sec = time.perf_counter() - t
    LAST_CPU[0] = cpu_seconds() - c
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return out, sec, peak


def write_csv(log, path: Path) -> None:
    import pandas as pd

    coo = log.interactions.tocoo()
    times = log.timestamps.tocoo().data  # same stored entries, same order
    pd.DataFrame({"user": coo.row, "item": coo.col, "rating": np.ones(coo.nnz, np.int8), "timestamp": times.astype(np.int64)}).to_csv(path, index=False)


def one(n: int, seed: int, cli: bool, reference: bool) -> list[dict]:
    from mlsiege.defenses.reco import coordination_scorer, profile_scorer_chirita2005
    from mlsiege.defenses.reco.sharded import account_statistics
    from mlsiege.metrics.reco_detection import detection_scores
    from mlsiege.sim.engagement_log import synthetic_log

    t = time.perf_counter()
    log = synthetic_log(n // 20, n, seed=seed)
    base = {"engagements": int(log.interactions.nnz), "accounts": int(log.interactions.shape[0]), "items": int(log.interactions.shape[1]),
            "generate_seconds": round(time.perf_counter() - t, 2)}
    rows = []
    R, T = log.interactions, log.timestamps
    res, sec, peak = measured(lambda: coordination_scorer(R, timestamps=T))
    rows.append({**base, "step": "coordination_scorer", "seconds": round(sec, 2), "cpu_seconds": round(LAST_CPU[0], 2), "traced_peak_mb": round(peak), "flagged_real": int(res.flagged.sum()),
                 "fans_flagged": int((res.flagged & (log.fan_group >= 0)).sum())})
    res, sec, peak = measured(lambda: profile_scorer_chirita2005(R, timestamps=T))
    rows.append({**base, "step": "per_account_statistics", "seconds": round(sec, 2), "cpu_seconds": round(LAST_CPU[0], 2), "traced_peak_mb": round(peak)})
    if cli:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "log.csv"
            write_csv(log, path)
            # the CLI reports its own peak (VmHWM: the high-water mark of its own address space; the
            # children's ru_maxrss would also count this process's image, copied at fork)
            entry = ("import atexit, sys\n"
                     "def hwm():\n"
                     "    with open('/proc/self/status') as fh:\n"
                     "        kb = [l.split()[1] for l in fh if l.startswith('VmHWM:')]\n"
                     "    print('VmHWM_KB', kb[0] if kb else -1, file=sys.stderr)\n"
                     "atexit.register(hwm)\n"
                     "from mlsiege.cli.main import main\n"
                     "main()\n")
            t, c = time.perf_counter(), cpu_seconds(resource.RUSAGE_CHILDREN)
            done = subprocess.run([sys.executable, "-c", entry, "reco", "detect", "--interactions", str(path), "--format", "csv",
                                   "--detector", "coordination", "--out", str(Path(tmp) / "out")], capture_output=True, text=True, timeout=1800)
            sec, cpu = time.perf_counter() - t, cpu_seconds(resource.RUSAGE_CHILDREN) - c
            hwm = [line.split()[1] for line in done.stderr.splitlines() if line.startswith("VmHWM_KB")]
            errors = [line for line in done.stderr.splitlines() if not line.startswith("VmHWM_KB")]
            rows.append({**base, "step": "cli_reco_detect_coordination", "seconds": round(sec, 2), "cpu_seconds": round(cpu, 2), "exit": done.returncode,
                         "cli_peak_rss_mb": round(int(hwm[0]) / 1024) if hwm and int(hwm[0]) > 0 else None,
                         **({"stderr": errors[-1][:200]} if done.returncode and errors else {})})
    _, sec, peak = measured(lambda: account_statistics(R, T, shards=1, executor="inline"))
    rows.append({**base, "step": "per_account_statistics_no_sync_one_shard", "seconds": round(sec, 2), "cpu_seconds": round(LAST_CPU[0], 2), "traced_peak_mb": round(peak)})
    _, sec, _ = measured(lambda: account_statistics(R, T, shards=8, executor="local", workers=2))
    rows.append({**base, "step": "per_account_statistics_no_sync_8_shards_local2", "seconds": round(sec, 2), "shards": 8})
    if reference:
        sys.path.insert(0, str(HERE))
        from reco_detection import reference_fraudar

        A = sp.csr_matrix(R, dtype=float)
        A.data[:] = 1.0
        ref = reference_fraudar(A, 1, repeats=1)
        rows.append({**base, "step": "anchor_fraudar_reference", **({"skipped": ref["skipped"]} if "skipped" in ref else {"seconds": round(ref["seconds"], 2),
                     "flagged_real": len(ref["blocks"][0][0])})})
    log = R = T = res = None  # free the clean log before the campaign one
    camp = synthetic_log(n // 20, n, sybil_fraction=0.005, targets=3, aged_days=90, drip_days=21, seed=seed + 1)
    res, sec, _ = measured(lambda: coordination_scorer(camp.interactions, timestamps=camp.timestamps))
    s = detection_scores(res.flagged, camp.is_sybil)
    rows.append({**base, "step": "coordination_aged_drip_campaign", "seconds": round(sec, 2), "cpu_seconds": round(LAST_CPU[0], 2), "sybils": int(camp.is_sybil.sum()),
                 "precision": s["precision"], "recall": s["recall"], "flagged_real": s["false_positives"]})
    for r in rows:
        r["process_peak_rss_mb"] = round(peak_rss_mb())
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100k, 300k and 1M engagements")
    ap.add_argument("--sizes", help="comma-separated engagement counts (default 100k..10M)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-cli", action="store_true")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--reference", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        for r in one(args.one, args.seed, not args.no_cli, args.reference):
            print(json.dumps(r), flush=True)
        return
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else (
        [100_000, 300_000, 1_000_000] if args.quick else [100_000, 300_000, 1_000_000, 3_000_000, 10_000_000])
    for n in sizes:
        cmd = [sys.executable, __file__, "--one", str(n), "--seed", str(args.seed)] + (["--no-cli"] if args.no_cli else []) + (["--reference"] if n <= 300_000 else [])
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
        for line in done.stdout.splitlines():
            print(line, flush=True)
        if done.returncode:
            print(json.dumps({"engagements_asked": n, "error": (done.stderr.strip().splitlines() or ["?"])[-1][:300]}), flush=True)
        print(f"{n}: done", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
