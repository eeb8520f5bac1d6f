"""Model extraction: mlsiege vs ART 1.20.1 CopycatCNN, same victims, same query budgets.

Prints one JSON object per line (progress on stderr). Rows: ``tool``, ``dataset``, ``method``,
``knowledge`` (``schema``, ``schema+pool``, ``labeled-pool``), ``queries``, ``seeds``,
``fidelity`` (agreement with the victim on held-out rows, mean over seeds), ``accuracy``
(against the true labels), ``seconds`` (mean per run); hardening rows add ``hardening`` and the
figure that hardening moves (``max_weight_error``, ``fidelity``).

Victims:

* ``breast_cancer``: the shared setup of ``benchmarks/setups.py`` (label-only
  GradientBoostingClassifier, attacker pool = the 142 pool rows, fidelity on the 143 test rows,
  schema inferred from the 284 standardized training rows: bounds = observed min/max);
* ``registration``: :mod:`mlsiege.sim.registration`, a 3,000-benign-registration world and its
  supervised detector behind the accept/reject API (pool: 300 world rows, fidelity on 1,000
  others).

* real tables (``benchmarks/real_tables.py``, scikit-learn's bundled data): breast_cancer (the
  shared setup), wine (3 classes, gradient boosting), digits as "digit >= 5" (SVC), diabetes
  with ``sex`` as a text category (LightGBM on a DataFrame with a ``category`` column; and a
  OneHotEncoder + HistGradientBoosting Pipeline fitted on the DataFrame). Each budget has three
  rows in the same run: mlsiege's active extraction from the unlabeled pool, the *pool-trained
  random forest* anchor (the same 100-tree forest fitted on ``budget`` pool rows drawn at
  random and labelled by the victim: passive learning at the same cost) and ART's Copycat.
  Rows add ``fidelity_rows`` (``data``: held-out real rows the thief never trained on),
  ``fidelity_n`` and ``fidelity_ci`` (95% Wilson interval over those rows for the seed-mean
  fidelity). A ``schema`` row per table measures the same schema-only surrogate on real rows
  and on uniform rows of the schema's box (``fidelity_box``): what a figure without data hides.

ART anchor: ``CopycatCNN`` with a random-forest thief (the same default thief as mlsiege). The
minimal thief wrapper it needs: ART's ``ScikitlearnClassifier`` whose ``fit`` drops the
``batch_size`` / ``nb_epochs`` keywords Copycat passes (scikit-learn's ``fit`` rejects them, which
is why Copycat crashes on a scikit-learn thief out of the box). Copycat draws its queries at random
from the rows it is given: the pool (``schema+pool``) or uniform draws in the schema's box
(``schema``). ART uses NumPy's global RNG; the script seeds it per run.

Run: ``python benchmarks/extraction_vs_art.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mlsiege.attacks.extraction import (  # noqa: E402
    active_extraction_chandrasekaran2020,
    equation_solving_tramer2016,
    path_finding_tramer2016,
)
from mlsiege.attacks.extraction.synthesis import Box, box_samples, feasible  # noqa: E402
from mlsiege.metrics.extraction import wilson_interval  # noqa: E402
from mlsiege.schema import infer_schema  # noqa: E402
from mlsiege.targets import LabelOnly, Rounded, from_estimator  # noqa: E402
from real_tables import Case, cases  # noqa: E402
from setups import breast_cancer  # noqa: E402


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def emit(row: dict[str, Any]) -> None:
    print(json.dumps(row), flush=True)


def _round(v: float) -> float:
    return float(round(v, 4))


# ----------------------------------------------------------------------------- victims
def breast_cancer_victim() -> dict[str, Any]:
    s = breast_cancer()
    schema = infer_schema(pd.DataFrame(s.X_train, columns=list(s.feature_names)))
    return {
        "name": "breast_cancer", "model": s.model, "api": LabelOnly(from_estimator(s.model)), "schema": schema,
        "pool": s.X_pool, "pool_y": s.y_pool, "eval_X": s.X_test, "eval_y": s.model.predict(s.X_test),
        "true_y": s.y_test, "setup": s,
    }


def registration_victim() -> dict[str, Any]:
    from mlsiege.sim.registration import make_registrations, train_detector

    world = make_registrations(n_benign=3000, seed=0)
    detector = train_detector(world, kind="supervised", seed=0)
    rng = np.random.default_rng(1)
    order = rng.permutation(len(world.X))
    pool, ev = order[:300], order[300:1300]
    return {
        "name": "registration", "model": detector, "api": LabelOnly(detector), "schema": world.schema,
        "pool": world.X[pool], "pool_y": world.is_bot[pool].astype(int), "eval_X": world.X[ev],
        "eval_y": detector.predict(world.X[ev]), "true_y": world.is_bot[ev].astype(int),
    }


# ----------------------------------------------------------------------------- ART anchor
def art_copycat(victim: dict[str, Any], source: np.ndarray, queries: int, seed: int) -> Any:
    from art.attacks.extraction import CopycatCNN
    from art.estimators.classification.scikitlearn import ScikitlearnClassifier

    class SklearnThief(ScikitlearnClassifier):
        """The minimal wrapper: Copycat passes batch_size/nb_epochs, scikit-learn's fit refuses them."""

        def fit(self, x, y, batch_size=None, nb_epochs=None, **kwargs):  # noqa: ARG002
            return super().fit(x, y, **kwargs)

    np.random.seed(seed)  # ART draws from NumPy's global generator
    art_victim = ScikitlearnClassifier(victim["model"]) if hasattr(victim["model"], "predict_proba") else _art_labels(victim["model"])
    attack = CopycatCNN(art_victim, nb_stolen=queries, use_probability=False, batch_size_query=64)
    thief = SklearnThief(RandomForestClassifier(n_estimators=100, random_state=seed))
    return attack.extract(source.astype(np.float32), thieved_classifier=thief)


def _art_labels(model: Any) -> Any:
    """A label-only victim (the registration detector has no predict_proba) as ART wants it."""
    from art.estimators.classification import BlackBoxClassifier

    def predict(x: np.ndarray) -> np.ndarray:
        return np.eye(2)[np.asarray(model.predict(np.asarray(x, dtype=float))).astype(int)]

    return BlackBoxClassifier(predict, input_shape=(model.n_features,), nb_classes=2)


def art_predict(thief: Any, X: np.ndarray) -> np.ndarray:
    return np.argmax(thief.predict(X.astype(np.float32)), axis=1)


# ----------------------------------------------------------------------------- runs
def run_art(victim: dict[str, Any], knowledge: str, queries: int, seeds: int) -> None:
    fid, acc, secs = [], [], []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        if knowledge == "schema":
            lo, hi = victim["schema"].low, victim["schema"].high
            source = lo + rng.uniform(0, 1, (max(queries, 1000), len(lo))) * (hi - lo)
        else:
            source = victim["pool"]
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                thief = art_copycat(victim, source, queries, seed)
        except ValueError as exc:  # e.g. every random query got one label: ART cannot build its thief
            emit({"tool": "art", "dataset": victim["name"], "method": "CopycatCNN (random-forest thief, random queries)",
                  "knowledge": knowledge, "queries": queries, "seeds": seed + 1, "fidelity": None, "accuracy": None,
                  "seconds": _round(time.perf_counter() - t0), "error": f"{type(exc).__name__}: {exc}"})
            return
        secs.append(time.perf_counter() - t0)
        pred = art_predict(thief, victim["eval_X"])
        fid.append(np.mean(pred == victim["eval_y"]))
        acc.append(np.mean(pred == victim["true_y"]))
    emit({"tool": "art", "dataset": victim["name"], "method": "CopycatCNN (random-forest thief, random queries)",
          "knowledge": knowledge, "queries": queries, "seeds": seeds, "fidelity": _round(np.mean(fid)),
          "fidelity_min": _round(np.min(fid)), "accuracy": _round(np.mean(acc)), "seconds": _round(np.mean(secs))})


def run_mlsiege(victim: dict[str, Any], knowledge: str, queries: int, seeds: int, label: str, **options: Any) -> None:
    fid, acc, secs, used = [], [], [], []
    for seed in range(seeds):
        kwargs: dict[str, Any] = {}
        if knowledge != "schema":
            kwargs["pool_X"] = victim["pool"]
        if knowledge == "labeled-pool":
            kwargs["pool_y"] = victim["pool_y"]
        r = active_extraction_chandrasekaran2020(
            victim["api"], schema=victim["schema"], budget=queries, seed=seed,
            eval_X=victim["eval_X"], eval_y=victim["eval_y"], **kwargs, **options,
        )
        pred = r.artifacts["surrogate"].predict(victim["eval_X"])
        fid.append(np.mean(pred == victim["eval_y"]))
        acc.append(np.mean(pred == victim["true_y"]))
        secs.append(r.seconds)
        used.append(r.queries)
        log(f"  {victim['name']} {knowledge} {label} seed {seed}: fidelity {fid[-1]:.3f} ({r.queries} queries, {r.seconds:.1f}s)")
    emit({"tool": "mlsiege", "dataset": victim["name"], "method": f"active_extraction_chandrasekaran2020 ({label})",
          "knowledge": knowledge, "queries": int(max(used)), "seeds": seeds, "fidelity": _round(np.mean(fid)),
          "fidelity_min": _round(np.min(fid)), "accuracy": _round(np.mean(acc)), "seconds": _round(np.mean(secs))})


def run_hardening(bc: dict[str, Any], seeds: int) -> None:
    """What each output hardening costs the attacker, per method that can use scores."""
    s = bc["setup"]
    schema = bc["schema"]
    lr = LogisticRegression(max_iter=5000).fit(s.X_train, s.y_train)
    true = np.append(lr.coef_.ravel(), lr.intercept_)
    d = schema.n_features
    apis = {"none (probabilities)": from_estimator(lr), "Rounded(4)": Rounded(from_estimator(lr), 4),
            "Rounded(2)": Rounded(from_estimator(lr), 2), "LabelOnly": LabelOnly(from_estimator(lr))}
    for name, api in apis.items():
        for budget, options, label in ((d + 1, {}, "d+1 probes"), (10 * (d + 1), {"step": 0.05, "extra_queries": 9 * (d + 1) - 0}, "10(d+1) wider probes, least squares")):
            r = equation_solving_tramer2016(api, schema=schema, pool_X=s.X_pool, budget=budget, seed=0, **options)
            sur = r.artifacts["surrogate"]
            err = float(np.max(np.abs(np.append(sur.coef_.ravel(), sur.intercept_) - true))) if sur is not None else None
            fid = float(np.mean(sur.predict(s.X_test) == lr.predict(s.X_test))) if sur is not None else None
            emit({"tool": "mlsiege", "dataset": "breast_cancer", "method": f"equation_solving_tramer2016 ({label})",
                  "victim": "LogisticRegression", "knowledge": "schema+pool", "hardening": name, "queries": r.queries,
                  "seeds": 1, "max_weight_error": err, "fidelity": None if fid is None else _round(fid),
                  "status": r.status, "seconds": _round(r.seconds)})
    # path finding assumes leaf-unique scores (Tramer et al.): the first tree of this family that has them
    for leaf in range(5, 60, 5):
        tree = DecisionTreeClassifier(max_depth=4, min_samples_leaf=leaf, random_state=0).fit(s.X_train, s.y_train)
        scores = np.unique(tree.tree_.value[tree.apply(s.X_train)].reshape(len(s.X_train), -1).round(12), axis=0)
        if len(scores) == tree.get_n_leaves():
            break
    for name, api in {"none (probabilities)": from_estimator(tree), "Rounded(1)": Rounded(from_estimator(tree), 1),
                      "LabelOnly": LabelOnly(from_estimator(tree))}.items():
        r = path_finding_tramer2016(api, schema=schema, pool_X=s.X_pool, budget=5000, seed=0)
        sur = r.artifacts["surrogate"]
        fid = float(np.mean(sur.predict(s.X_test) == tree.predict(s.X_test))) if sur is not None else None
        emit({"tool": "mlsiege", "dataset": "breast_cancer", "method": "path_finding_tramer2016",
              "victim": f"DecisionTreeClassifier({tree.get_n_leaves()} leaves)", "knowledge": "schema+pool",
              "hardening": name, "queries": r.queries, "seeds": 1, "leaves": r.metrics.get("leaves"),
              "fidelity": None if fid is None else _round(fid), "status": r.status, "seconds": _round(r.seconds)})
    gb = bc["model"]
    for name, api in {"none (probabilities)": from_estimator(gb), "Rounded(1)": Rounded(from_estimator(gb), 1),
                      "LabelOnly": LabelOnly(from_estimator(gb))}.items():
        fid = []
        for seed in range(seeds):
            r = active_extraction_chandrasekaran2020(api, schema=schema, pool_X=s.X_pool, budget=50, seed=seed,
                                                     eval_X=bc["eval_X"], eval_y=bc["eval_y"])
            fid.append(r.metrics["fidelity"])
        emit({"tool": "mlsiege", "dataset": "breast_cancer", "method": "active_extraction_chandrasekaran2020 (random-forest thief)",
              "victim": "GradientBoostingClassifier", "knowledge": "schema+pool", "hardening": name, "queries": 50,
              "seeds": seeds, "fidelity": _round(np.mean(fid))})


# ----------------------------------------------------------------------------- real tables
def _ci(mean: float, n: int) -> list[float]:
    low, high = wilson_interval(int(round(mean * n)), n)
    return [_round(low), _round(high)]


def _art_blackbox(case: Case) -> Any:
    from art.estimators.classification import BlackBoxClassifier

    classes = np.unique(case.target.predict(case.X_pool))
    k = max(2, int(classes.max()) + 1)

    def predict(x: np.ndarray) -> np.ndarray:
        return np.eye(k)[np.asarray(case.target.predict(np.asarray(x, dtype=float))).astype(int)]

    return BlackBoxClassifier(predict, input_shape=(case.schema.n_features,), nb_classes=k)


def table_rows(case: Case, budgets: list[int], seeds: int) -> None:
    api = LabelOnly(case.target)
    ev_y = case.target.predict(case.X_test)
    n = len(ev_y)
    base = {"dataset": case.name, "victim": case.description, "knowledge": "schema+pool",
            "fidelity_rows": "data", "fidelity_n": n}
    for budget in budgets:
        ours, anchor, art, secs = [], [], [], []
        for seed in range(seeds):
            r = active_extraction_chandrasekaran2020(api, schema=case.schema, pool_X=case.X_pool, budget=budget, seed=seed)
            ours.append(np.mean(r.artifacts["surrogate"].predict(case.X_test) == ev_y))
            secs.append(r.seconds)
            idx = np.random.default_rng(seed).choice(len(case.X_pool), budget, replace=False)
            y_b = case.target.predict(case.X_pool[idx])
            if len(np.unique(y_b)) < 2:
                anchor.append(np.mean(ev_y == y_b[0]))
            else:
                rf = RandomForestClassifier(n_estimators=100, random_state=seed).fit(case.X_pool[idx], y_b)
                anchor.append(np.mean(rf.predict(case.X_test) == ev_y))
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    from art.attacks.extraction import CopycatCNN
                    from art.estimators.classification.scikitlearn import ScikitlearnClassifier

                    class SklearnThief(ScikitlearnClassifier):
                        def fit(self, x, y, batch_size=None, nb_epochs=None, **kwargs):  # noqa: ARG002
                            return super().fit(x, y, **kwargs)

                    np.random.seed(seed)
                    copy = CopycatCNN(_art_blackbox(case), nb_stolen=budget, use_probability=False, batch_size_query=64)
                    thief = copy.extract(case.X_pool.astype(np.float32),
                                         thieved_classifier=SklearnThief(RandomForestClassifier(n_estimators=100, random_state=seed)))
                art.append(np.mean(art_predict(thief, case.X_test) == ev_y))
            except ValueError as exc:  # one class among the random queries: ART cannot fit its thief
                log(f"  art {case.name} {budget}: {exc}")
        for tool, method, fids in (("mlsiege", "active_extraction_chandrasekaran2020 (random-forest thief)", ours),
                                   ("anchor", "pool-trained random forest (budget random pool rows)", anchor),
                                   ("art", "CopycatCNN (random-forest thief, random pool rows)", art)):
            if not fids:
                continue
            row = {"tool": tool, **base, "method": method, "queries": budget, "seeds": len(fids),
                   "fidelity": _round(np.mean(fids)), "fidelity_min": _round(np.min(fids)), "fidelity_ci": _ci(np.mean(fids), n)}
            if tool == "mlsiege":
                row["seconds"] = _round(np.mean(secs))
                row["vs_anchor"] = _round(np.mean(ours) - np.mean(anchor))
            emit(row)
        log(f"  {case.name} {budget}: mlsiege {np.mean(ours):.3f} anchor {np.mean(anchor):.3f} art {np.mean(art) if art else float('nan'):.3f}")
    whole = RandomForestClassifier(n_estimators=100, random_state=0).fit(case.X_pool, case.target.predict(case.X_pool))
    fid = float(np.mean(whole.predict(case.X_test) == ev_y))
    emit({"tool": "anchor", **base, "method": "pool-trained random forest (whole pool)", "queries": len(case.X_pool),
          "seeds": 1, "fidelity": _round(fid), "fidelity_ci": _ci(fid, n)})


def box_vs_data(case: Case, budget: int, seeds: int) -> None:
    """The same schema-only surrogate measured on real rows and on uniform rows of the box."""
    api = LabelOnly(case.target)
    ev_y = case.target.predict(case.X_test)
    data, box, secs = [], [], []
    for seed in range(seeds):
        r = active_extraction_chandrasekaran2020(api, schema=case.schema, budget=budget, seed=seed)
        sur = r.artifacts["surrogate"]
        data.append(np.mean(sur.predict(case.X_test) == ev_y))
        B = feasible(case.schema, box_samples(case.schema, Box.of(case.schema), 500, np.random.default_rng(10_000 + seed)))
        box.append(np.mean(sur.predict(B) == case.target.predict(B)))
        secs.append(r.seconds)
    majority = float(np.unique(ev_y, return_counts=True)[1].max() / len(ev_y))
    emit({"tool": "mlsiege", "dataset": case.name, "victim": case.description, "knowledge": "schema",
          "method": "active_extraction_chandrasekaran2020 (random-forest thief)", "queries": budget, "seeds": seeds,
          "fidelity": _round(np.mean(data)), "fidelity_rows": "data", "fidelity_n": len(ev_y),
          "fidelity_ci": _ci(np.mean(data), len(ev_y)), "fidelity_box": _round(np.mean(box)), "box_rows": 500,
          "constant_copy": _round(majority), "seconds": _round(np.mean(secs))})
    log(f"  {case.name} schema-only {budget}: data {np.mean(data):.3f} box {np.mean(box):.3f} (constant {majority:.3f})")


def bc_case() -> Case:
    s = breast_cancer()
    schema = infer_schema(pd.DataFrame(s.X_train, columns=list(s.feature_names)))
    keep = schema.valid_mask(s.X_pool)  # the issue-4 schema is the training rows' range
    return Case("breast_cancer", s.model, from_estimator(s.model), schema, s.X_train, s.X_pool[keep], s.y_pool[keep],
                s.X_test, s.y_test, "breast_cancer shared setup, GradientBoostingClassifier")


def run_tables(quick: bool) -> None:
    seeds = 3 if quick else 5
    for case in [bc_case(), *cases()]:
        log(f"{case.name}: active extraction vs pool-trained forest vs ART")
        grid = (20, 80) if quick else (10, 20, 40, 80, 160)
        table_rows(case, [b for b in grid if b < len(case.X_pool)], seeds)
        if case.name in ("wine", "digits_binary") or not quick:
            box_vs_data(case, 300, 1 if quick else 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer seeds and budgets on the rows the acceptance does not check")
    parser.add_argument("--dataset", choices=("all", "issue4", "tables"), default=None,
                        help="issue4: breast_cancer and registration rows; tables: the real-table cases "
                             "(default: all, or issue4 with --quick, so the quick run stays the acceptance's)")
    args = parser.parse_args()
    if args.dataset is None:
        args.dataset = "issue4" if args.quick else "all"
    if args.dataset in ("all", "issue4"):
        run_issue4(args.quick)
    if args.dataset in ("all", "tables"):
        run_tables(args.quick)


def run_issue4(quick: bool) -> None:
    seeds = 5
    slow_seeds = 3 if quick else 5
    bc = breast_cancer_victim()
    log("breast_cancer: ART CopycatCNN")
    run_art(bc, "schema+pool", 50, seeds)
    run_art(bc, "schema+pool", 142, seeds)
    run_art(bc, "schema", 500, seeds)
    log("breast_cancer: mlsiege")
    run_mlsiege(bc, "schema+pool", 50, seeds, "random-forest thief")
    if not quick:  # any scikit-learn classifier can be the thief; this one is slower
        gb_thief = {"thief": GradientBoostingClassifier(random_state=0), "selector": RandomForestClassifier(n_estimators=100)}
        run_mlsiege(bc, "schema+pool", 50, seeds, "gradient-boosting thief, forest selector", **gb_thief)
    run_mlsiege(bc, "labeled-pool", 50, slow_seeds, "random-forest thief")
    run_mlsiege(bc, "schema", 500, slow_seeds, "random-forest thief")
    log("breast_cancer: output hardening")
    run_hardening(bc, 2 if quick else 5)
    log("registration: ART and mlsiege")
    reg = registration_victim()
    run_art(reg, "schema+pool", 50, seeds)
    run_art(reg, "schema", 500, seeds)
    run_mlsiege(reg, "schema+pool", 50, slow_seeds, "random-forest thief")
    run_mlsiege(reg, "schema", 500, 1 if quick else 5, "random-forest thief")


if __name__ == "__main__":
    main()
