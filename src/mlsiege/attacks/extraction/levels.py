"""One feature at a time: which values of each feature does a black box accept?

The cheapest decision-rule extraction an operator runs against an accept/reject API: take a
few template rows, set one feature to each of its levels on every template (everything else
held), ask, and keep the levels accepted about as often as the best one; move the templates to
the best level and go on with the next feature (a greedy coordinate sweep, repeated
``sweeps`` times). Lowd and Meek (2005) learn a linear classifier's feature weights with
queries that change one feature at a time; Tramèr et al. (2016) show that a prediction API's
answers are enough to rebuild its decision rules. The result is a per-feature table of
acceptance rates and the levels kept, readable as a box rule ("accepted when every feature is
at one of its kept levels"), which :class:`LevelRules` applies as a surrogate.

:func:`sweep_levels` is the step a scenario composes (its own templates, repair and fallback
values); :func:`level_sweep_lowd2005` is the recipe of the extraction family around it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlsiege.attacks.extraction.active import _budget_view
from mlsiege.attacks.extraction.oracle import Oracle
from mlsiege.attacks.extraction.synthesis import Box, box_samples, feasible
from mlsiege.errors import ConfigError
from mlsiege.options import check_options
from mlsiege.results import AttackResult
from mlsiege.schema import Schema

__all__ = ["LevelRules", "LevelSweep", "LevelSweepConfig", "feature_levels", "level_sweep_lowd2005", "sweep_levels"]

ATLAS = ("AML.T0024.002", "AML.T0005")


@dataclass(frozen=True)
class LevelSweepConfig:
    """How the sweep probes.

    Parameters
    ----------
    features
        Features to sweep, in order (``None``: every mutable feature in schema order).
    levels
        Values to try per feature (attack-space codes: level indices for categoricals); a
        feature not named here gets :func:`feature_levels`.
    max_levels
        Grid size for a numeric feature without ``levels`` (integers with at most this many
        values get every value).
    sweeps
        Passes over the features.
    templates
        Template rows the recipe draws from ``pool_X`` (the function takes its templates as given).
    keep_ratio, keep_margin
        A level is kept when its acceptance rate is at least ``max(keep_ratio * best, best - keep_margin)``.
    """

    features: tuple[str, ...] | None = None
    levels: Mapping[str, Sequence[float]] = field(default_factory=dict)
    max_levels: int = 10
    sweeps: int = 1
    templates: int = 8
    keep_ratio: float = 0.5
    keep_margin: float = 0.2

    def __post_init__(self) -> None:
        for name in ("max_levels", "sweeps", "templates"):
            v = getattr(self, name)
            if isinstance(v, bool) or int(v) != v or v < 1:
                raise ConfigError(f"LevelSweepConfig.{name} must be a positive integer, got {v!r}")
        if not 0 <= self.keep_ratio <= 1 or self.keep_margin < 0:
            raise ConfigError(f"LevelSweepConfig needs keep_ratio in [0, 1] and keep_margin >= 0, "
                              f"got {self.keep_ratio!r} and {self.keep_margin!r}")
        if self.features is not None:
            object.__setattr__(self, "features", tuple(self.features))
        object.__setattr__(self, "levels", {k: tuple(float(x) for x in v) for k, v in dict(self.levels).items()})
        if any(not v for v in self.levels.values()):
            raise ConfigError("LevelSweepConfig.levels needs at least one value per named feature")


def feature_levels(schema: Schema, name: str, max_levels: int = 10) -> np.ndarray:
    """The values tried for one feature: every level of a categorical or binary feature, every
    value of a small integer range, else ``max_levels`` evenly spaced values between the bounds.

    Examples
    --------
    >>> from mlsiege.schema import Feature, Schema
    >>> s = Schema([Feature("n", "integer", 0, 40), Feature("c", "categorical", levels=("a", "b"))])
    >>> feature_levels(s, "n", 5).tolist(), feature_levels(s, "c").tolist()
    ([0.0, 10.0, 20.0, 30.0, 40.0], [0.0, 1.0])
    """
    f = schema[name]
    if f.type == "categorical":
        return np.arange(len(f.levels or ()), dtype=float)
    if f.type == "binary":
        return np.array([0.0, 1.0])
    lo, hi = float(schema.low[schema.index(name)]), float(schema.high[schema.index(name)])
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ConfigError(f"feature {name!r} is unbounded: give its values in LevelSweepConfig.levels")
    if f.type == "integer" and hi - lo + 1 <= max_levels:
        return np.arange(np.ceil(lo), np.floor(hi) + 1, dtype=float)
    grid = np.linspace(lo, hi, max_levels)
    return np.unique(np.round(grid)) if f.type == "integer" else grid


@dataclass(frozen=True)
class LevelRules:
    """Box rule read from a sweep: ``accept`` when every constrained feature sits at a kept level.

    A value is matched to its nearest tried level; a feature with no kept level (or not swept)
    does not constrain.
    """

    schema: Schema
    levels: Mapping[str, np.ndarray]
    allowed: Mapping[str, np.ndarray]
    accept: Any
    reject: Any

    def accepts(self, X: np.ndarray) -> np.ndarray:
        X = np.atleast_2d(np.asarray(X, dtype=float))
        ok = np.ones(len(X), dtype=bool)
        for name, kept in self.allowed.items():
            if len(kept) == 0:
                continue
            grid = np.asarray(self.levels[name], dtype=float)
            col = X[:, self.schema.index(name)]
            nearest = grid[np.argmin(np.abs(col[:, None] - grid[None, :]), axis=1)]
            ok &= np.isin(nearest, kept)
        return ok

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.where(self.accepts(X), self.accept, self.reject)


@dataclass(frozen=True)
class LevelSweep:
    """What a sweep learned: per feature the values tried, their acceptance rates (NaN where the
    budget ran out before every template of that value was answered) and the values kept.

    ``templates`` are the template rows moved to each feature's best value; ``queries`` the rows
    sent; ``rules`` the surrogate (:class:`LevelRules`).
    """

    features: tuple[str, ...]
    levels: Mapping[str, np.ndarray]
    rates: Mapping[str, np.ndarray]
    allowed: Mapping[str, np.ndarray]
    templates: np.ndarray
    queries: int
    rules: LevelRules

    def table(self) -> list[dict[str, Any]]:
        """One row per feature and value tried: ``feature``, ``value`` (a level name for
        categoricals), ``accept_rate`` (NaN when unanswered) and ``kept``."""
        out = []
        schema = self.rules.schema
        for name in self.features:
            f = schema[name]
            for v, r in zip(self.levels[name], self.rates[name], strict=True):
                value = f.levels[int(v)] if f.type == "categorical" else float(v)
                out.append({"feature": name, "value": value, "accept_rate": float(r),
                            "kept": bool(np.isin(v, self.allowed[name]))})
        return out


def sweep_levels(
    oracle: Any,
    templates: np.ndarray,
    schema: Schema,
    *,
    accept: Any = 0,
    config: LevelSweepConfig | None = None,
    budget: int | None = None,
    repair: Callable[[np.ndarray], np.ndarray] | None = None,
    fallback: Mapping[str, float] | None = None,
) -> LevelSweep:
    """Greedy one-feature sweep over template rows against an accept/reject black box.

    For each feature in turn (``config.features``), every template is sent once per value tried,
    in one batch (value-major); the acceptance rate of a value is the share of its templates
    answered ``accept``. Values at least ``max(keep_ratio * best, best - keep_margin)`` are kept
    and the templates move to the best value. When no value is accepted (or nothing was
    answered) the templates move to ``fallback[name]`` and only that value is kept if a fallback
    is given; otherwise nothing is kept for that feature and the templates stay.

    Parameters
    ----------
    oracle
        A :class:`~mlsiege.targets.Budgeted` target (``predict`` only is used) or an
        :class:`~mlsiege.attacks.extraction.oracle.Oracle`. When the budget runs out mid-batch
        the answered part is kept (``QueryBudgetExceeded.partial``): a value counts only when
        every one of its templates was answered, and the sweep stops asking.
    templates
        Rows to vary (attack space), e.g. rows the attacker owns or has seen accepted.
    schema
        Feature space; names the features and their values.
    accept
        The answer that means "accepted".
    config
        :class:`LevelSweepConfig`.
    budget
        Rows this sweep may send (``None``: whatever the oracle has left).
    repair
        Makes candidate rows valid (default: :meth:`~mlsiege.schema.Schema.project`); rows still
        invalid after it are not sent.
    fallback
        Value per feature to use when none is accepted (attack-space codes).

    Returns
    -------
    LevelSweep

    Examples
    --------
    >>> from mlsiege.schema import Feature, Schema
    >>> from mlsiege.targets import Budgeted, from_callable
    >>> s = Schema([Feature("colour", "categorical", levels=("red", "green", "blue")), Feature("n", "integer", 0, 4)])
    >>> api = Budgeted(from_callable(lambda X: ((X[:, 0] == 2) | (X[:, 1] > 2)).astype(int)), 100)
    >>> out = sweep_levels(api, np.array([[0.0, 0.0], [1.0, 1.0]]), s)
    >>> {k: v.tolist() for k, v in out.allowed.items()}, out.queries
    ({'colour': [0.0, 1.0], 'n': [0.0, 1.0, 2.0]}, 16)
    """
    cfg = config if config is not None else LevelSweepConfig()
    fix = repair if repair is not None else schema.project
    fallback = dict(fallback or {})
    names = cfg.features if cfg.features is not None else tuple(
        f.name for f in schema.features if f.mutability == "mutable")
    for name in (*names, *cfg.levels, *fallback):
        schema.index(name)  # SchemaError naming an unknown feature
    ask = oracle if isinstance(oracle, Oracle) else Oracle(oracle, use_scores=False)
    cap = ask.remaining if budget is None else min(float(budget), ask.remaining)
    base = fix(np.array(np.atleast_2d(templates), dtype=float, copy=True))
    if base.shape[1] != schema.n_features:
        raise ConfigError(f"templates have {base.shape[1]} columns, the schema {schema.n_features}")
    b = len(base)
    sent = 0
    answers: list[np.ndarray] = []
    levels = {n: np.asarray(cfg.levels[n], dtype=float) if n in cfg.levels else feature_levels(schema, n, cfg.max_levels)
              for n in names}
    rates: dict[str, np.ndarray] = {}
    allowed: dict[str, np.ndarray] = {}
    for _ in range(cfg.sweeps):
        for name in names:
            j, grid = schema.index(name), levels[name]
            X = np.repeat(base[None], len(grid), axis=0)  # (values, templates, features)
            X[:, :, j] = grid[:, None]
            X = fix(X.reshape(-1, schema.n_features))
            valid = schema.valid_mask(X)
            which = np.repeat(np.arange(len(grid)), b)[valid]
            room = int(max(0.0, min(cap - sent, float(len(which)))))
            got = ask.ask(X[valid][:room]) if room and not ask.exhausted else np.empty(0)
            sent += len(got)
            answers.append(got)
            rate = np.full(len(grid), np.nan)
            for k in range(len(grid)):
                mine = np.flatnonzero(which == k)
                if len(mine) and mine[-1] < len(got):
                    rate[k] = float(np.mean(got[mine] == accept))
            rates[name] = rate
            known = ~np.isnan(rate)
            if known.any() and np.nanmax(rate) > 0:
                top = np.nanmax(rate)
                allowed[name] = grid[known & (rate >= max(cfg.keep_ratio * top, top - cfg.keep_margin))]
                best = grid[int(np.nanargmax(rate))]
            elif name in fallback:
                best = float(fallback[name])
                allowed[name] = np.array([best])
            else:
                allowed[name] = grid[:0]
                continue
            base[:, j] = best
            base = fix(base)
    seen = np.concatenate(answers) if answers else np.empty(0)
    others = [v for v in np.unique(seen) if v != accept] if len(seen) else []
    classes = getattr(ask, "classes", None)
    if not others and classes is not None:
        others = [v for v in classes if v != accept]
    reject = others[0] if others else accept
    rules = LevelRules(schema, levels, allowed, accept, reject)
    return LevelSweep(tuple(names), levels, rates, allowed, base, sent, rules)


def level_sweep_lowd2005(
    target: Any,
    *,
    schema: Schema,
    pool_X: np.ndarray | None = None,
    budget: int,
    seed: int = 0,
    accept: Any = 0,
    config: LevelSweepConfig | None = None,
    eval_X: np.ndarray | None = None,
    eval_y: np.ndarray | None = None,
    **options: Any,
) -> AttackResult:
    """Which value of each feature does the API accept? A one-feature-at-a-time sweep.

    Draws ``config.templates`` rows from ``pool_X`` (seeded; without a pool, feasible rows
    drawn uniformly inside the schema's bounds) and runs :func:`sweep_levels` on them. Queries
    that change one feature at a time are the probes of Lowd and Meek's adversarial learning of
    linear classifiers; reading the answers back as decision rules is the extraction of
    Tramèr et al. The surrogate is the box rule :class:`LevelRules` (accepted when every swept
    feature sits at a kept value), which is also what an operator crafts from.

    Parameters
    ----------
    target, schema, pool_X, budget, seed
        As for every extraction recipe (``budget``: rows this recipe may send).
    accept
        The answer that means "accepted" (default 0: 1 is "rejected", the
        :class:`~mlsiege.targets.ThresholdOracle` convention).
    config, **options
        :class:`LevelSweepConfig` or its fields as keywords.
    eval_X, eval_y
        Held-out rows and the target's answers on them, for ``metrics["fidelity"]``.

    Returns
    -------
    AttackResult
        ``artifacts``: ``surrogate`` (:class:`LevelRules`), ``sweep`` (:class:`LevelSweep`),
        ``table`` (:meth:`LevelSweep.table`), ``allowed``, ``queried`` and ``answers``.

    References
    ----------
    Lowd, Meek. "Adversarial Learning", KDD 2005. Tramèr, Zhang, Juels, Reiter, Ristenpart.
    "Stealing Machine Learning Models via Prediction APIs", USENIX Security 2016.
    """
    started = time.perf_counter()
    valid = sorted(f for f in LevelSweepConfig.__dataclass_fields__)
    check_options("level_sweep_lowd2005", options, valid)
    if config is not None and options:
        raise ConfigError(f"pass either config or options, not both (got {sorted(options)})")
    cfg = config if config is not None else LevelSweepConfig(**options)
    if eval_X is not None and eval_y is None:
        raise ConfigError("eval_X needs eval_y: the target's answers on the held-out rows")
    view = _budget_view(target, budget)
    rng = np.random.default_rng(seed)
    pool = np.empty((0, schema.n_features)) if pool_X is None else np.atleast_2d(np.asarray(pool_X, dtype=float))
    pool = pool[schema.valid_mask(pool)] if len(pool) else pool
    if len(pool) > cfg.templates:
        pool = pool[np.sort(rng.choice(len(pool), cfg.templates, replace=False))]
    elif not len(pool):
        pool = feasible(schema, box_samples(schema, Box.of(schema), 4 * cfg.templates, rng))[: cfg.templates]
    oracle = Oracle(view, use_scores=False)
    sweep = sweep_levels(oracle, pool, schema, accept=accept, config=cfg, budget=budget)
    queried = oracle.X if len(oracle) else np.empty((0, schema.n_features))
    answers = oracle.y
    metrics: dict[str, Any] = {"accept_rate": float(np.mean(answers == accept)) if len(answers) else float("nan"),
                               "features_constrained": int(sum(len(v) > 0 for v in sweep.allowed.values()))}
    if eval_X is not None:
        metrics["fidelity"] = float(np.mean(sweep.rules.predict(eval_X) == np.asarray(eval_y)))
    found = any(len(v) for v in sweep.allowed.values())
    return AttackResult(
        attack="level_sweep_lowd2005",
        status="succeeded" if found else "failed",
        artifacts={"surrogate": sweep.rules, "sweep": sweep, "table": sweep.table(),
                   "allowed": {k: v.copy() for k, v in sweep.allowed.items()}, "queried": queried, "answers": answers},
        queries=len(oracle),
        calls=int(getattr(view, "calls", 0)),
        seconds=time.perf_counter() - started,
        config={"accept": accept, "features": cfg.features, "levels": dict(cfg.levels), "max_levels": cfg.max_levels,
                "sweeps": cfg.sweeps, "templates": cfg.templates, "keep_ratio": cfg.keep_ratio,
                "keep_margin": cfg.keep_margin, "templates_from": "pool" if pool_X is not None and len(pool_X) else "schema"},
        seed=seed,
        atlas_techniques=ATLAS,
        metrics=metrics,
        failure_reason=None if found else "no value of any feature was answered as accepted within the budget",
    )
