"""The per-row steps of a scan: the API each role attacks, and the evasion step.

Split from :mod:`mlsiege.scenarios.scan` to keep modules small; the scan's docstring describes
what each step measures. Distances are in the scan's one named unit
(:mod:`~mlsiege.attacks.evasion.units`), given to the recipe and used for every figure.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from mlsiege.errors import MlsiegeError, QueryBudgetExceeded, TargetError
from mlsiege.schema import Schema
from mlsiege.targets import Budgeted, LabelOnly, ThresholdOracle

#: called as each attacked row finishes: (step, rows done, rows in the step)
Tick = Callable[[str, int, int], None]


def _role_api(role: str, root: Budgeted, share: int) -> Budgeted:
    """The API a role attacks, spending from the scan's one root budget (capped at ``share``)."""
    spend = root.sub_budget(share)
    if role == "evasion_label":
        inner = ThresholdOracle(spend, float(root.threshold)) if not hasattr(root.target, "predict") else spend
        return Budgeted(LabelOnly(inner), share, caller=root.caller, log_io=False)
    if not hasattr(root.target, "predict"):  # a scorer: attack its accept/reject decision
        return Budgeted(ThresholdOracle(spend, float(root.threshold)), share, caller=root.caller, log_io=False)
    return spend


def _attack_points(y: np.ndarray | None, probe: dict[str, Any], kind: str, n_max: int) -> np.ndarray:
    idx, labels = probe["idx"], probe["labels"]
    if kind == "scorer":
        keep = labels == 1  # rows the detector rejects: evading means getting accepted
    elif y is not None:
        keep = labels == y[idx]  # correctly classified rows
    else:
        keep = np.ones(len(idx), dtype=bool)
    return idx[keep][:n_max]


def _run_evasion(role: str, name: str, recipe: Callable[..., Any], root: Budgeted, target: Any,
                 X: np.ndarray, y: np.ndarray | None, probe: dict[str, Any], share: int,
                 schema: Schema, config: Any, unit: Any, tick: Tick | None = None) -> dict[str, Any]:
    kind = "scorer" if hasattr(target, "score") and not hasattr(target, "predict") else "classifier"
    n_points = min(config.max_points, max(1, share // config.min_point_budget))
    points = _attack_points(y, probe, kind, n_points)
    step: dict[str, Any] = {"name": role, "role": role, "recipe": name, "budget": int(share)}
    if len(points) == 0 or share < 1:
        return {**step, "status": "skipped", "reason": "no row to attack (none correctly classified) or no budget",
                "queries": 0, "metrics": {}, "curve": {}}
    per_point = share // len(points)
    original = dict(zip(probe["idx"].tolist(), np.asarray(probe["labels"]).tolist(), strict=True))
    api = _role_api(role, root, share)
    pool_mask = np.ones(len(X), dtype=bool)
    pool_mask[points] = False
    pool_X, pool_y = X[pool_mask], (None if y is None else y[pool_mask])
    used_before = root.queries_used
    success, queries, l2, linf, l0, valid, ratio = [], [], [], [], [], [], []
    error = None
    scale = unit.scale
    # the family convention has no scale; recipes that take one measure in the scan's unit
    extra = {"scale": scale} if _takes(recipe, "scale") else {}
    started = time.perf_counter()
    for k, i in enumerate(points):
        cap = int(min(per_point, api.remaining))
        if cap < 1:
            break
        view = api.sub_budget(cap)
        x = X[i : i + 1]
        first_record = len(root.log.records)
        try:
            res = recipe(view, x.copy(), schema=schema, pool_X=pool_X, pool_y=pool_y, budget=cap,
                         seed=config.seed + k, **extra)
            adv = np.asarray(res.artifacts["adversarial"], dtype=float).reshape(1, -1)
            ok = bool(np.asarray(res.artifacts["success"], dtype=bool).reshape(-1)[0])
        except QueryBudgetExceeded:
            adv, ok = np.full_like(x, np.nan), False
        except TargetError:
            raise
        except MlsiegeError as exc:  # a recipe's own refusal; a bug (KeyError, TypeError...) propagates
            error = f"{name} failed on a point: {type(exc).__name__}: {exc}"
            break
        is_valid = bool(ok and np.all(np.isfinite(adv)) and schema.valid_mask(adv, x)[0])
        success.append(ok and is_valid)
        valid.append(is_valid or not ok)
        # queries until the target first answered a valid row with another label (read from the
        # log, so the curve does not depend on how a recipe spends the rest of its budget)
        queries.append(_first_flip(root, first_record, x, original[i], schema) if ok and is_valid
                       else int(view.queries_used))
        if ok and is_valid:
            delta = (adv - x)[0] / scale
            l2.append(float(np.linalg.norm(delta)))
            if pool_y is not None and y is not None and np.any(pool_y != y[i]):
                nearest = np.min(np.linalg.norm((pool_X[pool_y != y[i]] - x) / scale, axis=1))
                ratio.append(float(l2[-1] / nearest) if nearest > 0 else float("inf"))
            linf.append(float(np.max(np.abs(delta))))
            l0.append(int(np.sum(np.abs(adv - x)[0] > 1e-9)))
        if tick is not None:
            tick(role, len(success), len(points))
    n = len(success)
    succ = np.asarray(success, dtype=bool)
    qs = np.asarray(queries, dtype=int)
    grid = sorted(set(qs[succ].tolist()) | {0, per_point})
    metrics = {
        "points": n,
        "per_point_budget": int(per_point),
        "success_rate": float(succ.mean()) if n else 0.0,
        "successes": int(succ.sum()),
        "median_queries_to_first_success": float(np.median(qs[succ])) if succ.any() else None,
        "valid_rate": float(np.mean(valid)) if n else 1.0,
        "median_l2": float(np.median(l2)) if l2 else None,
        "median_linf": float(np.median(linf)) if linf else None,
        "median_features_changed": float(np.median(l0)) if l0 else None,
        # adversarial distance / distance to the nearest data row of another label (< 1: closer
        # than simply submitting a real row of the other class)
        "median_l2_vs_nearest_other": float(np.median(ratio)) if ratio else None,
        "api": "labels only" if role == "evasion_label" else "as deployed",
        "distance_unit": unit.name,
    }
    curve = {
        "queries": [int(q) for q in grid],
        "success_rate": [float(np.sum(succ & (qs <= q)) / max(n, 1)) for q in grid],
        "perturbation_l2": l2,
        "perturbation_linf": linf,
    }
    status = "error" if error and n == 0 else ("partial" if error else "succeeded")
    return {**step, "status": status, "queries": int(root.queries_used - used_before),
            "seconds": round(time.perf_counter() - started, 3), "metrics": metrics, "curve": curve,
            **({"reason": error} if error else {})}


def _takes(fn: Callable[..., Any], name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def _answers_since(root: Budgeted, first_record: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows the target answered since log record ``first_record``, with the label it gave."""
    rows, labels = [], []
    for rec in root.log.records[first_record:]:
        out = np.asarray(rec.outputs)
        if rec.method == "predict_proba":
            out = np.asarray(root.classes_)[np.argmax(out, axis=1)]
        elif rec.method == "score":
            out = (out > float(root.threshold)).astype(int)
        rows.append(np.asarray(rec.inputs, dtype=float))
        labels.append(out.reshape(-1))
    if not rows:
        return np.empty((0, 0)), np.empty((0,))
    return np.vstack(rows), np.concatenate(labels)


def _fidelity(model: Any, X: np.ndarray, labels: np.ndarray) -> float | None:
    try:
        return float(np.mean(np.asarray(model.predict(X)).reshape(-1) == labels))
    except (AttributeError, TypeError, ValueError):  # a surrogate of unknown make: no fidelity
        return None


def _first_flip(root: Budgeted, first_record: int, x: np.ndarray, label: Any, schema: Schema) -> int:
    """Rows asked (from ``first_record`` on) until one valid row got an answer other than ``label``."""
    asked, answers = _answers_since(root, first_record)
    if not len(answers):
        return 0
    flipped = (answers != label) & schema.valid_mask(asked, np.repeat(x, len(asked), axis=0))
    hits = np.flatnonzero(flipped)
    return int(hits[0] + 1) if len(hits) else int(len(answers))


def outcome_kind(target: Any) -> str:
    """``"scorer"`` for an accept/reject detector, else ``"classifier"`` (how rules are worded)."""
    return "scorer" if hasattr(target, "score") and not hasattr(target, "predict") else "classifier"


def tree_rules(tree: Any, schema: Schema, kind: str = "classifier", max_levels: int = 6) -> str:
    """A fitted decision tree's leaves as readable rules, with level names and whole numbers.

    A split on a categorical code (``service <= 23.5``) reads as the levels on that side
    (``service in {http, smtp, ...}``), a 0/1 feature as ``= 0`` / ``= 1``, an integer threshold
    as ``<= 23``. For a classifier each leaf says which answer it gives; for an accept/reject
    detector (``kind="scorer"``), 1 reads as "rejected".
    """
    t = tree.tree_
    classes = list(tree.classes_)
    lines: list[str] = []

    def walk(node: int, path: list[str]) -> None:
        if t.children_left[node] == -1:
            counts = t.value[node][0]
            answer = classes[int(np.argmax(counts))]
            answer = answer.item() if isinstance(answer, np.generic) else answer
            share = float(np.max(counts) / max(np.sum(counts), 1e-12))
            said = ("rejected" if answer == 1 else "accepted") if kind == "scorer" else f"answers {answer!r}"
            lines.append(f"{said} when {' AND '.join(path) or 'always'}  [{int(t.n_node_samples[node])} rows, "
                         f"{share:.0%} agree]")
            return
        j, thr = int(t.feature[node]), float(t.threshold[node])
        walk(int(t.children_left[node]), [*path, _split_text(schema, j, thr, False, max_levels)])
        walk(int(t.children_right[node]), [*path, _split_text(schema, j, thr, True, max_levels)])

    walk(0, [])
    return "\n".join(lines)


def _split_text(schema: Schema, j: int, threshold: float, above: bool, max_levels: int) -> str:
    f = schema.features[j]
    if f.type == "categorical":
        levels = [str(v) for v in f.levels or ()]
        k = int(np.floor(threshold)) + 1
        side, other = (levels[k:], levels[:k]) if above else (levels[:k], levels[k:])
        if len(side) == 1:
            return f"{f.name} = {side[0]}"
        if len(side) > max_levels and len(other) < len(side):
            shown = ", ".join(other[:max_levels]) + (f", ... ({len(other)} levels)" if len(other) > max_levels else "")
            return f"{f.name} not in {{{shown}}}"
        shown = ", ".join(side[:max_levels]) + (f", ... ({len(side)} levels)" if len(side) > max_levels else "")
        return f"{f.name} in {{{shown}}}"
    if f.type == "binary":
        return f"{f.name} = {1 if above else 0}"
    if f.type == "integer":
        return f"{f.name} >= {int(np.floor(threshold)) + 1}" if above else f"{f.name} <= {int(np.floor(threshold))}"
    return f"{f.name} {'>' if above else '<='} {threshold:.4g}"
