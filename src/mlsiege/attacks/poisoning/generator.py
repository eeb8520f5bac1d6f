"""The attacker's record generator: phony rows that look like a reference population.

A Gaussian copula over the reference rows (Nelsen 2006, *An Introduction to Copulas*): each
feature keeps its empirical marginal, the rank correlations between features are kept, and
every drawn row is brought into the schema (types, bounds, one-hot groups, relations). An
optional ``shift`` pulls the rows part of the way toward another population (the attacker's
real payload), and an ``accept`` callable (e.g. a deployed detector's ``predict(X) == 0``)
keeps only rows that would get through, by rejection sampling.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats

from mlsiege.errors import ConfigError, DataValidationError
from mlsiege.schema import Schema

__all__ = ["PhonyGenerator"]


@dataclass(frozen=True)
class PhonyGenerator:
    """Draw schema-valid rows whose marginals and rank correlations follow ``reference``.

    Parameters
    ----------
    schema
        Feature space; every row drawn satisfies it.
    reference
        Rows to imitate (attack space), at least 5.
    toward
        Optional rows of the population the attacker really wants in (its payload); drawn rows
        move a fraction ``shift`` of the way from a reference-like row to a random ``toward`` row.
    shift
        In ``[0, 1]``: 0 = pure imitation, 1 = the payload itself.
    jitter
        Extra Gaussian noise, as a fraction of each feature's reference spread.
    """

    schema: Schema
    reference: np.ndarray
    toward: np.ndarray | None = None
    shift: float = 0.0
    jitter: float = 0.0

    def __post_init__(self) -> None:
        ref = np.atleast_2d(np.asarray(self.reference, dtype=float))
        if ref.shape[0] < 5 or ref.shape[1] != self.schema.n_features:
            raise DataValidationError(
                f"reference needs >= 5 rows of {self.schema.n_features} columns, got shape {ref.shape}"
            )
        if not np.isfinite(ref).all():
            raise DataValidationError("reference rows hold NaN or inf", rows=np.flatnonzero(~np.isfinite(ref).all(1)).tolist())
        if not 0.0 <= self.shift <= 1.0:
            raise ConfigError(f"shift must be in [0, 1], got {self.shift}")
        if self.jitter < 0:
            raise ConfigError(f"jitter must be >= 0, got {self.jitter}")
        if self.shift > 0 and self.toward is None:
            raise ConfigError("shift > 0 needs the `toward` rows")
        object.__setattr__(self, "reference", ref)

    def _copula(self, n: int, rng: np.random.Generator) -> np.ndarray:
        ref = self.reference
        m, d = ref.shape
        ranks = np.apply_along_axis(stats.rankdata, 0, ref) / (m + 1)
        z = stats.norm.ppf(ranks)
        corr = np.corrcoef(z, rowvar=False) if d > 1 else np.ones((1, 1))
        corr = np.nan_to_num(corr, nan=0.0)
        np.fill_diagonal(corr, 1.0)
        corr = corr + 1e-6 * np.eye(d)
        draws = rng.multivariate_normal(np.zeros(d), corr, size=n, method="eigh")
        u = stats.norm.cdf(draws)
        out = np.empty((n, d))
        for j in range(d):
            out[:, j] = np.quantile(ref[:, j], u[:, j], method="linear")
        if self.jitter > 0:
            spread = ref.std(axis=0)
            out = out + rng.normal(0.0, 1.0, out.shape) * self.jitter * spread
        return out

    def _draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        X = self._copula(n, rng)
        if self.shift > 0 and self.toward is not None:
            payload = np.atleast_2d(np.asarray(self.toward, dtype=float))
            X = X + self.shift * (payload[rng.integers(0, len(payload), n)] - X)
        imm = self.schema.mask("immutable")
        if imm.any():  # immutable columns keep values a real reference row holds
            X[:, imm] = self.reference[rng.integers(0, len(self.reference), n)][:, imm]
        X = self.schema.repair(X)
        ok = self.schema.valid_mask(X)
        if ok.mean() < 0.5:  # relations cut most draws: solve them (slower) rather than waste
            X[~ok] = self.schema.project(X[~ok])
            ok = self.schema.valid_mask(X)
        return X[ok]

    def sample(
        self, n: int, seed: int = 0, *, accept: Callable[[np.ndarray], np.ndarray] | None = None, max_rounds: int = 20
    ) -> np.ndarray:
        """``n`` valid rows (fewer only if ``max_rounds`` of rejection sampling ran out).

        ``accept(X) -> bool mask`` keeps the rows that pass (e.g. not rejected by a detector).
        """
        if n < 0:
            raise ConfigError(f"n must be >= 0, got {n}")
        rng = np.random.default_rng(seed)
        kept: list[np.ndarray] = []
        have = 0
        for _ in range(max_rounds):
            if have >= n:
                break
            batch = self._draw(max(2 * (n - have), 16), rng)
            if accept is not None and len(batch):
                batch = batch[np.asarray(accept(batch), dtype=bool)]
            kept.append(batch)
            have += len(batch)
        out = np.vstack(kept) if kept else np.empty((0, self.schema.n_features))
        return out[:n]
