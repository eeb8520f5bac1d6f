"""Projection of candidate rows onto a schema's feasible set.

For schemas whose relations are linear (inequalities, equalities with tolerance, linear derived
features, one-hot groups) the projection is exact: per row, a mixed-integer program minimises
the range-scaled L1 distance to the candidate subject to bounds, integrality, immutables,
directions and every linear relation (scipy.optimize.milp, i.e. HiGHS). Non-linear relations
fall back to a bisection on the segment between a valid ``original`` and the candidate, the
standard repair of constrained tabular attacks (Simonetto et al. 2022, MOEVA).
"""

from __future__ import annotations

import ast
import itertools
from typing import TYPE_CHECKING

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from mlsiege.schema.expressions import (
    STRICT_EPS,
    Expression,
    LinearInequality,
    NotLinear,
    linearize,
    linearize_node,
    not_equal_branches,
)

if TYPE_CHECKING:
    from mlsiege.schema.schema import Schema

__all__ = ["LinearSystem", "project_rows", "use_system"]


class LinearSystem:
    """The schema's relations as ``A x <= b``, equality rows, and disjunctions of linear blocks.

    An ``or`` of linear conjunctions (and a ``!=``, which is the ``or`` of ``<`` and ``>``) is kept
    as a disjunction. Projection branches on the disjunctions a solution breaks, best first,
    pruning branches whose distance bound exceeds the best row found (branch and bound over
    disjunctions, Balas, "Disjunctive programming", 1979), so a relation with an ``or`` usually
    costs one linear program, like a plain one. ``branching=False`` keeps the previous
    formulation: one mixed-integer program per combination of branches (at most
    ``MAX_BRANCHES``), the closest kept.
    """

    MAX_BRANCHES = 64

    def __init__(self, schema: Schema, branching: bool = True) -> None:
        self.schema = schema
        self.branching = branching
        self.d = d = schema.n_features
        rows: list[LinearInequality] = []
        self.disjunctions: list[list[list[LinearInequality]]] = []
        linear = True
        discrete = {f.name for f in schema.features if f.is_discrete}
        for e in schema._exprs:
            try:
                rows.extend(linearize(e))
                continue
            except NotLinear:
                pass
            branches = _or_branches(e, discrete)
            if branches is None:
                linear = False
            else:
                self.disjunctions.append(branches)
        eq_rows: list[np.ndarray] = []
        eq_rhs: list[float] = []
        for i, e in schema._formulas.items():
            coef = _linear_value(e)
            if coef is None or schema.features[i].is_discrete:
                linear = False
                continue
            a = np.zeros(d)
            a[i] = 1.0
            for n, v in coef[0].items():
                a[schema.index(n)] -= v
            eq_rows.append(a)
            eq_rhs.append(coef[1])
        for idx in schema.groups.values():
            a = np.zeros(d)
            a[idx] = 1.0
            eq_rows.append(a)
            eq_rhs.append(1.0)
        self.combos = int(np.prod([len(b) for b in self.disjunctions])) if self.disjunctions else 1
        self.linear = linear
        self.A, self.b = self._matrix(rows)
        self.E = np.array(eq_rows).reshape(-1, d)
        self.e = np.array(eq_rhs)

    def _matrix(self, rows: list[LinearInequality]) -> tuple[np.ndarray, np.ndarray]:
        A = np.zeros((len(rows), self.d))
        for k, ineq in enumerate(rows):
            for n, v in ineq.coef.items():
                A[k, self.schema.index(n)] += v
        return A, np.array([r.bound for r in rows])

    def variants(self):
        """Every ``(A, b)`` obtained by choosing one branch per disjunction."""
        for choice in itertools.product(*self.disjunctions):
            extra = [ineq for branch in choice for ineq in branch]
            A2, b2 = self._matrix(extra)
            yield np.vstack([self.A, A2]), np.concatenate([self.b, b2])


def _or_branches(expr: Expression, discrete: set[str]) -> list[list[LinearInequality]] | None:
    """The branches of an ``or`` (or of a ``!=``), each a conjunction of linear rows; else None."""
    node = expr.tree
    parts = node.values if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or) else [node]
    if len(parts) == 1 and not (isinstance(node, ast.Compare) and any(isinstance(o, ast.NotEq) for o in node.ops)):
        return None
    branches: list[list[LinearInequality]] = []
    for v in parts:
        try:
            if isinstance(v, ast.Compare) and len(v.ops) == 1 and isinstance(v.ops[0], ast.NotEq):
                # codes and counts: x != k means x <= k - 1 or x >= k + 1
                names = {n.id for n in ast.walk(v) if isinstance(n, ast.Name)}
                whole = names <= discrete and _integral(v)
                branches.extend(not_equal_branches(v, 1.0 if whole else STRICT_EPS))
            else:
                branches.append(linearize_node(v, expr.tolerance, expr.slack))
        except NotLinear:
            return None
    return branches


def _integral(node: ast.AST) -> bool:
    """True when every number in ``node`` is a whole number (so a ``!=`` gap of 1 is exact)."""
    return all(float(n.value).is_integer() for n in ast.walk(node) if isinstance(n, ast.Constant))


def _linear_value(expr: Expression) -> tuple[dict[str, float], float] | None:
    from mlsiege.schema.expressions import _linear

    try:
        return _linear(expr.tree)
    except NotLinear:
        return None


def use_system(schema: Schema, system: LinearSystem) -> None:
    """Make ``schema.project`` use ``system`` (benchmarks compare formulations this way)."""
    schema.__dict__["_linear_system"] = system


def _system(schema: Schema) -> LinearSystem:
    # cached on the instance: a schema is immutable once built
    cache = schema.__dict__.get("_linear_system")
    if cache is None:
        cache = LinearSystem(schema)
        schema.__dict__["_linear_system"] = cache
    return cache


def _row_box(schema: Schema, x: np.ndarray, o: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = schema.low.copy(), schema.high.copy()
    fixed = schema.mask("immutable")
    ref = o if o is not None else x
    lo[fixed] = hi[fixed] = ref[fixed]
    if o is not None:
        for j, f in enumerate(schema.features):
            if f.direction == "increase":
                lo[j] = max(lo[j], o[j])
            elif f.direction == "decrease":
                hi[j] = min(hi[j], o[j])
    return lo, hi


def _box_min(rows: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Smallest value of each ``rows @ x`` over the box (``-inf`` where a bound it needs is infinite)."""
    with np.errstate(invalid="ignore"):
        return np.where(rows > 0, rows * lo, np.where(rows < 0, rows * hi, 0.0)).sum(axis=1)


def _milp_row(schema: Schema, sys: LinearSystem, x: np.ndarray, o: np.ndarray | None) -> np.ndarray | None:
    d = schema.n_features
    lo, hi = _row_box(schema, x, o)
    if np.any(lo > hi):
        return None
    w = 1.0 / schema.scale()
    # variables: x (d), t (d) with t >= |x - c|; minimise the range-scaled L1 move
    eye = np.eye(d)
    base = [
        LinearConstraint(np.hstack([eye, -eye]), -np.inf, x),
        LinearConstraint(np.hstack([-eye, -eye]), -np.inf, -x),
    ]
    if len(sys.E):
        base.append(LinearConstraint(np.hstack([sys.E, np.zeros_like(sys.E)]), sys.e, sys.e))
    if len(sys.A):
        # a hair of slack inward so the rounded solution still satisfies the rule
        base.append(LinearConstraint(np.hstack([sys.A, np.zeros_like(sys.A)]), -np.inf, sys.b - 1e-9))
    integrality = np.concatenate([schema.discrete_mask.astype(int), np.zeros(d, dtype=int)])
    bounds = Bounds(np.concatenate([lo, np.zeros(d)]), np.concatenate([hi, np.full(d, np.inf)]))
    cost = np.concatenate([np.zeros(d), w])
    if sys.branching:
        found = _branch_and_bound(sys, x, w, lo, hi, base, cost, integrality, bounds)
        return None if found is None else _snap(schema, found)
    best, best_cost = None, np.inf
    for A, b in sys.variants() if sys.combos <= sys.MAX_BRANCHES else ():
        cons = list(base)
        if len(A) > len(sys.A):
            extra, eb = A[len(sys.A):], b[len(sys.A):]
            cons.append(LinearConstraint(np.hstack([extra, np.zeros_like(extra)]), -np.inf, eb - 1e-9))
        res = milp(cost, constraints=cons, integrality=integrality, bounds=bounds, options={"time_limit": 5.0})
        if res.x is not None and res.fun < best_cost:
            best, best_cost = res.x[:d].copy(), res.fun
    return None if best is None else _snap(schema, best)


def _branch_and_bound(sys: LinearSystem, x: np.ndarray, w: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                      base: list, cost: np.ndarray, integrality: np.ndarray, bounds: Bounds,
                      max_nodes: int = 200) -> np.ndarray | None:
    """Closest row satisfying the linear rows and one branch of every disjunction (exact).

    Best-first search over branch choices. A node fixes branches of some disjunctions and solves
    the linear program without the others; a disjunction its solution breaks is branched on. A
    node's bound is the larger of its parent's value and the weighted-L1 distance from ``x`` to its
    branch's half-spaces (the dual norm bound ``violation / max(|a| / w)``), so a branch far from
    the candidate is usually pruned unsolved. The root skips its program when ``x`` itself breaks
    a disjunction (its value is 0 anyway).
    """
    d = sys.d
    blocks = [[sys._matrix(br) for br in disj] for disj in sys.disjunctions]

    def broken(y: np.ndarray, fixed: dict[int, int]) -> int | None:
        for k, disj in enumerate(blocks):
            if k in fixed:
                continue
            if not any(np.all(A @ y <= b + 1e-9) for A, b in disj):
                return k
        return None

    def children(k: int, fixed: dict[int, int], value: float) -> list[tuple[float, dict[int, int]]]:
        out = []
        for j, (A, b) in enumerate(blocks[k]):
            if len(A) and np.any(_box_min(A, lo, hi) > b + 1e-9):
                continue  # the box cannot meet this branch
            gap = np.maximum(0.0, A @ x - b) / np.maximum(np.max(np.abs(A) / w, axis=1), 1e-300) if len(A) else [0.0]
            out.append((max(value, float(np.max(gap))), {**fixed, k: j}))
        return out

    def solve(fixed: dict[int, int]) -> tuple[np.ndarray, float] | None:
        cons = list(base)
        for k, j in fixed.items():
            A, b = blocks[k][j]
            if len(A):
                cons.append(LinearConstraint(np.hstack([A, np.zeros_like(A)]), -np.inf, b - 1e-9))
        res = milp(cost, constraints=cons, bounds=bounds)  # the relaxation: HiGHS' LP is ~6x cheaper
        whole = integrality.astype(bool)
        if res.x is not None and not np.all(np.abs(res.x[whole] - np.round(res.x[whole])) <= 1e-7):
            res = milp(cost, constraints=cons, integrality=integrality, bounds=bounds, options={"time_limit": 5.0})
        return None if res.x is None else (res.x[:d].copy(), float(res.fun))

    first = broken(x, {}) if len(sys.A) == 0 or np.all(sys.A @ x <= sys.b) else None
    queue = children(first, {}, 0.0) if first is not None else [(0.0, {})]
    best, best_cost, nodes = None, np.inf, 0
    while queue and nodes < max_nodes:
        queue.sort(key=lambda item: item[0])
        bound, fixed = queue.pop(0)
        if bound >= best_cost - 1e-12:
            break
        nodes += 1
        got = solve(fixed)
        if got is None or got[1] >= best_cost:
            continue
        y, value = got
        k = broken(y, fixed)
        if k is None:
            best, best_cost = y, value
        else:
            queue += children(k, fixed, value)
    return best


def _snap(schema: Schema, best: np.ndarray) -> np.ndarray:
    disc = schema.discrete_mask
    best[disc] = np.round(best[disc])
    return best


def _descend(schema: Schema, x: np.ndarray, o: np.ndarray | None, iters: int = 60) -> np.ndarray:
    """Numeric descent on the total violation over mutable features (non-linear relations)."""
    orig = None if o is None else o[None, :]
    free = np.flatnonzero(schema.mutable_mask)
    cur = schema.repair(x[None, :], orig)
    cur_v = schema.total_violation(cur, orig)[0]
    step = 0.1 * schema.scale()
    for _ in range(iters):
        if cur_v <= 1e-9:
            break
        improved = False
        for j in free:
            for sgn in (1.0, -1.0):
                cand = cur.copy()
                cand[0, j] += sgn * step[j]
                cand = schema.repair(cand, orig)
                v = schema.total_violation(cand, orig)[0]
                if v < cur_v - 1e-12:
                    cur, cur_v, improved = cand, v, True
        if not improved:
            step = step / 2
            if np.all(step < 1e-9):
                break
    return cur[0]


def _bisect(schema: Schema, x: np.ndarray, o: np.ndarray, steps: int = 20) -> np.ndarray:
    """Largest move from a valid ``o`` toward ``x`` that stays valid."""
    lo_t, hi_t = 0.0, 1.0
    best = schema.repair(o[None, :], o[None, :])[0]
    for _ in range(steps):
        mid = 0.5 * (lo_t + hi_t)
        cand = schema.repair((o + mid * (x - o))[None, :], o[None, :])
        if schema.valid_mask(cand, o[None, :])[0]:
            lo_t, best = mid, cand[0]
        else:
            hi_t = mid
    return best


def project_rows(schema: Schema, X: np.ndarray, original: np.ndarray | None = None) -> np.ndarray:
    """See :meth:`Schema.project`."""
    X = np.atleast_2d(np.asarray(X, dtype=float))
    orig = None if original is None else np.broadcast_to(np.atleast_2d(np.asarray(original, dtype=float)), X.shape)
    R = schema.repair(X, orig)
    bad = np.flatnonzero(~schema.valid_mask(R, orig))
    if not len(bad):
        return R
    sys = _system(schema)
    o_valid = None if orig is None else schema.valid_mask(orig, orig)
    for r in bad:
        o = None if orig is None else orig[r]
        sol = _milp_row(schema, sys, R[r], o) if sys.linear and (sys.branching or sys.combos <= sys.MAX_BRANCHES) else None
        if sol is not None:
            sol = schema.recompute_derived(sol[None, :])[0]
            if schema.valid_mask(sol[None, :], None if o is None else o[None, :])[0]:
                R[r] = sol
                continue
        if o is not None and o_valid is not None and o_valid[r]:
            R[r] = _bisect(schema, R[r], o)
        else:
            R[r] = _descend(schema, R[r], o)
    return R


