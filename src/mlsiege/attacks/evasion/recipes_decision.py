"""Decision-based (label-only) evasion recipes and the operator's one-feature heuristics.

Every recipe shares the family's calling convention and these options: ``y`` (original labels,
saving one query per point), ``target_label`` (targeted goal), ``threshold`` (of a raw anomaly
scorer without ``predict``), ``scale`` (the distance unit: ``"std"``, ``"range"``, ``"raw"`` or an array; default the
pool's standard deviation), ``on_point`` / ``point_ids`` (rows as they finish, for resumable
runs) and ``config`` (the search's frozen dataclass).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlsiege.attacks.evasion.hsj import HSJConfig, hsj_search
from mlsiege.attacks.evasion.probing import (
    ProbeConfig,
    ThresholdConfig,
    probe_search,
    threshold_search,
)
from mlsiege.attacks.evasion.runner import run_evasion
from mlsiege.attacks.evasion.walk import WalkConfig, walk_search
from mlsiege.results import AttackResult
from mlsiege.schema import Schema

__all__ = ["boundary_walk_brendel2018", "hopskipjump_chen2020", "one_feature_probe", "threshold_bisection"]


def hopskipjump_chen2020(
    target: Any,
    X: np.ndarray,
    *,
    schema: Schema,
    pool_X: np.ndarray | None = None,
    pool_y: np.ndarray | None = None,
    budget: int | None = 250,
    seed: int = 0,
    config: HSJConfig | None = None,
    y: np.ndarray | None = None,
    target_label: Any = None,
    threshold: float | None = None,
    scale: Any = None,
    **options: Any,
) -> AttackResult:
    """Label-only HopSkipJump with a data-driven start and schema projection.

    Chen, Jordan and Wainwright, "HopSkipJumpAttack: A Query-Efficient Decision-Based Attack",
    IEEE S&P 2020. Composed from :func:`~mlsiege.attacks.evasion.starts.find_start` (nearest
    pool row of another class, else random feasible rows), :func:`~mlsiege.attacks.evasion.
    boundary.bisect`, :func:`~mlsiege.attacks.evasion.hsj.hsj_search` and the shrink pass; the
    :class:`~mlsiege.attacks.evasion.oracle.PointOracle` projects every probe onto ``schema``.

    Parameters
    ----------
    target
        A :class:`~mlsiege.targets.Budgeted` target (a raw one is wrapped without a total cap).
    X
        Rows to attack (attack space).
    schema
        Feasible set; every returned row satisfies ``schema.valid_mask(adv, X)``.
    pool_X, pool_y
        The attacker's known rows and their labels (labels are bought with queries if absent).
    budget
        Queries per point (hard cap; the first query learns the original label unless ``y``).
    seed
        Seed of the attack's random generator.
    config
        :class:`~mlsiege.attacks.evasion.hsj.HSJConfig`.
    y, target_label, threshold, scale
        Original labels if known; targeted goal; threshold of a raw anomaly scorer; the distance
        unit (``"std"``, ``"range"``, ``"raw"`` or an array; default the pool's standard
        deviation, see :mod:`~mlsiege.attacks.evasion.units`).
    options
        ``on_point`` and ``point_ids`` of :func:`~mlsiege.attacks.evasion.runner.run_evasion`.
    """
    return run_evasion(
        "hopskipjump_chen2020", hsj_search, config or HSJConfig(), target, X, schema=schema,
        pool_X=pool_X, pool_y=pool_y, budget=budget, seed=seed, y=y, target_label=target_label,
        threshold=threshold, scale=scale, **options,
    )


def boundary_walk_brendel2018(
    target: Any, X: np.ndarray, *, schema: Schema, pool_X: np.ndarray | None = None,
    pool_y: np.ndarray | None = None, budget: int | None = 250, seed: int = 0,
    config: WalkConfig | None = None, **options: Any,
) -> AttackResult:
    """Boundary walk from the nearest adversarial pool row, projected onto ``schema``.

    Brendel, Rauber and Bethge, "Decision-Based Adversarial Attacks: Reliable Attacks Against
    Black-Box Machine Learning Models", ICLR 2018; search in
    :func:`~mlsiege.attacks.evasion.walk.walk_search`. Options as for
    :func:`hopskipjump_chen2020` (``y``, ``target_label``, ``threshold``, ``scale``).
    """
    return run_evasion(
        "boundary_walk_brendel2018", walk_search, config or WalkConfig(), target, X, schema=schema,
        pool_X=pool_X, pool_y=pool_y, budget=budget, seed=seed, **options,
    )


def one_feature_probe(
    target: Any, X: np.ndarray, *, schema: Schema, pool_X: np.ndarray | None = None,
    pool_y: np.ndarray | None = None, budget: int | None = 250, seed: int = 0,
    config: ProbeConfig | None = None, **options: Any,
) -> AttackResult:
    """Try every mutable feature alone, nearest changes first, then bisect the first that flips.

    The operator's heuristic; single-feature attacks after Su, Vargas and Sakurai, "One Pixel
    Attack for Fooling Deep Neural Networks", IEEE TEVC 2019. See
    :func:`~mlsiege.attacks.evasion.probing.probe_search`. Options as for
    :func:`hopskipjump_chen2020`.
    """
    return run_evasion(
        "one_feature_probe", probe_search, config or ProbeConfig(), target, X, schema=schema,
        pool_X=pool_X, pool_y=pool_y, budget=budget, seed=seed, **options,
    )


def threshold_bisection(
    target: Any, X: np.ndarray, *, schema: Schema, pool_X: np.ndarray | None = None,
    pool_y: np.ndarray | None = None, budget: int | None = 250, seed: int = 0,
    config: ThresholdConfig | None = None, **options: Any,
) -> AttackResult:
    """"Raise form-fill time until accepted": push named features until the label flips, bisect.

    Doubling steps then bisection on one feature (the line search of Chen et al. 2020 reduced
    to one axis). ``config.features`` names the features to push (default: every mutable one)
    in the direction the schema allows. See
    :func:`~mlsiege.attacks.evasion.probing.threshold_search`. Options as for
    :func:`hopskipjump_chen2020`.
    """
    return run_evasion(
        "threshold_bisection", threshold_search, config or ThresholdConfig(), target, X, schema=schema,
        pool_X=pool_X, pool_y=pool_y, budget=budget, seed=seed, **options,
    )
