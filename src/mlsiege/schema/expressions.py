"""Relational constraints written as small expressions, parsed safely.

The language is a subset of Python expression syntax, parsed with :mod:`ast` and evaluated by a
whitelist walker (never ``eval``): feature names, numbers, ``+ - * /``, unary minus, comparisons
(``<= < >= > == !=``, chained), ``and`` / ``or``, and the functions ``log`` (natural log of a value
floored at 1e-12), ``safe_div(a, b[, default])`` (``default`` where ``b == 0``), ``abs``,
``min``, ``max``, ``exp`` and ``sqrt``.

Violation semantics, vectorised over rows (TabularBench / MOEVA convention):

* ``a <= b`` -> ``max(0, a - b)``; ``a < b`` -> ``max(0, a - b + 1e-9)``;
* ``a == b`` -> ``max(0, |a - b| - tolerance)`` (tolerance 1e-6 unless given);
* ``a <= b`` with an explicit tolerance ``t`` -> ``max(0, a - b - t)`` (slack);
* ``a != b`` -> ``1`` where ``|a - b| <= tolerance``, else 0;
* ``p and q`` -> ``viol(p) + viol(q)``; ``p or q`` -> ``min(viol(p), viol(q))``.

:func:`linearize` recognises expressions that are linear inequalities, so projection can solve
them exactly as a mixed-integer program.

A feature whose name is not a Python identifier is written between backticks:
```mean radius` <= `worst radius```.

A categorical feature holds level codes; given ``levels`` (``{feature: levels}``), a comparison of
such a feature with a level *name* (``status == 'refused'``) is rewritten to its code, so relations
read as the application's data does. A name that is not a level is a :class:`SchemaError`.
"""

from __future__ import annotations

import ast
import keyword
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlsiege.errors import SchemaError

__all__ = ["Expression", "LinearInequality", "NotLinear", "linearize", "linearize_node", "not_equal_branches", "quote_name"]

STRICT_EPS = 1e-9
_FUNCS = {"log", "safe_div", "abs", "min", "max", "exp", "sqrt"}
_QUOTED = re.compile(r"`([^`]+)`")
_CMP = (ast.LtE, ast.Lt, ast.GtE, ast.Gt, ast.Eq, ast.NotEq)
#: tolerance of an equality when none is given
EQ_TOL = 1e-6


class NotLinear(Exception):
    """Raised internally when an expression is not a conjunction of linear inequalities."""


@dataclass(frozen=True)
class LinearInequality:
    """``sum(coef[name] * x[name]) <= bound``."""

    coef: Mapping[str, float]
    bound: float


class _LevelNames(ast.NodeTransformer):
    """Rewrite ``feature == 'level'`` (and the other comparisons) to the level's code."""

    def __init__(self, levels: Mapping[str, Sequence[Any]], text: str) -> None:
        self.levels = {k: [str(v) for v in vals] for k, vals in levels.items()}
        self.text = text

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        operands = [node.left, *node.comparators]
        for k, item in enumerate(operands):
            if not (isinstance(item, ast.Constant) and isinstance(item.value, str)):
                continue
            names = [o.id for o in operands[max(0, k - 1) : k + 2] if isinstance(o, ast.Name) and o.id in self.levels]
            if not names:
                raise SchemaError(f"the text {item.value!r} in {self.text!r} must be compared with a categorical feature")
            levels = self.levels[names[0]]
            if item.value not in levels:
                shown = ", ".join(levels[:8]) + (", ..." if len(levels) > 8 else "")
                raise SchemaError(f"{item.value!r} is not a level of {names[0]!r} (levels: {shown}) in {self.text!r}")
            operands[k] = ast.copy_location(ast.Constant(float(levels.index(item.value))), item)
        node.left, node.comparators = operands[0], operands[1:]
        return node


class Expression:
    """A parsed expression; ``names`` lists the features it reads.

    Examples
    --------
    >>> import numpy as np
    >>> e = Expression("a + b <= 3")
    >>> e.violation({"a": np.array([1.0, 2.0]), "b": np.array([1.0, 4.0])}).tolist()
    [0.0, 3.0]
    """

    def __init__(
        self, text: str, tolerance: float | None = None, levels: Mapping[str, Sequence[Any]] | None = None
    ) -> None:
        if not isinstance(text, str) or not text.strip():
            raise SchemaError(f"empty or non-text expression: {text!r}")
        self.text = text.strip()
        quoted: dict[str, str] = {}

        def alias(m: re.Match[str]) -> str:
            quoted[f"__mlsiege_q{len(quoted)}__"] = m.group(1)
            return f"__mlsiege_q{len(quoted) - 1}__"

        try:
            tree = ast.parse(_QUOTED.sub(alias, self.text), mode="eval").body
        except SyntaxError as exc:
            raise SchemaError(f"cannot parse expression {text!r}: {exc.msg}") from exc
        for node in ast.walk(tree):  # a `quoted name` becomes the column's own name
            if isinstance(node, ast.Name) and node.id in quoted:
                node.id = quoted[node.id]
        self.tree = _LevelNames(levels or {}, self.text).visit(tree)
        #: equality tolerance, and slack of inequalities (0 unless a tolerance was given)
        self.tolerance = EQ_TOL if tolerance is None else float(tolerance)
        self.slack = 0.0 if tolerance is None else float(tolerance)
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
            slack = self.slack
            if isinstance(op, ast.LtE):
                v = np.maximum(0.0, left - right - slack)
            elif isinstance(op, ast.Lt):
                v = np.maximum(0.0, left - right + STRICT_EPS - slack)
            elif isinstance(op, ast.GtE):
                v = np.maximum(0.0, right - left - slack)
            elif isinstance(op, ast.Gt):
                v = np.maximum(0.0, right - left + STRICT_EPS - slack)
            elif isinstance(op, ast.NotEq):
                v = np.where(np.abs(left - right) <= self.tolerance, 1.0, 0.0)
            else:
                v = np.maximum(0.0, np.abs(left - right) - self.tolerance)
            total = total + v
            left = right
        return total

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"


def quote_name(name: str) -> str:
    """``name`` as an expression refers to it: bare when an identifier, else between backticks."""
    return name if name.isidentifier() and not keyword.iskeyword(name) and name not in _FUNCS else f"`{name}`"


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

    Raises :class:`NotLinear` for anything else (``or``, ``!=``, products of features, ``log``...).
    """
    return linearize_node(expr.tree, expr.tolerance, expr.slack)


def linearize_node(node: ast.AST, tolerance: float = EQ_TOL, slack: float = 0.0) -> list[LinearInequality]:
    """:func:`linearize` of one parsed (sub-)expression, with its equality tolerance and slack."""
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
            neg = {n: -v for n, v in coef.items()}
            if isinstance(op, ast.NotEq):
                raise NotLinear  # a disjunction: projection splits it into two branches
            if isinstance(op, (ast.LtE, ast.Lt)):
                eps = STRICT_EPS if isinstance(op, ast.Lt) else 0.0
                rows.append(LinearInequality(coef, -const - eps + slack))
            elif isinstance(op, (ast.GtE, ast.Gt)):
                eps = STRICT_EPS if isinstance(op, ast.Gt) else 0.0
                rows.append(LinearInequality(neg, const - eps + slack))
            else:
                rows.append(LinearInequality(coef, -const + tolerance))
                rows.append(LinearInequality(neg, const + tolerance))
            left = right
    return rows


def not_equal_branches(node: ast.Compare, gap: float) -> list[list[LinearInequality]]:
    """``a != b`` as two branches ``a - b <= -gap`` or ``b - a <= -gap`` (raises NotLinear)."""
    if len(node.ops) != 1 or not isinstance(node.ops[0], ast.NotEq):
        raise NotLinear
    lc, lk = _linear(node.left)
    rc, rk = _linear(node.comparators[0])
    coef = dict(lc)
    for n, v in rc.items():
        coef[n] = coef.get(n, 0.0) - v
    const = lk - rk
    return [[LinearInequality(coef, -const - gap)], [LinearInequality({n: -v for n, v in coef.items()}, const - gap)]]
