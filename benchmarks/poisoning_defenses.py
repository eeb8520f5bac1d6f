"""Data-stage defenses against poisoning: mlsiege vs ART's ProvenanceDefense and RONIDefense.

Two datasets, one JSON object per line on stdout (progress on stderr):

* ``registration``: a synthetic event-registration world (``mlsiege.sim.registration``, 12
  sources) whose accepted registrations feed a downstream no-show model (label ``attended``).
  A 13th source, ``data_broker_feed``, is benign-looking and entirely phony: its records are 5%
  of all records, drawn by the attacker's copula generator from the registrants the no-show
  model is surest will attend, labelled "did not attend", and kept only if the registration
  detector (trained on the known bot classes) accepts them. A profile row says how alike they
  are to benign traffic.
* ``breast_cancer``: the shared setup (``benchmarks/setups.py``) with 10% of the 284 training
  labels flipped at random; the 142-row pool is the trusted set RONI needs.

Precision, recall and ``benign_dropped`` are pooled over records and seeds (a source-level
defense flags all records of a source); downstream metrics (AUC on clean held-out rows) are
averaged over seeds; ``seconds`` is the mean defense time per seed. ART's defenses refit once
per record (RONI) or twice per source (provenance), so ``--quick`` runs them on the first seed
only (each row's ``seeds`` says how many), and RONI on the registration data always judges a
stratified subsample of records. Both RONIs (ART's and mlsiege's) use Gaussian naive Bayes, the
learner family of the spam filter RONI was built for; both provenance filters use the same
logistic regression and the same AUC on the same trusted rows.

    python benchmarks/poisoning_defenses.py --quick
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections import defaultdict

import numpy as np

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))

from sklearn.ensemble import GradientBoostingClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.model_selection import cross_val_predict  # noqa: E402
from sklearn.naive_bayes import GaussianNB  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import FunctionTransformer, StandardScaler  # noqa: E402

from mlsiege.attacks.poisoning.generator import PhonyGenerator  # noqa: E402
from mlsiege.defenses import data as dd  # noqa: E402
from mlsiege.metrics.poisoning import detection, downstream_metric  # noqa: E402
from setups import breast_cancer  # noqa: E402

warnings.filterwarnings("ignore")
PHONY = "data_broker_feed"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


class Pool:
    """Pooled detection counts and averaged metrics over seeds for one (tool, defense) row."""

    def __init__(self):
        self.flagged, self.truth, self.clean, self.poisoned, self.defended, self.seconds = [], [], [], [], [], []
        self.extra = defaultdict(list)

    def add(self, flagged, truth, clean, poisoned, defended, seconds, **extra):
        self.flagged.append(np.asarray(flagged, bool))
        self.truth.append(np.asarray(truth, bool))
        self.clean.append(clean)
        self.poisoned.append(poisoned)
        self.defended.append(defended)
        self.seconds.append(seconds)
        for k, v in extra.items():
            self.extra[k].append(v)

    def row(self, **keys):
        d = detection(np.concatenate(self.flagged), np.concatenate(self.truth))
        out = {**keys, "seeds": len(self.clean), "precision": d["precision"], "recall": d["recall"], "f1": d["f1"],
               "benign_dropped": d["benign_dropped"],
               "downstream_metric_clean": float(np.mean(self.clean)),
               "downstream_metric_poisoned": float(np.mean(self.poisoned)),
               "downstream_metric_defended": float(np.mean(self.defended)),
               "seconds": float(np.mean(self.seconds))}
        for k, v in self.extra.items():
            out[k] = v[0] if isinstance(v[0], str) else float(np.mean(v))
        return out


def art_classifier(model):
    from art.estimators.classification import SklearnClassifier

    return SklearnClassifier(model=model)


def art_auc(labels, probs):
    """AUC for ART's performance_diff (one-hot labels, probability outputs): the metric ours uses."""
    return roc_auc_score(np.argmax(labels, axis=1), np.asarray(probs)[:, 1])


def art_accuracy(labels, probs):
    return float(np.mean(np.argmax(labels, axis=1) == np.argmax(probs, axis=1)))


def onehot(labels, classes=None):
    classes = np.unique(labels) if classes is None else classes
    return (np.asarray(labels)[:, None] == np.asarray(classes)[None, :]).astype(float)


# ---------------------------------------------------------------------------- registration
def registration(seeds, quick, pools, profile):
    art_seeds = seeds[:1] if quick else seeds
    for seed in seeds:
        registration_seed(seed, quick, pools, profile, art_seeds)


def registration_seed(seed, quick, pools, profile, art_seeds):
    from mlsiege.sim.registration import make_registrations, train_detector
    from mlsiege.sim.registration_detector import featurize

    n_benign = 2500 if quick else 10000
    t0 = time.perf_counter()
    w = make_registrations(n_benign=n_benign, seed=seed)
    det = train_detector(w, kind="both", seed=seed)
    accepted = det.predict(w.X) == 0
    X, y, src = w.X[accepted], w.attended[accepted], w.source[accepted]
    F = featurize(w.schema)

    def model():
        return make_pipeline(FunctionTransformer(F), StandardScaler(), LogisticRegression(max_iter=1000))

    # the attacker: imitates the registrants a no-show model is surest will attend
    p_attend = model().fit(X, y).predict_proba(X)[:, 1]
    reference = X[p_attend >= np.quantile(p_attend, 0.85)]
    k = int(np.ceil(0.05 * len(X) / 0.95))
    phony = PhonyGenerator(w.schema, reference).sample(k, seed, accept=lambda Z: det.predict(Z) == 0)
    Xp = np.vstack([X, phony])
    yp = np.r_[y, np.zeros(len(phony), dtype=y.dtype)]
    sp = np.r_[src, np.full(len(phony), PHONY)]
    truth = np.r_[np.zeros(len(X), bool), np.ones(len(phony), bool)]
    val, test = w.sample(1500, "benign", seed=1000 + seed), w.sample(3000, "benign", seed=2000 + seed)
    Xv, yv = w.encode(val), val["attended"].to_numpy()
    Xt, yt = w.encode(test), test["attended"].to_numpy()

    def auc(rows):
        return downstream_metric(model().fit(Xp[rows], yp[rows]), Xt, yt, "auc")

    clean, poisoned = auc(~truth), auc(np.ones(len(Xp), bool))
    # how alike: detector acceptance, detector-score percentile, a two-sample classifier's AUC
    ben_scores = det.score(X)
    Z = np.vstack([X, phony])
    dom = cross_val_predict(model(), Z, truth, cv=5, method="predict_proba")[:, 1]
    profile["phony_accepted_by_detector"].append(float((det.predict(phony) == 0).mean()))
    profile["benign_accepted_by_detector"].append(float(accepted[~w.is_bot].mean()))
    profile["phony_score_percentile_among_benign"].append(float(np.mean(det.score(phony)[:, None] > ben_scores[None, :])))
    profile["two_sample_auc_phony_vs_benign"].append(float(roc_auc_score(truth, dom)))
    profile["sources"].append(len(np.unique(sp)))
    profile["phony_share"].append(float(truth.mean()))
    log(f"registration seed {seed}: {len(Xp)} records, {len(phony)} phony, AUC clean {clean:.4f} poisoned {poisoned:.4f} ({time.perf_counter() - t0:.0f}s)")

    meta = {"source": sp}
    Fp = F(Xp)
    runs = {
        ("provenance_filter_baracaldo2017", "source"): lambda: dd.provenance_filter_baracaldo2017(
            Xp, yp, meta, seed=seed, model=model(), X_val=Xv, y_val=yv),
        ("roni_nelson2008[unit=source]", "source"): lambda: dd.roni_nelson2008(
            Xp, yp, meta, seed=seed, unit="source", model=model(), X_val=Xv, y_val=yv),
        ("knn_label_consistency_peri2020", "record"): lambda: dd.knn_label_consistency_peri2020(Fp, yp, None, seed=seed),
        ("spectral_signatures_tran2018", "record"): lambda: dd.spectral_signatures_tran2018(Fp, yp, None, seed=seed),
        ("outlier_screen_mahalanobis", "record"): lambda: dd.outlier_screen_mahalanobis(Fp, yp, None, seed=seed),
    }
    for (name, level), run in runs.items():
        if quick and "unit=source" in name and seed not in art_seeds:
            continue
        t = time.perf_counter()
        res = run()
        secs = time.perf_counter() - t
        pools[("mlsiege", "registration", name, level)].add(~res.keep_mask, truth, clean, poisoned, auc(res.keep_mask), secs)

    if seed not in art_seeds:
        return
    # ART ProvenanceDefense: same model, same trusted rows, same AUC metric, sources one-hot
    from art.defences.detector.poison import ProvenanceDefense, RONIDefense

    classes = np.unique(sp)
    t = time.perf_counter()
    pd_art = ProvenanceDefense(art_classifier(make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))),
                               Fp, onehot(yp, [0, 1]), onehot(sp, classes), x_val=F(Xv), y_val=onehot(yv, [0, 1]),
                               eps=0.005, perf_func=art_auc)
    _, clean_list = pd_art.detect_poison()
    secs = time.perf_counter() - t
    keep = np.asarray(clean_list, dtype=bool)
    pools[("art", "registration", "ProvenanceDefense", "source")].add(~keep, truth, clean, poisoned, auc(keep), secs)

    if seed not in art_seeds[:1]:
        return
    # ART RONIDefense per record: one refit per record, so on a stratified subsample
    rng = np.random.default_rng(seed)
    n_sub = 100 if quick else 400
    sub = np.r_[rng.choice(np.flatnonzero(~truth), n_sub - n_sub // 20, replace=False),
                rng.choice(np.flatnonzero(truth), n_sub // 20, replace=False)]
    np.random.seed(seed)  # ART draws its quiz and calibration splits from numpy's global RNG
    t = time.perf_counter()
    roni = RONIDefense(art_classifier(GaussianNB()),
                       Fp[sub], onehot(yp[sub], [0, 1]), F(Xv)[:300], onehot(yv[:300], [0, 1]), calibrated=False, eps=0.01, perf_func=art_accuracy)
    _, clean_list = roni.detect_poison()
    secs = time.perf_counter() - t
    keep = np.ones(len(Xp), bool)
    keep[sub] = np.asarray(clean_list, dtype=bool)
    pools[("art", "registration", "RONIDefense[subsample]", "record")].add(
        ~keep[sub], truth[sub], clean, poisoned, auc(keep), secs, records_judged=float(len(sub)))


# ---------------------------------------------------------------------------- breast cancer
def label_flips(seeds, quick, pools):
    from art.defences.detector.poison import RONIDefense

    s = breast_cancer()
    X, y, Xv, yv, Xt, yt = s.X_train, s.y_train, s.X_pool, s.y_pool, s.X_test, s.y_test

    def auc(Xa, ya):
        return downstream_metric(GradientBoostingClassifier(random_state=0).fit(Xa, ya), Xt, yt, "auc")

    clean = auc(X, y)
    for seed in seeds:
        rng = np.random.default_rng(seed)
        idx = rng.choice(len(y), round(0.1 * len(y)), replace=False)
        yp = y.copy()
        yp[idx] = 1 - yp[idx]
        truth = np.zeros(len(y), bool)
        truth[idx] = True
        poisoned = auc(X, yp)
        runs = [
            (dd.cv_label_filter_brodley1999, {}),
            (dd.knn_label_consistency_peri2020, {}),
            (dd.roni_nelson2008, {"X_val": Xv, "y_val": yv}),
            (dd.spectral_signatures_tran2018, {"eps": 0.1}),
        ]
        for defense, kwargs in runs:
            name = defense.__name__
            t = time.perf_counter()
            res = defense(X, yp, None, seed=seed, **kwargs)
            secs = time.perf_counter() - t
            k = res.keep_mask
            pools[("mlsiege", "breast_cancer", name, "record")].add(~k, truth, clean, poisoned, auc(X[k], yp[k]), secs)
        log(f"breast_cancer seed {seed}: AUC clean {clean:.4f} poisoned {poisoned:.4f}")
        if quick and seed != seeds[0]:
            continue
        np.random.seed(seed)
        t = time.perf_counter()
        roni = RONIDefense(art_classifier(GaussianNB()), X, onehot(yp, [0, 1]), Xv, onehot(yv, [0, 1]),
                           calibrated=False, eps=0.01, perf_func=art_accuracy)
        _, clean_list = roni.detect_poison()
        secs = time.perf_counter() - t
        k = np.asarray(clean_list, dtype=bool)
        pools[("art", "breast_cancer", "RONIDefense", "record")].add(~k, truth, clean, poisoned, auc(X[k], yp[k]), secs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="2500 benign registrants; ART anchors and source-level RONI on the first seed only")
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    seeds = list(range(args.seeds))
    pools = defaultdict(Pool)
    profile = defaultdict(list)
    registration(seeds, args.quick, pools, profile)
    label_flips(seeds, args.quick, pools)
    attacks = {"registration": "phony_feed_injection", "breast_cancer": "label_flip_random_10pct"}
    for (tool, dataset, defense, level), pool in pools.items():
        print(json.dumps(pool.row(tool=tool, dataset=dataset, defense=defense, attack=attacks[dataset], level=level)), flush=True)
    print(json.dumps({"row": "attack_profile", "dataset": "registration", "attack": attacks["registration"], "seeds": len(seeds),
                      **{k: float(np.mean(v)) for k, v in profile.items()}}), flush=True)


if __name__ == "__main__":
    main()
