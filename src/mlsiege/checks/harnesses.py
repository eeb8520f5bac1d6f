"""Tiny problems, one per family, on which the conformance checks run a component.

The calling convention of each family is fixed here; a recipe that follows it passes through
the same checks as every other recipe of its family.

* ``evasion``: ``recipe(target, X, *, schema, pool_X, pool_y, budget, seed)`` ->
  :class:`AttackResult` with ``artifacts["adversarial"]`` (NaN rows where a point failed) and
  ``artifacts["success"]``; ``budget`` is per point, ``target`` a :class:`Budgeted`.
* ``extraction``: ``recipe(target, *, schema, pool_X, budget, seed)`` -> :class:`AttackResult`
  with ``artifacts["surrogate"]`` and ``artifacts["queried"]`` (the rows it sent).
* ``poisoning``: ``recipe(X, y, *, schema, seed)`` -> :class:`AttackResult` with
  ``artifacts["X_poisoned"]``, ``artifacts["y_poisoned"]`` and ``artifacts["is_poison"]``.
* ``data_defense``: ``defense(X, y, meta, *, seed)`` -> :class:`DefenseResult` over records.
* ``reco_attack`` / ``reco_defense``: see :mod:`mlsiege.checks.reco`.

Besides the shared checks, each family has one check that the component *does something* on
its tiny problem (evasion succeeds on a point, the extracted surrogate beats the majority
class, poisoning hurts the retrained model, a defense flags a poisoned record): a recipe that
returns a well-formed result and did nothing fails it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlsiege.checks.common import CountingTarget, Harness, needs
from mlsiege.errors import DataValidationError
from mlsiege.results import AttackResult, DefenseResult
from mlsiege.schema import Constraint, Feature, Schema

__all__ = [
    "check_defense_flags_poison",
    "check_evasion_succeeds",
    "check_extraction_beats_majority",
    "check_poisoning_moves_model",
    "data_defense_harness",
    "evasion_harness",
    "extraction_harness",
    "poisoning_harness",
    "tiny_schema",
    "tiny_world",
]


def tiny_schema() -> Schema:
    """Four features of every kind the checks care about, and one linear relation."""
    return Schema(
        [
            Feature("x0", "real", 0.0, 1.0),
            Feature("x1", "real", 0.0, 1.0),
            Feature("n", "integer", 0, 10),
            Feature("site", "categorical", levels=("a", "b", "c"), mutability="immutable"),
        ],
        [Constraint("x0 + x1 <= 1.6", name="budget")],
    )


def _label(X: np.ndarray) -> np.ndarray:
    return (X[:, 0] + 0.5 * X[:, 1] + 0.02 * X[:, 2] > 0.8).astype(int)


def _proba(X: np.ndarray) -> np.ndarray:
    p = 1.0 / (1.0 + np.exp(-8.0 * (X[:, 0] + 0.5 * X[:, 1] + 0.02 * X[:, 2] - 0.8)))
    return np.column_stack([1 - p, p])


def tiny_world(seed: int = 0, n: int = 120) -> dict[str, Any]:
    """Valid rows, their labels under the tiny target, and a source column for defenses."""
    rng = np.random.default_rng(seed)
    schema = tiny_schema()
    X = np.column_stack([rng.uniform(0, 1, n), rng.uniform(0, 0.6, n), rng.integers(0, 11, n), rng.integers(0, 3, n)]).astype(float)
    X = schema.project(X)
    y = _label(X)
    return {"X": X, "y": y, "schema": schema}


def _target() -> CountingTarget:
    return CountingTarget(_label, "classifier", proba=_proba)


def _label_only() -> CountingTarget:
    return CountingTarget(_label, "classifier")


def evasion_harness() -> Harness:
    world = tiny_world()
    X, y = world["X"], world["y"]
    attack_idx = np.flatnonzero(y == 1)[:4]
    pool_idx = np.setdiff1d(np.arange(len(X)), attack_idx)[:60]

    def data() -> dict[str, Any]:
        return {"X": X[attack_idx].copy(), "pool_X": X[pool_idx].copy(), "pool_y": y[pool_idx].copy()}

    def run(recipe: Any, target: Any, d: dict[str, Any], seed: int) -> Any:
        return recipe(target, d["X"], schema=world["schema"], pool_X=d["pool_X"], pool_y=d["pool_y"], budget=40, seed=seed)

    def produced(result: Any, d: dict[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
        ok = np.asarray(result.artifacts["success"], dtype=bool)
        return np.asarray(result.artifacts["adversarial"])[ok], d["X"][ok]

    # 4 points x 40 per point = 160 > 120: the total budget runs out mid-attack on purpose
    return Harness("evasion", run, data, _target, _label_only, budget=120, schema=world["schema"], produced=produced,
                   extra={"checks": (check_evasion_succeeds,)})


def _tiny_tree() -> Any:
    """A depth-2 tree on the tiny world: the target of recipes that need leaf-identifying answers."""
    from sklearn.tree import DecisionTreeClassifier

    world = tiny_world(4, n=400)
    return DecisionTreeClassifier(max_depth=2, random_state=0).fit(world["X"], world["y"])


def extraction_harness() -> Harness:
    world = tiny_world(1)

    def data() -> dict[str, Any]:
        return {"pool_X": world["X"][:40].copy()}

    def run(recipe: Any, target: Any, d: dict[str, Any], seed: int) -> Any:
        return recipe(target, schema=world["schema"], pool_X=d["pool_X"], budget=60, seed=seed)

    def produced(result: Any, d: dict[str, Any]) -> tuple[np.ndarray, None] | None:
        queried = result.artifacts.get("queried")
        return None if queried is None else (np.asarray(queried), None)

    return Harness("extraction", run, data, _target, _label_only, budget=60, schema=world["schema"], produced=produced,
                   extra={"checks": (check_extraction_beats_majority,)})


def poisoning_harness() -> Harness:
    world = tiny_world(2)

    def data() -> dict[str, Any]:
        return {"X": world["X"].copy(), "y": world["y"].copy()}

    def run(recipe: Any, target: Any, d: dict[str, Any], seed: int) -> Any:
        return recipe(d["X"], d["y"], schema=world["schema"], seed=seed)

    def produced(result: Any, d: dict[str, Any]) -> tuple[np.ndarray, None]:
        return np.asarray(result.artifacts["X_poisoned"]), None

    return Harness("poisoning", run, data, None, schema=world["schema"], produced=produced,
                   extra={"checks": (check_poisoning_moves_model,)})


def data_defense_harness() -> Harness:
    """160 clean records from eight sources plus a poisoned batch of 16 from a ninth source.

    Every poisoned record carries the label 1 in the class-0 region: six are copies of clean
    rows (label flipped), ten also take an extreme ``n``. Label filters, outlier screens,
    spectral signatures and provenance each have something to find.
    """
    world = tiny_world(3, n=160)
    rng = np.random.default_rng(3)
    X, y = world["X"].copy(), world["y"].copy()
    n_in, n_out = 6, 10
    inliers = X[rng.choice(np.flatnonzero(y == 0), n_in, replace=False)]  # copies, label flipped
    outliers = np.column_stack([rng.uniform(0.0, 0.15, n_out), rng.uniform(0.0, 0.1, n_out),
                                np.full(n_out, 10.0), rng.integers(0, 3, n_out)]).astype(float)
    P = np.vstack([inliers, outliers])
    n_poison = len(P)
    X = np.vstack([X, P])
    y = np.concatenate([y, np.ones(n_poison, dtype=y.dtype)])
    is_poison = np.r_[np.zeros(len(world["y"]), bool), np.ones(n_poison, bool)]
    order = rng.permutation(len(y))
    X, y, is_poison = X[order], y[order], is_poison[order]
    source = np.where(is_poison, "s8", rng.integers(0, 8, len(y)).astype(str).astype(object))
    meta = pd.DataFrame({"source": source.astype(str), "batch": np.where(is_poison, 4, rng.integers(0, 4, len(y)))})

    def data() -> dict[str, Any]:
        return {"X": X.copy(), "y": y.copy(), "meta": meta.copy()}

    def run(defense: Any, target: Any, d: dict[str, Any], seed: int) -> Any:
        return defense(d["X"], d["y"], d["meta"], seed=seed)

    return Harness("data_defense", run, data, None, schema=world["schema"], result_type=DefenseResult,
                   extra={"checks": (check_defense_flags_poison,), "is_poison": is_poison})


def check_evasion_succeeds(component: Any, harness: Harness) -> None:
    """On the tiny problem at least one point is evaded: the target gives its row another label."""
    _, target = harness.target()
    d = harness.data()
    result = harness.run(component, target, d, 0)
    name = component.__name__
    assert isinstance(result, AttackResult), f"{name} returned {type(result).__name__}, not AttackResult"
    ok = np.asarray(result.artifacts.get("success", ()), dtype=bool)
    adv = np.asarray(result.artifacts.get("adversarial", ()), dtype=float)
    assert ok.shape == (len(d["X"]),) and adv.shape == d["X"].shape, (
        f"{name} returned success {ok.shape} and adversarial {adv.shape} for {len(d['X'])} points")
    assert ok.any(), f"{name} evaded none of the {len(ok)} points of the tiny problem (success rate 0)"
    same = _label(adv[ok]) == _label(d["X"][ok])
    assert not same.any(), f"{name} claims {int(ok.sum())} evasions but the target keeps the label of {int(same.sum())}"


def check_extraction_beats_majority(component: Any, harness: Harness) -> None:
    """The surrogate agrees with the target on fresh rows more often than always saying the majority class."""
    from mlsiege.targets import Budgeted

    name = component.__name__
    fresh = tiny_world(9, n=400)["X"]
    if "leaves" in needs(component):  # a leaf-mapping recipe is judged on a tree, with room to map it
        tree = _tiny_tree()
        raw = CountingTarget(tree.predict, "classifier", proba=tree.predict_proba)
        d = harness.data()
        result = component(Budgeted(raw, 600), schema=tiny_schema(), pool_X=d["pool_X"], budget=600, seed=0)
        truth = tree.predict(fresh)
    else:
        _, target = harness.target()
        result = harness.run(component, target, harness.data(), 0)
        truth = _label(fresh)
    assert isinstance(result, AttackResult), f"{name} returned {type(result).__name__}, not AttackResult"
    surrogate = result.artifacts.get("surrogate")
    assert surrogate is not None and hasattr(surrogate, "predict"), f"{name} returned no surrogate with predict()"
    fidelity = float(np.mean(np.asarray(surrogate.predict(fresh)).ravel() == truth))
    majority = float(max(truth.mean(), 1 - truth.mean()))
    assert fidelity > majority, (
        f"{name}'s surrogate agrees with the target on {fidelity:.0%} of 400 fresh rows, "
        f"no better than the majority class ({majority:.0%})")


def check_poisoning_moves_model(component: Any, harness: Harness) -> None:
    """Retraining on the poisoned set moves the model on fresh rows.

    Two classes: the mean change of the default model's class-1 probability over 400 fresh
    rows is at least 0.005. One class (the training window of an anomaly detector): the known
    anomalies' mean Mahalanobis distance under a Gaussian fitted to the window falls.
    """
    from sklearn.covariance import EmpiricalCovariance

    from mlsiege.training import default_model

    d = harness.data()
    result = harness.run(component, None, d, 0)
    name = component.__name__
    assert isinstance(result, AttackResult), f"{name} returned {type(result).__name__}, not AttackResult"
    Xp = np.asarray(result.artifacts.get("X_poisoned", d["X"]), dtype=float)
    yp = np.asarray(result.artifacts.get("y_poisoned", d["y"]))
    if len(np.unique(yp)) >= 2:
        fresh = tiny_world(8, n=400)["X"]
        p_clean = default_model(0).fit(d["X"], d["y"]).predict_proba(fresh)[:, 1]
        p_poisoned = default_model(0).fit(Xp, yp).predict_proba(fresh)[:, 1]
        moved = float(np.mean(np.abs(p_poisoned - p_clean)))
        assert moved >= 0.005, (
            f"{name} left the retrained model in place: its class-1 probability on 400 fresh rows moved by "
            f"{moved:.4f} on average (at least 0.005 expected)")
        return
    benign, anomalies = d["X"][d["y"] == 0], d["X"][d["y"] != 0]
    before = EmpiricalCovariance().fit(benign).mahalanobis(anomalies).mean()
    after = EmpiricalCovariance().fit(Xp).mahalanobis(anomalies).mean()
    assert after < before, (
        f"{name} did not drag the detector's normal toward the anomalies: their mean Mahalanobis distance "
        f"went from {before:.3g} to {after:.3g}")


def check_defense_flags_poison(component: Any, harness: Harness) -> None:
    """The defense catches at least one poisoned record of the planted batch (recall > 0).

    Caught means flagged by its own rule, or scored above the threshold that flags 5% of the
    clean records. When neither holds, the batch is given corrupted (one NaN per record) as a
    second chance: a pure validation defense catches that one. A defense that declares
    ``needs = ("trusted_rows",)`` (it judges records against trusted data, as RONI does) is
    given 80 clean rows as ``X_val``/``y_val``.
    """
    is_poison = harness.extra["is_poison"]
    name = component.__name__
    options: dict[str, Any] = {}
    if "trusted_rows" in needs(component):
        trusted = tiny_world(10, n=80)
        options = {"X_val": trusted["X"], "y_val": trusted["y"]}

    def caught(d: dict[str, Any]) -> bool:
        result = component(d["X"], d["y"], d["meta"], seed=0, **options)
        assert isinstance(result, DefenseResult), f"{name} returned {type(result).__name__}, not DefenseResult"
        flagged = ~np.asarray(result.keep_mask, dtype=bool)
        scores = np.nan_to_num(np.asarray(result.scores, dtype=float), nan=-np.inf)
        assert flagged.shape == scores.shape == is_poison.shape, f"{name} returned {flagged.shape} flags for {len(is_poison)} records"
        threshold = np.quantile(scores[~is_poison], 0.95)
        return bool(flagged[is_poison].any() or (scores[is_poison] > threshold).any())

    if caught(harness.data()):
        return
    corrupted = harness.data()
    corrupted["X"][is_poison, 0] = np.nan
    try:
        second = caught(corrupted)
    except DataValidationError:
        second = False
    assert second, (
        f"{name} caught none of the {int(is_poison.sum())} poisoned records (recall 0): it flagged none and "
        "scored none above 5% of the clean records, nor did it catch them once corrupted")
