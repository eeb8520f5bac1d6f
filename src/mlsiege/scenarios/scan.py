"""``mlsiege scan``: assess a user's own model in one run, within one query budget.

The scan decides which attacks apply to the target (its kind and what its API reveals), shares
the total ``budget`` of target queries out across them, runs them through one
:class:`~mlsiege.targets.Budgeted` wrapper (so the total is enforced exactly) and keeps every
number a report needs:

* ``probe``: the target answers a sample of the user's rows (accuracy, what it reveals);
* ``evasion_score`` / ``evasion_label``: an evasion recipe per point against the API as deployed
  and against its label-only form (success rate vs queries, perturbation sizes);
* ``extraction``: an extraction recipe (fidelity vs queries, recovered rules);
* ``hardening``: what :class:`~mlsiege.targets.LabelOnly`, :class:`~mlsiege.targets.Rounded`
  and :class:`~mlsiege.targets.TopK` would change in the answers the probe saw (no extra query);
* ``poisoning``: with a trainer, how much random label flips and each poisoning recipe move the
  test accuracy (no target query).

Recipes are passed in by role (``{"evasion_label": recipe, ...}``), following the family calling
conventions of :mod:`mlsiege.checks.harnesses`. A target that raises stops the scan; what
finished is kept and ``ScanOutcome.error`` says why it stopped.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from mlsiege.attacks.evasion.units import SCALES, distance_unit
from mlsiege.errors import ConfigError, MlsiegeError, TargetError
from mlsiege.scenarios.scan_steps import (
    Tick,
    _answers_since,
    _fidelity,
    _role_api,
    _run_evasion,
    outcome_kind,
    tree_rules,
)
from mlsiege.schema import Schema
from mlsiege.targets import Budgeted, LabelOnly, Rounded, TopK

__all__ = [
    "ATTACK_ROLES",
    "ScanConfig",
    "ScanOutcome",
    "plan_budget",
    "run_scan",
    "target_outputs",
]

#: the attack roles a scan can fill with a recipe
ATTACK_ROLES = ("evasion_score", "evasion_label", "extraction", "poisoning")
_QUERY_WEIGHTS = {"evasion_score": 0.35, "evasion_label": 0.35, "extraction": 0.3}
Progress = Callable[[str], None]


@dataclass(frozen=True)
class ScanConfig:
    """How a scan spends its budget.

    Parameters
    ----------
    budget
        Total rows the target may be asked for, across every attack (>= 1).
    seed
        Seed of every random choice (point selection, splits, recipes).
    max_points
        Most rows attacked per evasion step.
    min_point_budget
        Fewest queries an evasion point gets; fewer points are attacked on a small budget.
    probe_rows
        Most rows of the user's data the probe asks the target about.
    flip_fractions
        Fractions of training labels flipped at random by the poisoning sensitivity step.
    test_fraction
        Share of the rows held out to measure the trainer's accuracy.
    scale
        The distance unit of every evasion figure (:mod:`~mlsiege.attacks.evasion.units`):
        ``std`` (each feature's standard deviation over the user's rows), ``range`` or ``raw``.
    """

    budget: int
    seed: int = 0
    max_points: int = 20
    min_point_budget: int = 20
    probe_rows: int = 200
    flip_fractions: tuple[float, ...] = (0.05, 0.1, 0.2)
    test_fraction: float = 0.3
    scale: str = "std"

    def __post_init__(self) -> None:
        if self.scale not in SCALES:
            raise ConfigError(f"--scale must be one of {', '.join(SCALES)}, got {self.scale!r}")
        if isinstance(self.budget, bool) or int(self.budget) != self.budget or self.budget < 1:
            raise ConfigError(f"--budget must be a positive number of target queries, got {self.budget!r}")
        if self.max_points < 1 or self.min_point_budget < 1 or self.probe_rows < 1:
            raise ConfigError("max_points, min_point_budget and probe_rows must be >= 1")
        if not all(0.0 < f < 1.0 for f in self.flip_fractions):
            raise ConfigError(f"flip_fractions must lie in (0, 1), got {self.flip_fractions}")
        if not 0.05 <= self.test_fraction <= 0.8:
            raise ConfigError(f"test_fraction must be in [0.05, 0.8], got {self.test_fraction}")
        object.__setattr__(self, "flip_fractions", tuple(float(f) for f in self.flip_fractions))


@dataclass
class ScanOutcome:
    """Everything a scan measured, as JSON-ready parts (findings are derived by the report)."""

    config: dict[str, Any]
    target: dict[str, Any]
    data: dict[str, Any]
    plan: dict[str, int] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)
    hardening: list[dict[str, Any]] = field(default_factory=list)
    rules: dict[str, Any] | None = None
    queries_used: int = 0
    seconds: float = 0.0
    error: str | None = None
    distance_unit: dict[str, Any] | None = None

    def step(self, name: str) -> dict[str, Any] | None:
        return next((s for s in self.steps if s["name"] == name), None)

    def to_payload(self) -> dict[str, Any]:
        """The measured part of ``report.json`` (see docs/reports.md)."""
        return {
            "config": self.config,
            "target": self.target,
            "data": self.data,
            "budget": {"total": self.config["budget"], "used": self.queries_used, "plan": self.plan},
            "steps": self.steps,
            "hardening": self.hardening,
            "rules": self.rules,
            "distance_unit": self.distance_unit,
            "seconds": self.seconds,
            "error": self.error,
        }


def target_outputs(target: Any) -> tuple[str, str]:
    """``(kind, outputs)`` of a target: e.g. ``("classifier", "probabilities")``."""
    if hasattr(target, "predict_proba"):
        return "classifier", "probabilities"
    if hasattr(target, "score"):
        return "scorer", "scores"
    if hasattr(target, "predict"):
        regressor = getattr(target, "kind", None) == "regressor" or "Regressor" in type(target).__name__
        return ("regressor", "values") if regressor else ("classifier", "labels")
    raise ConfigError("the target offers neither predict, predict_proba nor score")


def plan_budget(budget: int, roles: Sequence[str], n_rows: int, probe_rows: int = 200) -> dict[str, int]:
    """Share ``budget`` queries between the probe and the query-spending ``roles``.

    The probe takes a tenth (at most ``probe_rows`` and ``n_rows``); the rest is split
    by fixed weights (evasion 35% each, extraction 30%), renormalised over the roles that run.
    """
    probe = max(1, min(probe_rows, n_rows, budget // 10))
    rest = budget - probe
    spending = [r for r in roles if r in _QUERY_WEIGHTS]
    plan = {"probe": probe}
    total_weight = sum(_QUERY_WEIGHTS[r] for r in spending)
    for i, role in enumerate(spending):
        share = int(rest * _QUERY_WEIGHTS[role] / total_weight)
        plan[role] = share if i < len(spending) - 1 else rest - sum(plan[r] for r in spending[:-1])
    return plan


# --------------------------------------------------------------------------------- running
def run_scan(
    target: Any,
    X: np.ndarray,
    y: np.ndarray | None,
    *,
    schema: Schema,
    config: ScanConfig,
    recipes: Mapping[str, Any] | None = None,
    trainer: Any = None,
    roles: Sequence[str] | None = None,
    progress: Progress | None = None,
    tick: Tick | None = None,
) -> ScanOutcome:
    """Run the scan; see the module docstring.

    Parameters
    ----------
    target
        The model under test (any :mod:`mlsiege.targets` protocol), not yet budgeted.
    X, y
        The user's rows in attack space (``schema.encode``) and their labels (or ``None``).
    recipes
        ``{role: (recipe_name, recipe)}`` for the roles of :data:`ATTACK_ROLES` to run
        (``poisoning`` may hold a list of such pairs: each is measured).
    trainer
        An unfitted estimator for the poisoning sensitivity step (skipped when ``None``).
    roles
        Restrict the scan to these roles (campaigns run one role per task); all by default.
    progress
        Called with a short line as each step starts.
    tick
        Called as each attacked row of a per-row step finishes: ``(step, done, total)``.
    """
    started = time.perf_counter()
    say = progress or (lambda _line: None)
    recipes = dict(recipes or {})
    unknown = set(recipes) - set(ATTACK_ROLES)
    if unknown:
        raise ConfigError(f"unknown scan roles {sorted(unknown)}; known: {ATTACK_ROLES}")
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != schema.n_features or len(X) == 0:
        raise ConfigError(f"X must be a non-empty (rows, {schema.n_features}) array, got {X.shape}")
    kind, outputs = target_outputs(target)
    unit = distance_unit(config.scale, schema, X, "data")
    rng = np.random.default_rng(config.seed)
    wanted = list(roles) if roles is not None else list(ATTACK_ROLES)
    runnable = _runnable_roles(kind, outputs, target, wanted, recipes, trainer is not None and y is not None)
    # the probe sees at most half the rows, so the other half is a pool the extractor may use
    # while its fidelity is judged on the probe's rows
    plan = plan_budget(config.budget, [r for r, why in runnable.items() if why is None],
                       max(1, len(X) // 2), config.probe_rows)
    outcome = ScanOutcome(
        config=asdict(config),
        target={"kind": kind, "outputs": outputs},
        data={"rows": int(len(X)), "features": list(schema.names), "labelled": y is not None},
        plan=plan,
        distance_unit=unit.describe(),
    )
    root = Budgeted(target, config.budget, caller="mlsiege-scan")
    try:
        say(f"probe: asking the target about {plan['probe']} rows")
        probe = _probe(root, X, y, plan["probe"], rng, kind, outcome)
        for role in ("evasion_score", "evasion_label", "extraction"):
            if role not in wanted:
                continue
            if runnable.get(role):
                outcome.steps.append(_skipped(role, runnable[role]))
                continue
            name, recipe = recipes[role]
            say(f"{role}: {name} with {plan[role]} queries")
            if role == "extraction":
                outcome.steps.append(_run_extraction(role, name, recipe, root, target, X, y, probe, plan[role], schema, config))
            else:
                outcome.steps.append(_run_evasion(role, name, recipe, root, target, X, y, probe, plan[role], schema,
                                                  config, unit, tick))
        outcome.hardening = _hardening(target, probe, outcome)
        if "poisoning" in wanted:
            if runnable.get("poisoning"):
                outcome.steps.append(_skipped("poisoning", runnable["poisoning"]))
            else:
                say("poisoning: refitting the trainer on flipped and poisoned labels")
                poison = recipes.get("poisoning") or []
                poison = [poison] if isinstance(poison, tuple) else list(poison)
                outcome.steps.append(_run_poisoning(poison, trainer, X, y, schema, config, tick))
    except TargetError as exc:
        outcome.error = f"the target failed, scan stopped: {exc}"
    outcome.queries_used = int(root.queries_used)
    outcome.seconds = round(time.perf_counter() - started, 3)
    return outcome


def _runnable_roles(
    kind: str, outputs: str, target: Any, wanted: Sequence[str], recipes: Mapping[str, Any], can_poison: bool
) -> dict[str, str | None]:
    """``{role: None}`` when the role runs, else the reason it is skipped."""
    why: dict[str, str | None] = {}
    for role in wanted:
        if role == "poisoning":
            why[role] = None if can_poison else "no --trainer given (or no labels)"
        elif kind == "regressor":
            why[role] = "the target is a regressor; scan attacks need a classifier or scorer"
        elif role == "evasion_score" and outputs != "probabilities":
            why[role] = f"the API reveals {outputs}, score-based evasion needs probabilities"
        elif kind == "scorer" and not np.isfinite(getattr(target, "threshold", np.nan)):
            why[role] = "the scorer has no threshold to attack"
        elif role not in recipes:
            why[role] = "no recipe of this family is installed"
        else:
            why[role] = None
    return why


def _skipped(role: str, reason: str) -> dict[str, Any]:
    return {"name": role, "role": role, "recipe": None, "status": "skipped", "reason": reason,
            "budget": 0, "queries": 0, "metrics": {}, "curve": {}}


def _probe(root: Budgeted, X: np.ndarray, y: np.ndarray | None, n: int, rng: np.random.Generator,
           kind: str, outcome: ScanOutcome) -> dict[str, Any]:
    idx = np.sort(rng.choice(len(X), size=min(n, len(X)), replace=False))
    proba = None
    if kind == "classifier" and hasattr(root, "predict_proba"):
        proba = root.predict_proba(X[idx])
        labels = np.asarray(root.classes_)[np.argmax(proba, axis=1)]
    elif kind == "scorer":
        scores = root.score(X[idx])
        labels = (scores > float(root.threshold)).astype(int)
        proba = None
    else:
        labels = root.predict(X[idx])
    metrics: dict[str, Any] = {"rows": int(len(idx))}
    if y is not None and kind == "classifier":
        metrics["accuracy"] = float(np.mean(labels == y[idx]))
    if kind == "scorer":
        metrics["rejected_rate"] = float(np.mean(labels == 1))
    if proba is not None:
        metrics["distinct_outputs"] = int(len(np.unique(np.round(proba, 12))))
    outcome.steps.append({"name": "probe", "role": "probe", "recipe": None, "status": "succeeded",
                          "budget": int(n), "queries": int(len(idx)), "metrics": metrics, "curve": {}})
    return {"idx": idx, "labels": labels, "proba": proba}


def _run_extraction(role: str, name: str, recipe: Callable[..., Any], root: Budgeted, target: Any,
                    X: np.ndarray, y: np.ndarray | None, probe: dict[str, Any], share: int,
                    schema: Schema, config: ScanConfig) -> dict[str, Any]:
    from sklearn.base import clone
    from sklearn.tree import DecisionTreeClassifier

    from mlsiege.metrics.extraction import wilson_interval

    step: dict[str, Any] = {"name": role, "role": role, "recipe": name, "budget": int(share)}
    first, used_before = len(root.log.records), root.queries_used
    api = _role_api("extraction", root, share)
    eval_X, eval_labels = X[probe["idx"]], np.asarray(probe["labels"])
    started = time.perf_counter()
    try:
        held_out = np.ones(len(X), dtype=bool)
        held_out[probe["idx"]] = False
        res = recipe(api, schema=schema, pool_X=X[held_out] if held_out.any() else X, budget=share, seed=config.seed)
    except TargetError:
        raise
    except MlsiegeError as exc:  # a recipe's own refusal; a bug (KeyError, TypeError...) propagates
        return {**step, "status": "error", "reason": f"{name} failed: {type(exc).__name__}: {exc}",
                "queries": int(root.queries_used - used_before), "metrics": {}, "curve": {}}
    surrogate = res.artifacts.get("surrogate")
    asked, answers = _answers_since(root, first)
    fidelity = _fidelity(surrogate, eval_X, eval_labels) if surrogate is not None else None
    # fidelity per query: refit the same kind of surrogate on the first n answers (no new query)
    curve: dict[str, Any] = {"queries": [], "fidelity": []}
    if len(answers) >= 4 and len(np.unique(answers)) > 1:
        sizes = sorted({int(s) for s in np.unique(np.geomspace(4, len(answers), num=8).astype(int))})
        for size in sizes:
            if len(np.unique(answers[:size])) < 2:
                continue
            try:
                model = clone(surrogate).fit(asked[:size], answers[:size])
            except (TypeError, ValueError, AttributeError, RuntimeError):  # not a scikit-learn surrogate: a tree stands in
                model = DecisionTreeClassifier(random_state=config.seed).fit(asked[:size], answers[:size])
            curve["queries"].append(size)
            curve["fidelity"].append(_fidelity(model, eval_X, eval_labels))
    rules = res.artifacts.get("rules")
    rules_fidelity = None
    if rules is None and len(answers) >= 4 and len(np.unique(answers)) > 1:
        tree = DecisionTreeClassifier(max_depth=3, random_state=config.seed).fit(asked, answers)
        rules = tree_rules(tree, schema, kind=outcome_kind(target))
        rules_fidelity = _fidelity(tree, eval_X, eval_labels)
    elif rules is not None and hasattr(rules, "to_text"):
        rules = rules.to_text()
    elif rules is not None and not isinstance(rules, str):
        rules = "\n".join(str(r) for r in rules)
    metrics = {
        "fidelity": fidelity,
        "queries": int(root.queries_used - used_before),
        "recipe_metrics": {k: v for k, v in res.metrics.items() if isinstance(v, (int, float, str))},
        "surrogate": type(surrogate).__name__ if surrogate is not None else None,
        "rules_fidelity": rules_fidelity,
        "eval_rows": int(len(eval_labels)),
        # the probe's rows are the user's own, never in the extractor's pool (issue 19)
        "fidelity_rows": "data",
        "fidelity_ci": None if fidelity is None else [round(v, 4) for v in wilson_interval(round(fidelity * len(eval_labels)), len(eval_labels))],
    }
    return {**step, "status": res.status, "queries": metrics["queries"],
            "seconds": round(time.perf_counter() - started, 3), "metrics": metrics, "curve": curve,
            "rules": rules}


class _Replay:
    """Replays the probe's answers so the hardening wrappers can be applied without new queries."""

    def __init__(self, labels: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> None:
        self._labels, self._proba, self.classes_ = labels, proba, classes

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self._labels

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self._proba


def _hardening(target: Any, probe: dict[str, Any], outcome: ScanOutcome) -> list[dict[str, Any]]:
    """What each output-hardening wrapper would change in the answers the probe saw."""
    evade_score = (outcome.step("evasion_score") or {}).get("metrics", {}).get("success_rate")
    evade_label = (outcome.step("evasion_label") or {}).get("metrics", {}).get("success_rate")
    if evade_score is not None and evade_label is not None:
        # an API that reveals scores reveals the decision too: the label-only attack works on it
        evade_score = max(evade_score, evade_label)
    proba = probe["proba"]
    if proba is None:
        return [{"control": "as deployed", "reveals": outcome.target["outputs"], "distinct_outputs": None,
                 "saturated_rows": None, "mean_change": 0.0, "evasion_success": evade_label,
                 "changes": "nothing to hide beyond the decision; limit queries (AML.M0004) instead"}]
    classes = np.asarray(getattr(target, "classes_", np.arange(proba.shape[1])))
    replay = _Replay(np.asarray(probe["labels"]), proba, classes)
    rows = []
    for control, wrapped in (("as deployed", replay), ("LabelOnly", LabelOnly(replay)),
                             ("Rounded(decimals=1)", Rounded(replay, 1)), ("TopK(k=1)", TopK(replay, 1))):
        if hasattr(wrapped, "predict_proba"):
            out = np.asarray(wrapped.predict_proba(None), dtype=float)
            change = float(np.mean(np.abs(out - proba)))
            saturated = float(np.mean(np.isclose(out.max(axis=1), 1.0)))
            reveals, distinct, evasion = "probabilities", int(len(np.unique(np.round(out, 12)))), evade_score
            binary_topk = control.startswith("TopK") and proba.shape[1] == 2
            text = ("no information removed: with two classes the top probability gives the other"
                    if binary_topk or change == 0 else f"answers move by {change:.3g} on average; "
                    f"{saturated:.0%} of rows read as certain, giving a score-based attack no slope")
        else:
            reveals, distinct, change, saturated, evasion = "labels", int(len(classes)), None, None, evade_label
            text = "score-based attacks lose their signal; label-only attacks still work at the measured rate"
        rows.append({"control": control, "reveals": reveals, "distinct_outputs": distinct,
                     "saturated_rows": saturated, "mean_change": change, "evasion_success": evasion,
                     "changes": text})
    return rows


def _accuracy(trainer: Any, schema: Schema, X_tr: np.ndarray, y_tr: np.ndarray, X_te: np.ndarray,
              y_te: np.ndarray) -> float:
    from sklearn.base import clone
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # the user's trainer, refit on odd labels
        model = clone(trainer).fit(schema.decode(X_tr), y_tr)
    return float(np.mean(np.asarray(model.predict(schema.decode(X_te))) == y_te))


def _run_poisoning(recipes: Sequence[tuple[str, Callable[..., Any]]], trainer: Any, X: np.ndarray,
                   y: np.ndarray, schema: Schema, config: ScanConfig, tick: Tick | None = None) -> dict[str, Any]:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split

    started = time.perf_counter()
    try:
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=config.test_fraction,
                                                  random_state=config.seed, stratify=y)
    except ValueError:
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=config.test_fraction, random_state=config.seed)
    rng = np.random.default_rng(config.seed)
    step: dict[str, Any] = {"name": "poisoning", "role": "poisoning", "recipe": ", ".join(n for n, _ in recipes) or None,
                            "budget": 0, "queries": 0}
    fits = 1 + len(config.flip_fractions) + len(recipes)
    done = iter(range(1, fits + 1))

    def fitted() -> None:
        if tick is not None:
            tick("poisoning", next(done), fits)

    try:
        clean = _accuracy(trainer, schema, X_tr, y_tr, X_te, y_te)
        fitted()
        classes = np.unique(y_tr)
        flips = []
        for fraction in config.flip_fractions:
            idx = rng.choice(len(y_tr), size=max(1, int(round(fraction * len(y_tr)))), replace=False)
            y_flip = y_tr.copy()
            for i in idx:  # each chosen label becomes another class, drawn at random
                y_flip[i] = rng.choice(classes[classes != y_tr[i]])
            flips.append(_accuracy(trainer, schema, X_tr, y_flip, X_te, y_te))
            fitted()
        metrics: dict[str, Any] = {"metric": "accuracy", "clean": clean, "test_rows": int(len(y_te))}
        curve = {"fraction": list(config.flip_fractions), "flip_accuracy": flips}
        metrics["max_drop_flips"] = float(clean - min(flips))
        results = []
        for name, fn in recipes:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                res = fn(X_tr.copy(), y_tr.copy(), schema=schema, seed=config.seed)
            Xp, yp = np.asarray(res.artifacts["X_poisoned"]), np.asarray(res.artifacts["y_poisoned"])
            fraction = float(np.mean(np.asarray(res.artifacts["is_poison"], dtype=bool)))
            poisoned = _accuracy(trainer, schema, Xp, yp, X_te, y_te)
            fitted()
            results.append({"recipe": name, "fraction": fraction, "accuracy": poisoned,
                            "drop": float(clean - poisoned)})
        metrics["recipes"] = results
        curve["recipes"] = results
    except (MlsiegeError, ValueError) as exc:  # ValueError: the user's trainer refusing the data
        return {**step, "status": "error", "reason": f"poisoning sensitivity failed: {type(exc).__name__}: {exc}",
                "metrics": {}, "curve": {}}
    return {**step, "status": "succeeded", "seconds": round(time.perf_counter() - started, 3),
            "metrics": metrics, "curve": curve}
