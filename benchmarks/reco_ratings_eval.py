"""Explicit-rating detection on labelled logs: the real-data and generator modes of reco_detection.py.

Every mlsiege rating detector, the default ensemble, and anchors run in the same process on each
log, scored against its labels (precision, recall, F1 and FPR over the labelled accounts):

* ``anchor:fraudar_reference`` the reference FRAUDAR (``rgmining-fraudar``, from its own venv,
  as in :func:`reco_detection.reference_fraudar`): the accounts of its densest block;
* ``anchor:degree_topk`` the k accounts with the most ratings, k = the true number of attackers;
* ``anchor:rdma_topk`` plain RDMA (Chirita et al. 2005) as the literature states it: the k
  highest raw RDMA values, k = truth;
* ``anchor:pca_varselect_topk`` PCA-VarSelect (Mehta & Nejdl 2009): the k lowest-loading
  accounts on the first 3 components of the z-scored user covariance, k = truth.

Modes (called from ``benchmarks/reco_detection.py``)::

    python benchmarks/reco_detection.py --interactions FILE --format ratings --labels LABELS
    python benchmarks/reco_detection.py --ratings-gen [--generator PATH|builtin] [--quick] [--times]

The generator is ``../shared/acceptance/gen/ratings.py`` by default (an independent generator,
outside this repository; pass ``--generator`` to use another copy); ``--generator builtin`` uses
the committed ``benchmarks/rating_logs.py`` instead (another shape, half stars, string ids, a
segment attack too), so figures are reproducible from the repository alone. Cells: random / average /
bandwagon x filler 1%, 5% x size 5%, 10% (12 cells; ``--quick``: filler 3%, size 5%, 3 cells),
two attack-free controls, and with ``--times`` the two aged-account slow-drip cells.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from mlsiege.datasets import load_interactions
from mlsiege.datasets.interactions import load_labels
from mlsiege.defenses import reco
from mlsiege.defenses.reco.engagement import as_engagements
from mlsiege.defenses.reco.ensemble import run_ensemble
from mlsiege.defenses.reco.rating_stats import profile_statistics
from mlsiege.metrics.reco_detection import detection_scores

RATING_DETECTORS = {
    "target_groups": reco.target_groups_zhou2016,
    "rdma": reco.rdma_chirita2005,
    "wdma": reco.wdma_williams2007,
    "wda": reco.wda_williams2007,
    "lengthvar": reco.lengthvar_burke2006,
    "meanvar": reco.meanvar_burke2006,
    "fmtd": reco.fmtd_burke2006,
    "degsim": reco.degsim_chirita2005,
    "popularity": reco.popularity_hao2018,
    "pca": reco.shilling_pca_mehta2007,
}
DEFAULT_GENERATOR = Path(__file__).resolve().parents[1] / ".." / "shared" / "acceptance" / "gen" / "ratings.py"


def _topk(scores: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros(scores.size, bool)
    out[np.argsort(-scores, kind="stable")[:k]] = True
    return out


def anchors(matrix: sp.csr_matrix, k: int, *, fraudar: bool = True) -> dict[str, tuple[np.ndarray, float]]:
    """Anchor flags (and seconds) with k = the true number of attackers."""
    from reco_detection import reference_fraudar

    out = {}
    t = time.perf_counter()
    out["anchor:degree_topk"] = (_topk(np.diff(matrix.indptr).astype(float), k), time.perf_counter() - t)
    t = time.perf_counter()
    eng = as_engagements(matrix)
    rdma = profile_statistics(eng, include_degsim=False)["rdma"]
    out["anchor:rdma_topk"] = (_topk(np.nan_to_num(rdma, nan=-np.inf), k), time.perf_counter() - t)
    t = time.perf_counter()
    res = reco.shilling_pca_mehta2007(matrix, flag_fraction=min(max(k / matrix.shape[0], 1e-6), 0.999))
    out["anchor:pca_varselect_topk"] = (res.flagged, time.perf_counter() - t)
    if fraudar:
        A = sp.csr_matrix(matrix, dtype=float)
        A.data[:] = 1.0
        ref = reference_fraudar(A, 1, repeats=1)
        if "skipped" not in ref:
            flagged = np.zeros(matrix.shape[0], bool)
            flagged[np.asarray(ref["blocks"][0][0], dtype=int)] = True
            out["anchor:fraudar_reference"] = (flagged, ref["seconds"])
    return out


def score_log(path: str, fmt: str, labels: str, base: dict, *, fraudar: bool = True, seed: int = 0) -> list[dict]:
    """One JSON row per detector, the ensemble and each anchor on one labelled log."""
    data = load_interactions(path, fmt)
    truth, info = load_labels(labels, data.user_ids)
    known = truth >= 0
    y = truth[known] == 1
    k = int(y.sum())
    base = {**base, "accounts": data.n_users, "ratings": data.nnz, "labelled": info["labelled"], "attackers": k,
            "timestamps": data.timestamps is not None}
    rows = []

    def row(name: str, flagged: np.ndarray, seconds: float, **extra) -> dict:
        r = {**base, "detector": name, **detection_scores(flagged[known], y), "seconds": round(seconds, 3), **extra}
        rows.append(r)
        return r

    detectors = dict(RATING_DETECTORS)
    if data.timestamps is not None:
        detectors["coordination"] = reco.coordination_scorer
    for name, det in detectors.items():
        t = time.perf_counter()
        res = det(data.matrix, timestamps=data.timestamps, seed=seed)
        row(name, res.flagged, time.perf_counter() - t)
    t = time.perf_counter()
    ens = run_ensemble(data.matrix, timestamps=data.timestamps, seed=seed)
    row("ensemble", ens.flagged, time.perf_counter() - t, members=sorted(ens.members), skipped=ens.skipped)
    if k:
        for name, (flagged, secs) in anchors(data.matrix, k, fraudar=fraudar).items():
            row(name, flagged, secs, k=k)
    return rows


def generator_cells(quick: bool, times: bool, attacks: tuple[str, ...] = ("average", "random", "bandwagon")) -> list[tuple[str, float, float, int, bool]]:
    """(attack, filler, size, seed, timed) per cell; seeds differ from the acceptance check's."""
    cells = []
    seed = 100
    fillers, sizes = ((0.03,), (0.05,)) if quick else ((0.01, 0.05), (0.05, 0.10))
    for attack in attacks:
        for f in fillers:
            for s in sizes:
                seed += 1
                cells.append((attack, f, s, seed, False))
    cells += [("none", 0.0, 0.0, 201, False), ("none", 0.0, 0.0, 202, True)]
    if times:
        cells += [("average", 0.03, 0.05, 211, True), ("bandwagon", 0.03, 0.05, 212, True)]
    return cells


def run_generator(generator: str | None, *, quick: bool, times: bool, fraudar: bool, seed: int = 0) -> list[dict]:
    """Score every cell of ``generator`` (a path, or ``builtin`` for ``benchmarks/rating_logs.py``)."""
    builtin = generator == "builtin"
    gen = Path(__file__).with_name("rating_logs.py") if builtin else (Path(generator) if generator else DEFAULT_GENERATOR)
    if not gen.exists():
        raise SystemExit(f"generator not found: {gen} (pass --generator PATH, or --generator builtin)")
    attacks = ("average", "random", "bandwagon", "segment") if builtin else ("average", "random", "bandwagon")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for attack, f, s, sd, timed in generator_cells(quick, times and not builtin, attacks):
            if builtin and timed:
                continue  # the builtin generator writes no times
            prefix = str(Path(tmp) / f"{attack}-{f}-{s}-{sd}")
            cmd = [sys.executable, str(gen), prefix, "--attack", attack, "--size", str(s), "--filler", str(f), "--seed", str(sd)]
            subprocess.run(cmd + (["--times"] if timed else []), check=True, capture_output=True, timeout=600)
            base = {"mode": "ratings-gen", "generator": "builtin" if builtin else gen.name, "cell": f"{attack}/{f}/{s}{'/times' if timed else ''}",
                    "attack": attack, "filler": f, "size": s, "gen_seed": sd, "times": timed}
            for r in score_log(prefix + ".ratings", "ratings", prefix + ".labels", base, fraudar=fraudar and attack != "none", seed=seed):
                print(json.dumps(r), flush=True)
                rows.append(r)
    return rows
