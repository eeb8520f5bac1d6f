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

from mlsiege.schema.expressions import Expression, LinearInequality, NotLinear, linearize

if TYPE_CHECKING:
    from mlsiege.schema.schema import Schema

__all__ = ["LinearSystem", "project_rows"]


class LinearSystem:
    """The schema's relations as ``A x <= b``, equality rows, and disjunctions of linear blocks.

    ``or`` of linear conjunctions is kept as a disjunction: projection solves one program per
    combination of branches (at most ``MAX_BRANCHES``) and keeps the closest solution.
    """

    MAX_BRANCHES = 64

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.d = d = schema.n_features
        rows: list[LinearInequality] = []
        self.disjunctions: list[list[list[LinearInequality]]] = []
        linear = True
        for e in schema._exprs:
            try:
                rows.extend(linearize(e))
                continue
            except NotLinear:
                pass
            branches = _or_branches(e)
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
        combos = int(np.prod([len(b) for b in self.disjunctions])) if self.disjunctions else 1
        self.linear = linear and combos <= self.MAX_BRANCHES
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


def _or_branches(expr: Expression) -> list[list[LinearInequality]] | None:
    node = expr.tree
    if not (isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or)):
        return None
    branches = []
    for v in node.values:
        try:
            branches.append(linearize(Expression(ast.unparse(v), expr.tolerance)))
        except NotLinear:
            return None
    return branches


def _linear_value(expr: Expression) -> tuple[dict[str, float], float] | None:
    from mlsiege.schema.expressions import _linear

    try:
        return _linear(expr.tree)
    except NotLinear:
        return None


def _system(schema: Schema) -> LinearSystem:
    # cached on the instance: a schema is immutable once built
    cache = schema.__dict__.get("_linear_system")
    if cache is None:
        cache = LinearSystem(schema)
        schema.__dict__["_linear_system"] = cache
    return cache


def _milp_row(schema: Schema, sys: LinearSystem, x: np.ndarray, o: np.ndarray | None) -> np.ndarray | None:
    d = schema.n_features
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
    if np.any(lo > hi):
        return None
    w = 1.0 / schema.scale()
    # variables: x (d), t (d) with t >= |x - c|; minimise the range-scaled L1 move
    c = np.concatenate([np.zeros(d), w])
    eye = np.eye(d)
    base = [
        LinearConstraint(np.hstack([eye, -eye]), -np.inf, x),
        LinearConstraint(np.hstack([-eye, -eye]), -np.inf, -x),
    ]
    if len(sys.E):
        base.append(LinearConstraint(np.hstack([sys.E, np.zeros_like(sys.E)]), sys.e, sys.e))
    integrality = np.concatenate([schema.discrete_mask.astype(int), np.zeros(d, dtype=int)])
    bounds = Bounds(np.concatenate([lo, np.zeros(d)]), np.concatenate([hi, np.full(d, np.inf)]))
    best, best_cost = None, np.inf
    for A, b in sys.variants():
        cons = list(base)
        if len(A):
            # a hair of slack inward so the rounded solution still satisfies the rule
            cons.append(LinearConstraint(np.hstack([A, np.zeros_like(A)]), -np.inf, b - 1e-9))
        res = milp(c, constraints=cons, integrality=integrality, bounds=bounds, options={"time_limit": 5.0})
        if res.x is not None and res.fun < best_cost:
            best, best_cost = res.x[:d].copy(), res.fun
    if best is None:
        return None
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
        sol = _milp_row(schema, sys, R[r], o) if sys.linear else None
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


