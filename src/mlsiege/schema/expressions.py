"""Relational constraints written as small expressions, parsed safely.

The language is a subset of Python expression syntax, parsed with :mod:`ast` and evaluated by a
whitelist walker (never ``eval``): feature names, numbers, ``+ - * /``, unary minus, comparisons
(``<= < >= > ==``, chained), ``and`` / ``or``, and the functions ``log`` (natural log of a value
floored at 1e-12), ``safe_div(a, b[, default])`` (``default`` where ``b == 0``), ``abs``,
``min``, ``max``, ``exp`` and ``sqrt``.

Violation semantics, vectorised over rows (TabularBench / MOEVA convention):

* ``a <= b`` -> ``max(0, a - b)``; ``a < b`` -> ``max(0, a - b + 1e-9)``;
* ``a == b`` -> ``max(0, |a - b| - tolerance)``;
* ``p and q`` -> ``viol(p) + viol(q)``; ``p or q`` -> ``min(viol(p), viol(q))``.

:func:`linearize` recognises expressions that are linear inequalities, so projection can solve
them exactly as a mixed-integer program.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from mlsiege.errors import SchemaError

__all__ = ["Expression", "LinearInequality", "NotLinear", "linearize"]

STRICT_EPS = 1e-9
_FUNCS = {"log", "safe_div", "abs", "min", "max", "exp", "sqrt"}
_CMP = (ast.LtE, ast.Lt, ast.GtE, ast.Gt, ast.Eq)


class NotLinear(Exception):
    """Raised internally when an expression is not a conjunction of linear inequalities."""


@dataclass(frozen=True)
class LinearInequality:
    """``sum(coef[name] * x[name]) <= bound``."""

    coef: Mapping[str, float]
    bound: float


class Expression:
    """A parsed expression; ``names`` lists the features it reads.

    Examples
    --------
    >>> import numpy as np
    >>> e = Expression("a + b <= 3")
    >>> e.violation({"a": np.array([1.0, 2.0]), "b": np.array([1.0, 4.0])}).tolist()
    [0.0, 3.0]
    """

    def __init__(self, text: str, tolerance: float = 1e-6) -> None:
        if not isinstance(text, str) or not text.strip():
            raise SchemaError(f"empty or non-text expression: {text!r}")
        try:
            self.tree = ast.parse(text.strip(), mode="eval").body
        except SyntaxError as exc:
            raise SchemaError(f"cannot parse expression {text!r}: {exc.msg}") from exc
        self.text = text.strip()
        self.tolerance = float(tolerance)
        self.names = sorted(self._check(self.tree))
        self.is_condition = isinstance(self.tree, (ast.Compare, ast.BoolOp))

    # ------------------------------------------------------------------ validation
    def _check(self, node: ast.AST) -> set[str]:
        if isinstance(node, ast.Name):
            return {node.id}
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, (int, float)) or isinstance(node.value, bool):
                raise SchemaError(f"only numbers are allowed as constants in {self.text!r}")
            return set()
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
            return self._check(node.left) | self._check(node.right)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return self._check(node.operand)
        if isinstance(node, ast.Compare) and all(isinstance(op, _CMP) for op in node.ops):
            out = self._check(node.left)
            for c in node.comparators:
                out |= self._check(c)
            return out
        if isinstance(node, ast.BoolOp):
            out: set[str] = set()
            for v in node.values:
                if not isinstance(v, (ast.Compare, ast.BoolOp)):
                    raise SchemaError(f"'and'/'or' must join comparisons in {self.text!r}")
                out |= self._check(v)
            return out
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS:
            if node.keywords:
                raise SchemaError(f"keyword arguments are not allowed in {self.text!r}")
            out = set()
            for a in node.args:
                out |= self._check(a)
            return out
        raise SchemaError(f"unsupported syntax {ast.dump(node)[:40]}... in {self.text!r}")

    # ------------------------------------------------------------------ evaluation
    def value(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        """Numeric value of a non-comparison expression (a derived feature's formula)."""
        if self.is_condition:
            raise SchemaError(f"{self.text!r} is a condition, not a value")
        with np.errstate(all="ignore"):
            return np.asarray(self._value(self.tree, columns), dtype=float)

    def violation(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        """Non-negative violation per row; 0 where the condition holds."""
        if not self.is_condition:
            raise SchemaError(f"{self.text!r} is a value, not a condition")
        with np.errstate(all="ignore"):
            v = np.asarray(self._violation(self.tree, columns), dtype=float)
        return np.where(np.isnan(v), np.inf, v)

    def _value(self, node: ast.AST, cols: Mapping[str, np.ndarray]) -> np.ndarray | float:
        if isinstance(node, ast.Name):
            return np.asarray(cols[node.id], dtype=float)
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.UnaryOp):
            v = self._value(node.operand, cols)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp):
            a, b = self._value(node.left, cols), self._value(node.right, cols)
            if isinstance(node.op, ast.Add):
                return a + b
            if isinstance(node.op, ast.Sub):
                return a - b
            if isinstance(node.op, ast.Mult):
                return a * b
            return a / b
        if isinstance(node, ast.Call):
            args = [self._value(a, cols) for a in node.args]
            return _call(node.func.id, args, self.text)
        raise SchemaError(f"{self.text!r}: a comparison cannot be used as a value")

    def _violation(self, node: ast.AST, cols: Mapping[str, np.ndarray]) -> np.ndarray | float:
        if isinstance(node, ast.BoolOp):
            parts = [self._violation(v, cols) for v in node.values]
            if isinstance(node.op, ast.And):
                return sum(parts[1:], parts[0])
            out = parts[0]
            for p in parts[1:]:
                out = np.minimum(out, p)
            return out
        # a chained comparison a <= b < c is the conjunction of its links
        total: np.ndarray | float = 0.0
        left = self._value(node.left, cols)
        for op, comp in zip(node.ops, node.comparators, strict=True):
            right = self._value(comp, cols)
            if isinstance(op, ast.LtE):
                v = np.maximum(0.0, left - right)
            elif isinstance(op, ast.Lt):
                v = np.maximum(0.0, left - right + STRICT_EPS)
            elif isinstance(op, ast.GtE):
                v = np.maximum(0.0, right - left)
            elif isinstance(op, ast.Gt):
                v = np.maximum(0.0, right - left + STRICT_EPS)
            else:
                v = np.maximum(0.0, np.abs(left - right) - self.tolerance)
            total = total + v
            left = right
        return total

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"


def _call(name: str, args: list, text: str) -> np.ndarray | float:
    if name == "log" and len(args) == 1:
        return np.log(np.maximum(args[0], 1e-12))
    if name == "exp" and len(args) == 1:
        return np.exp(np.minimum(args[0], 700.0))
    if name == "sqrt" and len(args) == 1:
        return np.sqrt(np.maximum(args[0], 0.0))
    if name == "abs" and len(args) == 1:
        return np.abs(args[0])
    if name == "safe_div" and len(args) in (2, 3):
        a, b = np.asarray(args[0], dtype=float), np.asarray(args[1], dtype=float)
        default = args[2] if len(args) == 3 else 0.0
        safe_b = np.where(b == 0, 1.0, b)
        return np.where(b == 0, default, a / safe_b)
    if name in ("min", "max") and len(args) >= 2:
        fn = np.minimum if name == "min" else np.maximum
        out = args[0]
        for a in args[1:]:
            out = fn(out, a)
        return out
    raise SchemaError(f"{name}() got {len(args)} arguments in {text!r}")


# ---------------------------------------------------------------------- linear forms
def _linear(node: ast.AST) -> tuple[dict[str, float], float]:
    if isinstance(node, ast.Name):
        return {node.id: 1.0}, 0.0
    if isinstance(node, ast.Constant):
        return {}, float(node.value)
    if isinstance(node, ast.UnaryOp):
        c, k = _linear(node.operand)
        if isinstance(node.op, ast.USub):
            return {n: -v for n, v in c.items()}, -k
        return c, k
    if isinstance(node, ast.BinOp):
        lc, lk = _linear(node.left)
        rc, rk = _linear(node.right)
        if isinstance(node.op, (ast.Add, ast.Sub)):
            s = 1.0 if isinstance(node.op, ast.Add) else -1.0
            out = dict(lc)
            for n, v in rc.items():
                out[n] = out.get(n, 0.0) + s * v
            return out, lk + s * rk
        if isinstance(node.op, ast.Mult):
            if not lc:
                return {n: lk * v for n, v in rc.items()}, lk * rk
            if not rc:
                return {n: rk * v for n, v in lc.items()}, lk * rk
        if isinstance(node.op, ast.Div) and not rc and rk != 0:
            return {n: v / rk for n, v in lc.items()}, lk / rk
    raise NotLinear


def linearize(expr: Expression) -> list[LinearInequality]:
    """Rewrite a conjunction of linear comparisons as ``coef . x <= bound`` rows.

    Raises :class:`NotLinear` for anything else (``or``, products of features, ``log``...).
    """
    node = expr.tree
    parts = node.values if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And) else [node]
    rows: list[LinearInequality] = []
    for part in parts:
        if not isinstance(part, ast.Compare):
            raise NotLinear
        left = _linear(part.left)
        for op, comp in zip(part.ops, part.comparators, strict=True):
            right = _linear(comp)
            coef = dict(left[0])
            for n, v in right[0].items():
                coef[n] = coef.get(n, 0.0) - v
            const = left[1] - right[1]  # left - right = coef.x + const
            if isinstance(op, (ast.LtE, ast.Lt)):
                eps = STRICT_EPS if isinstance(op, ast.Lt) else 0.0
                rows.append(LinearInequality(coef, -const - eps))
            elif isinstance(op, (ast.GtE, ast.Gt)):
                eps = STRICT_EPS if isinstance(op, ast.Gt) else 0.0
                rows.append(LinearInequality({n: -v for n, v in coef.items()}, const - eps))
            else:
                rows.append(LinearInequality(coef, -const + expr.tolerance))
                rows.append(LinearInequality({n: -v for n, v in coef.items()}, const + expr.tolerance))
            left = right
    return rows
