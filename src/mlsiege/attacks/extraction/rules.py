"""Rule recovery: a short, readable list of the regions a target rejects."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.tree import DecisionTreeClassifier

from mlsiege.attacks.extraction.active import (
    ATLAS,
    ActiveExtractionConfig,
    active_extraction_chandrasekaran2020,
)
from mlsiege.attacks.extraction.synthesis import Box, local_samples
from mlsiege.errors import ConfigError
from mlsiege.metrics.extraction import rule_coverage_precision
from mlsiege.results import AttackResult
from mlsiege.schema import Schema

__all__ = ["Condition", "Rule", "RuleList", "recover_rules", "rule_recovery_craven1996", "rules_from_extraction"]


@dataclass(frozen=True)
class Condition:
    """``feature <= threshold`` (``above=False``) or ``feature > threshold`` on one column."""

    feature: int
    threshold: float
    above: bool

    def holds(self, X: np.ndarray) -> np.ndarray:
        v = X[:, self.feature]
        return v > self.threshold if self.above else v <= self.threshold

    def text(self, schema: Schema) -> str:
        f = schema.features[self.feature]
        t = self.threshold
        if f.type == "categorical":
            levels = list(f.levels or ())
            k = int(np.floor(t)) + 1
            chosen = levels[k:] if self.above else levels[:k]
            return f"{f.name} in {{{', '.join(map(str, chosen))}}}" if len(chosen) > 1 else f"{f.name} = {chosen[0] if chosen else '?'}"
        if f.type == "binary":
            return f"{f.name} = {1 if self.above else 0}"
        if f.type == "integer":
            return f"{f.name} >= {int(np.floor(t)) + 1}" if self.above else f"{f.name} <= {int(np.floor(t))}"
        return f"{f.name} {'>' if self.above else '<='} {t:.4g}"


@dataclass(frozen=True)
class Rule:
    """A conjunction of conditions; support and precision measured on the rows the attacker labelled."""

    conditions: tuple[Condition, ...]
    support: int
    precision: float

    def covers(self, X: np.ndarray) -> np.ndarray:
        X = np.atleast_2d(np.asarray(X, dtype=float))
        ok = np.ones(len(X), dtype=bool)
        for c in self.conditions:
            ok &= c.holds(X)
        return ok

    def text(self, schema: Schema) -> str:
        parts = []
        for j in dict.fromkeys(c.feature for c in self.conditions):
            mine = [c for c in self.conditions if c.feature == j]
            f = schema.features[j]
            if len(mine) == 2 and f.type in ("integer", "real"):
                lo, hi = (mine[0], mine[1]) if mine[0].above else (mine[1], mine[0])
                if f.type == "integer":
                    a, b = int(np.floor(lo.threshold)) + 1, int(np.floor(hi.threshold))
                    parts.append(f"{f.name} = {a}" if a == b else f"{a} <= {f.name} <= {b}")
                else:
                    parts.append(f"{lo.threshold:.4g} < {f.name} <= {hi.threshold:.4g}")
            else:
                parts.extend(c.text(schema) for c in mine)
        return " AND ".join(parts) or "always"


@dataclass(frozen=True)
class RuleList:
    """Rules under which the target answers ``reject``; every other row gets ``accept``."""

    rules: tuple[Rule, ...]
    reject: Any
    accept: Any
    schema: Schema

    def covers(self, X: np.ndarray) -> np.ndarray:
        X = np.atleast_2d(np.asarray(X, dtype=float))
        ok = np.zeros(len(X), dtype=bool)
        for r in self.rules:
            ok |= r.covers(X)
        return ok

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.where(self.covers(X), self.reject, self.accept)

    def to_text(self) -> str:
        reject, accept = _plain(self.reject), _plain(self.accept)
        lines = [f"The target answers {reject!r} when:"]  # a class, not always a rejection
        if not self.rules:
            lines.append(f"  (no region found: no row the attacker sent was answered {reject!r})")
        for i, r in enumerate(self.rules, 1):
            lines.append(f"  {i}. {r.text(self.schema)}    [support {r.support} rows, precision {r.precision:.2f}]")
        lines.append(f"Everything else is answered {accept!r}: the target knows no other region.")
        return "\n".join(lines)


def recover_rules(
    X: np.ndarray,
    y: np.ndarray,
    schema: Schema,
    *,
    reject: Any,
    max_depth: int = 3,
    min_precision: float = 0.5,
    seed: int = 0,
) -> RuleList:
    """Fit a shallow tree on labelled rows and read its rejecting leaves as rules (no queries).

    A leaf becomes a rule when most of its rows are ``reject``; rules are ordered by support.
    """
    X, y = np.asarray(X, dtype=float), np.asarray(y)
    others = [v for v in np.unique(y) if v != reject]
    accept = others[0] if others else (0 if reject != 0 else 1)
    if len(X) == 0 or not np.any(y == reject):
        return RuleList((), reject, accept, schema)
    tree = DecisionTreeClassifier(max_depth=max_depth, min_samples_leaf=max(2, len(X) // 100), random_state=seed)
    tree.fit(X, y == reject)
    t = tree.tree_
    rules: list[Rule] = []

    def rule_at(path: tuple[Condition, ...]) -> Rule | None:
        rule = Rule(_simplify(path), 0, 0.0)
        covered = rule.covers(X)
        if not covered.any():
            return None
        precision = float(np.mean(y[covered] == reject))
        return Rule(rule.conditions, int(covered.sum()), precision) if precision >= min_precision and precision > 0.5 else None

    def walk(node: int, path: tuple[Condition, ...]) -> bool:
        """Collect rejecting leaves below ``node``; True when every leaf below rejects (merge them)."""
        if t.children_left[node] == -1:
            return bool(t.value[node].ravel()[-1] > t.value[node].ravel()[0])
        f, thr = int(t.feature[node]), float(t.threshold[node])
        before = len(rules)
        full = []
        for child, above in ((t.children_left[node], False), (t.children_right[node], True)):
            cond = path + (Condition(f, thr, above),)
            whole = walk(child, cond)
            if whole and t.children_left[child] == -1:
                rule = rule_at(cond)
                if rule is not None:
                    rules.append(rule)
            full.append(whole)
        if all(full) and node != 0:
            merged = rule_at(path)
            if merged is not None:
                del rules[before:]
                rules.append(merged)
        return all(full)

    if t.node_count == 1 or walk(0, ()):
        rules[:] = [Rule((), len(y), float(np.mean(y == reject)))] if np.mean(y == reject) > 0.5 else []
    rules.sort(key=lambda r: -r.support)
    return RuleList(tuple(rules), reject, accept, schema)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _simplify(conditions: tuple[Condition, ...]) -> tuple[Condition, ...]:
    """Keep the tightest bound per feature and side (a path often re-tests a feature)."""
    best: dict[tuple[int, bool], Condition] = {}
    for c in conditions:
        key = (c.feature, c.above)
        old = best.get(key)
        if old is None or (c.threshold > old.threshold if c.above else c.threshold < old.threshold):
            best[key] = c
    return tuple(sorted(best.values(), key=lambda c: (c.feature, c.above)))


def rule_recovery_craven1996(
    target: Any,
    *,
    schema: Schema,
    pool_X: np.ndarray | None = None,
    budget: int,
    seed: int = 0,
    reject: Any = 1,
    max_depth: int = 3,
    eval_X: np.ndarray | None = None,
    eval_y: np.ndarray | None = None,
    **options: Any,
) -> AttackResult:
    """Say in a few rules which regions the target rejects, and so which it knows nothing about.

    Labels are bought with active extraction (:func:`active_extraction_chandrasekaran2020`,
    ``options`` go to its config); the surrogate then labels free synthetic rows around the
    queried ones, and a shallow tree fitted on both is read as a rule list, in the manner of
    TREPAN (Craven & Shavlik 1996), which extracts a tree from a network by querying it as an
    oracle. This is what a botnet operator learns: "the detector rejects bursts from one subnet
    and disposable e-mail domains; slow, diverse registrations are never rejected".

    Parameters
    ----------
    target, schema, pool_X, budget, seed
        As for every extraction recipe.
    reject
        The answer that means "rejected" (default 1, the :class:`ThresholdOracle` convention).
    max_depth
        Depth of the tree read as rules (at most ``2**max_depth`` rules of ``max_depth`` terms).
    eval_X, eval_y
        Held-out rows and the target's answers, for coverage / precision of the rules.

    Returns
    -------
    AttackResult
        ``artifacts["rules"]`` (:class:`RuleList`), ``["rules_text"]``, ``["surrogate"]`` (the
        active-extraction surrogate), ``["queried"]``; metrics ``rule_coverage``,
        ``rule_precision`` and ``rule_fidelity`` when held-out rows are given.

    References
    ----------
    Craven, Shavlik. "Extracting Tree-Structured Representations of Trained Networks", NIPS 1996.
    """
    started = time.perf_counter()
    if int(max_depth) != max_depth or max_depth < 1:
        raise ConfigError(f"max_depth must be a positive integer, got {max_depth!r}")
    cfg = ActiveExtractionConfig(**options)
    base = active_extraction_chandrasekaran2020(
        target, schema=schema, pool_X=pool_X, budget=budget, seed=seed, eval_X=eval_X, eval_y=eval_y, config=cfg
    )
    rules = rules_from_extraction(base, schema, reject=reject, max_depth=max_depth, seed=seed)
    metrics = dict(base.metrics)
    metrics["rules"] = len(rules.rules)
    if eval_X is not None and eval_y is not None:
        cov, prec = rule_coverage_precision(rules.covers(eval_X), np.asarray(eval_y) == reject)
        metrics.update(rule_coverage=cov, rule_precision=prec, rule_fidelity=float(np.mean(rules.predict(eval_X) == np.asarray(eval_y))))
    return AttackResult(
        attack="rule_recovery_craven1996",
        status=base.status,
        artifacts={**base.artifacts, "rules": rules, "rules_text": rules.to_text()},
        queries=base.queries,
        calls=base.calls,
        valid_rate=base.valid_rate,
        seconds=time.perf_counter() - started,
        config={**base.config, "reject": reject, "max_depth": max_depth},
        seed=seed,
        atlas_techniques=ATLAS,
        metrics=metrics,
        failure_reason=base.failure_reason,
    )


def rules_from_extraction(result: AttackResult, schema: Schema, *, reject: Any = 1, max_depth: int = 3, seed: int = 0, n_synthetic: int = 2000) -> RuleList:
    """Rules from an extraction's bought rows plus surrogate-labelled synthetic rows around them."""
    X = np.asarray(result.artifacts["queried"], dtype=float)
    y = np.asarray(result.artifacts.get("answers", np.empty(0)))
    if len(X) == 0 or len(y) != len(X):
        return recover_rules(np.empty((0, schema.n_features)), np.empty(0), schema, reject=reject)
    rng = np.random.default_rng(seed)
    surrogate = result.artifacts.get("surrogate")
    S = local_samples(schema, Box.of(schema, X), X, n_synthetic, rng, scales=(0.02, 0.05, 0.1)) if surrogate is not None else X[:0]
    XS = np.vstack([X, S])
    yS = np.concatenate([y, surrogate.predict(S) if len(S) else y[:0]])
    return recover_rules(XS, yS, schema, reject=reject, max_depth=max_depth, seed=seed)
