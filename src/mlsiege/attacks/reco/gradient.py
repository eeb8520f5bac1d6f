"""Gradient profile optimization against factor models: projected gradient ascent on fake rows.

Li et al. (2016) poison a factorization model by treating the fake users' rows as continuous
variables, taking the gradient of the attacker's utility through the model's alternating
minimization, and projecting back to a feasible profile. Tang, Wen & Wang (2020) argue the
gradient should flow through the *retraining* itself, unrolled, rather than through a
one-step approximation. This recipe does both on a least-squares matrix factorization, which is
exactly what a confidence-1 implicit ALS on binary engagement computes:

* the attacker fits its surrogate (``implicit``'s ALS with the victim family's reference
  settings and its own seed) on the public log and keeps its item factors ``Y0``;
* the fake rows ``M`` (``n_sybils x items``, targets fixed at 1, fillers relaxed to ``[0, 1]``)
  are appended to the public log and ``sweeps`` full ALS sweeps are unrolled from ``Y0``:
  ``U = Z Y (Y'Y + lambda I)^-1`` (every user, the sybils included), then
  ``Y = Z'U (U'U + lambda I)^-1``, with ``Z`` the public log stacked on ``M``; the real users'
  factors move too, so the gradient sees how the targets' factor runs off (docs/reco-attacks.md);
* the loss is a smooth hit ratio at ``k``: the mean over audience users who had not engaged a
  target of ``sigmoid((score(u, t) - score(u, j_u)) / tau)``, where ``j_u`` is the user's
  ``k``-th best unseen non-target item under the current factors (the gradient flows into both
  scores), ``tau`` = ``temperature`` times the mean gap between a user's 1st and ``k``-th score
  on the clean surrogate;
* gradient steps (hand-derived reverse mode through the unrolled sweeps, no autograd) are
  normalized by their largest entry, and ``M`` is projected after each one onto the budget set:
  the box ``[0, 1]`` and at most ``engagements_per_sybil - len(targets)`` non-zero fillers a row;
* the relaxed rows are rounded to a few binary profiles (each row's top ``n`` fillers for the
  ``profile_sizes`` and the full budget, and the entries the ascent pushed over 1/2), each is
  scored by retraining the victim family's surrogate on the public log
  (:func:`~mlsiege.attacks.reco.surrogate.rank_designs`), and the best is returned.

What the attacker knows: the public engagement matrix (real users' rows only, as every recipe
here), the victim's family and its reference settings (a white-box surrogate, like
:func:`~mlsiege.attacks.reco.optimized.white_box_surrogate_injection`); never the victim's seed,
its private data or its outputs. Against BPR the gradient is still taken on the least-squares
model (Li et al.'s formulation) and only the rounding is scored on a BPR surrogate.

Cost on the 100k-engagement benchmark log (2,000 users, 1,500 items, 32 factors): one ALS
surrogate fit, ``steps`` x (``sweeps`` forward and backward sweeps, about 10 ms each), and one
surrogate fit per rounded design.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from mlsiege.attacks.reco.profiles import SybilBudget, audience_ids, finish, prepare
from mlsiege.attacks.reco.surrogate import (
    SURROGATE_FAMILIES,
    family_of,
    rank_designs,
    surrogate_factory,
)
from mlsiege.errors import ConfigError

__all__ = ["GradientConfig", "gradient_mf_li2016", "unrolled_loss_and_grad"]


@dataclass(frozen=True)
class GradientConfig:
    """``steps``: projected-gradient iterations; ``sweeps``: ALS sweeps unrolled per evaluation;
    ``learning_rate``: the largest change of one fake entry per step; ``temperature``: the
    sigmoid's width, as a share of the clean surrogate's mean top-1 to top-``k`` score gap;
    ``init_scale``: fillers start uniform in ``[0, init_scale]`` (seeded); ``init``:
    ``"favourites"`` adds 1/2 to the audience's favourite fillers at the start (the ranked designs'
    block; on development data it helped BPR and hurt ALS, so ``"random"`` is the default); ``k``: the list
    length the attacker aims at; ``profile_sizes``: filler counts tried when rounding (the full
    budget and the ascent's own choice are always tried); ``surrogate``: the family the rounding
    is scored on (``"auto"``: the victim's family when ``recommender`` names it, else ALS);
    ``tie_tolerance``: rounded designs within this share of the best surrogate hit ratio count
    as tied and the one with fewer engagements wins."""

    steps: int = 40
    sweeps: int = 3
    learning_rate: float = 0.1
    temperature: float = 0.25
    init_scale: float = 0.05
    init: str = "random"
    k: int = 10
    profile_sizes: tuple[int, ...] = (2, 5, 10, 20)
    surrogate: str = "auto"
    tie_tolerance: float = 0.1

    def __post_init__(self) -> None:
        if self.steps < 0 or self.sweeps < 1 or self.k < 1:
            raise ConfigError(f"steps must be >= 0, sweeps and k >= 1, got {self.steps}, {self.sweeps}, {self.k}")
        if not (self.learning_rate > 0 and self.temperature > 0 and 0 <= self.init_scale <= 1):
            raise ConfigError("learning_rate and temperature must be > 0 and init_scale in [0, 1]")
        if any(int(n) != n or n < 0 for n in self.profile_sizes):
            raise ConfigError(f"profile_sizes must be non-negative integers, got {self.profile_sizes}")
        if self.init not in ("random", "favourites"):
            raise ConfigError(f"init must be 'random' or 'favourites', got {self.init!r}")
        if self.surrogate != "auto" and self.surrogate not in SURROGATE_FAMILIES:
            raise ConfigError(f"surrogate must be 'auto' or one of {', '.join(SURROGATE_FAMILIES)}, got {self.surrogate!r}")
        if not 0.0 <= self.tie_tolerance < 1.0:
            raise ConfigError(f"tie_tolerance must be in [0, 1), got {self.tie_tolerance}")

    @classmethod
    def from_options(cls, options: dict[str, Any] | None) -> GradientConfig:
        """A config from a plain mapping; an unknown key is a one-line ``ConfigError``."""
        options = dict(options or {})
        valid = [f.name for f in fields(cls)]
        unknown = sorted(set(options) - set(valid))
        if unknown:
            raise ConfigError(f"unknown gradient attack option(s) {', '.join(unknown)}; valid: {', '.join(valid)}")
        return cls(**options)


def _ridge_inverse(F: np.ndarray, lam: float) -> np.ndarray:
    return np.linalg.inv(F.T @ F + lam * np.eye(F.shape[1]))


def unrolled_loss_and_grad(
    public: sp.csr_matrix, fake: np.ndarray, Y0: np.ndarray, lam: float, sweeps: int,
    audience_users: np.ndarray, targets: np.ndarray, seen_aud: np.ndarray, tau: float, k: int,
) -> tuple[float, np.ndarray, float]:
    """Smoothed hit ratio of ``targets`` after ``sweeps`` unrolled ALS sweeps, its gradient with
    respect to ``fake`` (same shape), and the unsmoothed hit ratio of that unrolled model.

    ``seen_aud`` is a boolean ``audience x items`` matrix of what each audience user engaged.
    """
    n_real = public.shape[0]
    publicT = public.T.tocsr()
    Y = Y0
    tape = []
    for _ in range(sweeps):
        K1 = _ridge_inverse(Y, lam)
        V = np.vstack([public @ Y, fake @ Y])
        U = V @ K1
        K2 = _ridge_inverse(U, lam)
        Y_next = (publicT @ U[:n_real] + fake.T @ U[n_real:]) @ K2
        tape.append((Y, K1, V, U, K2))
        Y = Y_next
    # loss on the last sweep's factors
    Ua = U[audience_users]
    scores = Ua @ Y.T
    masked = np.where(seen_aud, -np.inf, scores)
    masked[:, targets] = -np.inf
    kth = min(k, masked.shape[1] - targets.size) - 1
    j = np.argpartition(-masked, kth, axis=1)[:, kth]
    rows = np.arange(len(audience_users))
    margin = (scores[:, targets] - scores[rows, j][:, None]) / tau
    eligible = ~seen_aud[:, targets]
    n_eligible = max(int(eligible.sum()), 1)
    sig = 1.0 / (1.0 + np.exp(-np.clip(margin, -50, 50)))
    loss = float((sig * eligible).sum() / n_eligible)
    hits = float(((margin > 0) & eligible).sum() / n_eligible)
    g = sig * (1.0 - sig) * eligible / (tau * n_eligible)  # dL/dscore(u, t)
    gUa = g @ Y[targets] - g.sum(axis=1)[:, None] * Y[j]
    gY = np.zeros_like(Y)
    gY[targets] += g.T @ Ua
    np.add.at(gY, j, -g.sum(axis=1)[:, None] * Ua)
    gU = np.zeros_like(U)
    gU[audience_users] = gUa
    grad = np.zeros_like(fake)
    for Y_in, K1, V, U, K2 in reversed(tape):
        # item step: Y_out = Z'U K2
        W = np.vstack([public @ gY, fake @ gY])
        grad += U[n_real:] @ K2 @ gY.T
        dK2 = U.T @ W
        dH2 = -K2 @ dK2 @ K2
        gU = gU + W @ K2 + U @ (dH2 + dH2.T)
        # user step: U = Z Y_in K1
        gV = gU @ K1
        dK1 = V.T @ gU
        dH1 = -K1 @ dK1 @ K1
        grad += gV[n_real:] @ Y_in.T
        gY = publicT @ gV[:n_real] + fake.T @ gV[n_real:] + Y_in @ (dH1 + dH1.T)
        gU = np.zeros_like(U)
    return loss, grad, hits


def _project(fake: np.ndarray, free: np.ndarray, n_fill: int) -> np.ndarray:
    """Onto the budget set: fillers in [0, 1], at most ``n_fill`` non-zero a row, targets at 1."""
    out = np.clip(fake, 0.0, 1.0)
    out[:, ~free] = 0.0
    if n_fill < free.sum():
        cut = np.argpartition(-np.where(free, out, -1.0), n_fill, axis=1)[:, n_fill:]
        np.put_along_axis(out, cut, 0.0, axis=1)
        out[:, ~free] = 0.0
    return out


def gradient_mf_li2016(
    interactions: Any,
    *,
    targets: Any,
    n_sybils: int,
    engagements_per_sybil: int = 30,
    audience: np.ndarray | None = None,
    follows: Any = None,
    recommender: Any = None,
    seed: int = 0,
    config: GradientConfig | dict[str, Any] | None = None,
) -> Any:
    """Projected gradient ascent on the sybils' rows through an unrolled least-squares MF
    surrogate, rounded to binary profiles ranked on the victim family's surrogate.

    Li, B., Wang, Y., Singh, A. & Vorobeychik, Y. (2016). Data poisoning attacks on
    factorization-based collaborative filtering. NeurIPS 2016 (projected gradient ascent on fake
    users' relaxed rows of an alternating-minimization MF). Tang, J., Wen, H. & Wang, K. (2020).
    Revisiting adversarially learned injection attacks in recommender systems. RecSys 2020 (the
    gradient taken through the unrolled retraining). ``config``: a :class:`GradientConfig` or a
    mapping of its fields (an unknown key raises ``ConfigError`` naming the valid ones).
    """
    started = time.perf_counter()
    if not isinstance(config, GradientConfig):
        config = GradientConfig.from_options(config)
    budget = SybilBudget(n_sybils, engagements_per_sybil)
    rng, matrix, targets = prepare(interactions, targets, budget, seed)
    binary = matrix.copy()
    binary.data[:] = 1.0
    binary.eliminate_zeros()
    n_items = binary.shape[1]
    users = audience_ids(audience, binary.shape[0])
    n_fill = min(engagements_per_sybil - targets.size, n_items - targets.size)
    family = family_of(recommender, default="als") if config.surrogate == "auto" else config.surrogate
    if family == "item-knn" and config.surrogate == "auto":
        family = "als"  # the gradient is a factor-model attack; an unnamed victim is modelled as ALS
    from mlsiege.targets.recommenders.factors import DEFAULTS

    mf = surrogate_factory("als", int(rng.integers(2**31)))().fit(binary, None)
    lam = float(DEFAULTS["als"].regularization)
    Y0 = mf.item_factors_.astype(np.float64)
    U0 = mf.user_factors_.astype(np.float64)
    seen_aud = binary[users].toarray() > 0
    clean = np.where(seen_aud, -np.inf, U0[users] @ Y0.T)
    top = -np.sort(-clean, axis=1)[:, [0, min(config.k, n_items) - 1]]
    ok = np.isfinite(top).all(axis=1)
    gap = float(np.mean(top[ok, 0] - top[ok, 1])) if ok.any() else 1.0
    tau = config.temperature * max(gap, 1e-6)

    free = np.ones(n_items, dtype=bool)
    free[targets] = False
    start = rng.random((n_sybils, n_items)) * config.init_scale
    if config.init == "favourites":  # the audience's favourites at 1/2: the ranked designs' block shape
        liked = np.asarray(seen_aud.sum(axis=0)).ravel().astype(float)
        liked[targets] = -1.0
        start[:, np.argsort(-liked, kind="stable")[:n_fill]] += 0.5
    fake = _project(start, free, n_fill)
    fake[:, targets] = 1.0
    trace = []
    best_loss, best_fake = -np.inf, fake.copy()
    with threadpool_limits(1, "blas"):
        for _ in range(config.steps + 1):
            loss, grad, hits = unrolled_loss_and_grad(binary, fake, Y0, lam, config.sweeps, users, targets, seen_aud, tau, config.k)
            trace.append(round(loss, 6))
            if loss > best_loss:
                best_loss, best_fake = loss, fake.copy()
            grad[:, targets] = 0.0
            scale = float(np.abs(grad).max())
            if scale <= 0:
                break
            fake = _project(fake + config.learning_rate * grad / scale, free, n_fill)
            fake[:, targets] = 1.0
    designs, labels = _round(best_fake, free, targets, n_fill, config)
    factory = surrogate_factory(family, int(rng.integers(2**31)))
    scores = rank_designs(factory, binary, designs, targets, users, config.k)
    sizes = np.array([d.nnz for d in designs])
    tied = np.flatnonzero(scores >= (1.0 - config.tie_tolerance) * scores.max())
    best = int(tied[np.argmin(sizes[tied])])
    return finish(
        "gradient_mf_li2016", designs[best], targets=targets, budget=budget, config=config, seed=seed, started=started,
        metrics={
            "surrogate": family, "design": labels[best], "surrogate_hr": float(scores[best]),
            "designs_tried": {label: float(v) for label, v in zip(labels, scores, strict=True)},
            "smoothed_hr_trace": trace, "tau": tau,
        },
    )


def _round(fake: np.ndarray, free: np.ndarray, targets: np.ndarray, n_fill: int, config: GradientConfig) -> tuple[list[sp.csr_matrix], list[str]]:
    """Binary profiles from the relaxed rows: each row's top-``n`` fillers, and its entries over 1/2."""
    n_rows, n_items = fake.shape
    weight = np.where(free, fake, -1.0)
    order = np.argsort(-weight, axis=1, kind="stable")
    designs, labels = [], []
    for n in sorted({min(int(n), n_fill) for n in (*config.profile_sizes, n_fill)}):
        mask = np.zeros_like(fake, dtype=bool)
        np.put_along_axis(mask, order[:, :n], True, axis=1)
        designs.append(mask & (weight > 0))
        labels.append(f"top-{n}")
    designs.append(weight >= 0.5)
    labels.append("over-half")
    out = []
    for mask in designs:
        mask = mask.copy()
        mask[:, targets] = True
        out.append(sp.csr_matrix(mask.astype(np.float32)))
    return out, labels
