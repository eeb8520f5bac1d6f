"""Distribution-level detection of cheap model extraction, per key and across keys.

Cheap extraction sends rows nobody would send: uniform draws over the feature box, or small
noise around a handful of seed rows. Near-duplicate matching (Blacklight) and PRADA's
normality test miss both (uniform rows are far apart; noise large enough to escape a hash cell
still repeats the same few places). Three tests compare a key's query stream with a reference
sample of real rows (the training data handed to ``mlsiege serve --reference``, or, without
one, rows learned from the traffic of many keys):

* **off-distribution** (after Pal, Gupta, Kanade and Shevade, "Stateful Detection of Model
  Extraction Attacks", 2021, which compares a user's queries with the benign training
  distribution; and Kesarwani, Mukhoty, Arya and Mehta, "Model Extraction Warning in MLaaS
  Paradigm", ACSAC 2018, which watches how much of the low-density feature space a user
  covers): a row is *novel* when its distance to its ``k``-th nearest reference row exceeds the
  ``quantile`` of the same leave-one-out distance over the reference, so about ``1 - quantile``
  of real rows are novel. A key is flagged when its count of novel rows is improbable under that
  rate (times ``margin``): a one-sided binomial test at level ``alpha``.
* **concentration** (PRADA's idea, Juuti et al. 2019, of measuring each query against the
  key's earlier queries, calibrated on the reference): a row is a *revisit* when one of the
  key's own earlier rows is closer than ``revisit_ratio`` times its nearest reference row. If
  the key's ``m`` rows and the ``N`` reference rows were drawn alike, the nearest of them all
  would be the key's own with probability ``m / (m + N)`` (exchangeability), and that closer by
  the ratio with the share of reference rows whose nearest neighbour is that much closer than
  their second (measured on the reference). The key is flagged when its revisits are improbable
  under the sum of those chances (Poisson tail, times ``margin``). Noise around ten rows
  revisits the same ten places; honest clients ask about new rows.
* **population** (across keys): novel rows and revisits among the last ``window`` distinct rows
  of *all* keys, against the same binomial rate and Poisson mean. When the whole stream is off
  (an attack spread over many keys, each too small to be tested alone at ``alpha``), the key
  sending the row that tips it is flagged if its own test (without the margin) is below the
  looser ``attribution`` level.

Exact repeats are skipped everywhere: a row already sent by anyone (a retry, a row of a public
data set many clients share) gives nothing new, so neither a retrying client nor a crowd asking
about the same public rows builds evidence. Distances are in reference-standardized units.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special
from scipy.spatial import cKDTree
from sklearn.preprocessing import StandardScaler

from mlsiege.defenses.serving.alerts import Alert
from mlsiege.errors import ConfigError

__all__ = ["DistributionConfig", "DistributionDetector", "ReferenceModel", "isolated_rows", "trim_isolated"]


@dataclass(frozen=True)
class DistributionConfig:
    """Settings of :class:`DistributionDetector`.

    k, quantile
        A row is novel when its ``k``-th nearest reference distance exceeds this quantile of the
        reference's own leave-one-out distances.
    revisit_ratio
        A row revisits when an own earlier row is nearer than this times its nearest reference row.
    alpha, margin
        Level of every one-sided test (per key and over the population), and the factor applied to the null rate (room for honest
        traffic that is a little off the reference: noisy, a sub-population).
    min_evidence
        Novel rows (or revisits) a key needs before any test can flag it.
    window, attribution
        Distinct rows of all keys in the population tests; a population alert names the key
        sending the row that tips it when that key's own test is below ``attribution``.
    history
        Distinct rows kept per key for the revisit test.
    learn_rows, learn_keys, learn_per_key
        Without a reference: fit one on the first ``learn_rows`` distinct rows seen from at least
        ``learn_keys`` keys, at most ``learn_per_key`` rows from each.
    seen_window
        Distinct rows remembered to recognize exact repeats.
    """

    k: int = 5
    quantile: float = 0.99
    revisit_ratio: float = 0.5
    alpha: float = 1e-6
    attribution: float = 1e-3
    margin: float = 3.0
    min_evidence: int = 4
    window: int = 200
    history: int = 1000
    learn_rows: int = 500
    learn_keys: int = 10
    learn_per_key: int = 25
    seen_window: int = 200_000

    def __post_init__(self) -> None:
        if self.k < 2:
            raise ConfigError(f"k must be >= 2, got {self.k}")
        if not 0.0 < self.revisit_ratio <= 1.0:
            raise ConfigError(f"revisit_ratio must be in (0, 1], got {self.revisit_ratio}")
        if not 0.5 <= self.quantile < 1.0:
            raise ConfigError(f"quantile must be in [0.5, 1), got {self.quantile}")
        if not 0.0 < self.alpha < 0.5:
            raise ConfigError(f"alpha must be in (0, 0.5), got {self.alpha}")
        if self.margin < 1.0:
            raise ConfigError(f"margin must be >= 1, got {self.margin}")
        if min(self.min_evidence, self.window, self.history) < 1:
            raise ConfigError("min_evidence, window and history must be >= 1")
        if not 0.0 < self.attribution < 1.0:
            raise ConfigError(f"attribution must be in (0, 1), got {self.attribution}")
        if self.learn_rows < 2 * (self.k + 1) or self.learn_keys < 1 or self.learn_per_key < 1:
            raise ConfigError(f"learn_rows must be >= {2 * (self.k + 1)}; learn_keys, learn_per_key >= 1")


def trim_isolated(X: np.ndarray, k: int, *, cut: float = 3.0) -> np.ndarray:
    """``X`` without its isolated rows (:func:`isolated_rows`)."""
    X = np.asarray(X, dtype=float)
    return X[~isolated_rows(X, k, cut=cut)]


def isolated_rows(X: np.ndarray, k: int, *, cut: float = 3.0) -> np.ndarray:
    """Mask of ``X``'s isolated rows: a reference learned from traffic, cleaned of an attack's.

    Rows learned from traffic may include an attack that arrived while learning (uniform draws
    over the feature box are each far from every other row). Left in, they raise the novelty
    threshold (the ``quantile`` of leave-one-out distances) until the attack itself is no longer
    novel. A row is dropped when its leave-one-out distance to its ``k``-th neighbour exceeds the
    median of those distances by more than ``cut`` robust standard deviations (1.4826 MAD, Hampel's
    rule; Rousseeuw and Hubert, "Robust statistics for outlier detection", 2011), distances taken
    after median/IQR scaling so the isolated rows do not set the scale. Real rows in the tails are
    dropped too: the threshold then calls them novel a little more often, which the tests' ``margin``
    allows for, and :class:`ReferenceModel` counts the dropped rows in its ``novel_rate`` (they
    were traffic too), so honest keys' tails are not held to the trimmed sample's rate.
    """
    X = np.asarray(X, dtype=float)
    none = np.zeros(len(X), dtype=bool)
    if len(X) <= 2 * (k + 1):
        return none
    q1, med, q3 = np.percentile(X, [25, 50, 75], axis=0)
    spread = np.where(q3 - q1 > 0, q3 - q1, np.maximum(np.abs(X - med).max(axis=0), 1e-12))
    Z = (X - med) / spread
    dist, _ = cKDTree(Z).query(Z, k=k + 1)
    loo = dist[:, k]
    centre = np.median(loo)
    mad = 1.4826 * np.median(np.abs(loo - centre))
    if mad <= 0:
        return none
    keep = loo <= centre + cut * mad
    return ~keep if keep.sum() > 2 * (k + 1) else none


class ReferenceModel:
    """Nearest-neighbour view of a reference sample (scikit-learn ``StandardScaler``, SciPy's KD-tree).

    ``novel_rate`` is the share of reference rows whose leave-one-out ``k``-th neighbour
    distance exceeds ``threshold``: the rate at which real rows are called novel (``left_out``
    rows, the same traffic kept out of the tree, count in it at their own distance).
    ``revisit_share`` is the share whose nearest neighbour is closer than ``ratio`` times their
    second nearest.
    """

    def __init__(self, rows: np.ndarray, *, k: int = 5, quantile: float = 0.99, ratio: float = 0.5,
                 left_out: np.ndarray | None = None) -> None:
        X = np.asarray(rows, dtype=float)
        if X.ndim != 2 or len(X) < k + 2:
            raise ConfigError(f"a reference needs at least {k + 2} rows, got {len(X)}")
        if not np.isfinite(X).all():
            raise ConfigError("the reference holds missing or infinite values")
        scaler = StandardScaler().fit(X)
        # kept as arrays: one query row at a time, sklearn's input checks would cost more than the maths
        self.mean, self.scale = scaler.mean_, scaler.scale_
        Z = self.transform(X)
        self.n, self.k = len(Z), k
        self.tree = cKDTree(Z)
        dist, _ = self.tree.query(Z, k=min(k + 1, self.n))
        loo = dist[:, k]  # column 0 is the row itself
        self.threshold = float(np.quantile(loo, quantile))
        novel, seen = int(np.sum(loo > self.threshold)), self.n
        if left_out is not None and len(left_out):
            # rows of the same traffic kept out of the tree (trimmed): they count at their own distance
            out = self.neighbours(self.transform(left_out), k)[:, -1]
            novel, seen = novel + int(np.sum(out > self.threshold)), seen + len(out)
        self.novel_rate = max(novel / seen, 1.0 / seen)
        self.revisit_share = max(float(np.mean(dist[:, 1] < ratio * dist[:, 2])), 1.0 / self.n)

    def transform(self, X: np.ndarray) -> np.ndarray:
        return (np.asarray(X, dtype=float) - self.mean) / self.scale

    def neighbours(self, Z: np.ndarray, upto: int) -> np.ndarray:
        """``(n, upto)`` distances from standardized rows to their nearest reference rows."""
        dist, _ = self.tree.query(Z, k=min(upto, self.n))
        return dist.reshape(len(Z), -1)


class _Key:
    __slots__ = ("flagged", "lam", "n", "novel", "revisits", "rows")

    def __init__(self, width: int) -> None:
        self.rows = np.empty((0, width))
        self.n = self.novel = self.revisits = 0
        self.lam = 0.0
        self.flagged = False


class DistributionDetector:
    """Off-distribution, concentration and population tests against a reference sample.

    Parameters
    ----------
    reference
        Real rows in attack space (``schema.encode``), e.g. the training data; ``None`` learns a
        reference from the traffic (see :class:`DistributionConfig`).
    config
        A :class:`DistributionConfig`.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> real = rng.multivariate_normal([0, 0, 0], [[1, .9, .8], [.9, 1, .9], [.8, .9, 1]], 2000)
    >>> det = DistributionDetector(real)
    >>> det.observe("user", real[:60])
    []
    >>> [a.extra["test"] for a in det.observe("thief", rng.uniform(-3, 3, (20, 3)))]
    ['off-distribution']
    """

    name = "distribution"

    def __init__(self, reference: np.ndarray | None = None, config: DistributionConfig | None = None) -> None:
        self.config = cfg = config or DistributionConfig()
        self.model = None if reference is None else ReferenceModel(reference, k=cfg.k, quantile=cfg.quantile,
                                                                     ratio=cfg.revisit_ratio)
        self.learned = False
        self._learn: list[np.ndarray] = []
        self._learn_keys: Counter[str] = Counter()
        self._keys: dict[str, _Key] = {}
        self._seen: Counter[bytes] = Counter()
        self._seen_order: deque[bytes] = deque()
        self._window: deque[tuple[str, bool, bool, float]] = deque()
        self._wsum = np.zeros(3)
        self.repeats: Counter[str] = Counter()

    def forget(self, key: str) -> None:
        """Drop one key's state (its block was lifted: start afresh)."""
        self._keys.pop(key, None)
        self.repeats.pop(key, None)

    # ----------------------------------------------------------------- learning
    def _maybe_learn(self, key: str, X: np.ndarray) -> None:
        cfg = self.config
        take = max(0, cfg.learn_per_key - self._learn_keys[key])
        if take:
            self._learn.append(X[:take])
            self._learn_keys[key] += len(X[:take])
        n = sum(len(x) for x in self._learn)
        if n >= cfg.learn_rows and len(self._learn_keys) >= cfg.learn_keys:
            learned = np.vstack(self._learn)
            drop = isolated_rows(learned, cfg.k)
            self.model = ReferenceModel(learned[~drop], k=cfg.k, left_out=learned[drop],
                                        quantile=cfg.quantile, ratio=cfg.revisit_ratio)
            self.learned = True
            self._learn, self._learn_keys = [], Counter()

    def _fresh(self, X: np.ndarray) -> np.ndarray:
        """Mask of rows nobody sent before (recording them); exact repeats carry no information."""
        fresh = np.ones(len(X), dtype=bool)
        for i, row in enumerate(X):
            b = row.tobytes()
            if self._seen[b]:
                fresh[i] = False
                continue
            self._seen[b] += 1
            self._seen_order.append(b)
            if len(self._seen_order) > self.config.seen_window:
                del self._seen[self._seen_order.popleft()]
        return fresh

    # ----------------------------------------------------------------- detection
    def observe(self, key: str, rows: np.ndarray, *, labels: Any = None, query: int = 0) -> list[Alert]:
        """Account for ``rows`` sent by ``key``; ``query`` numbers the first row."""
        X = np.atleast_2d(np.asarray(rows, dtype=float))
        if not np.isfinite(X).all():
            X = np.nan_to_num(X, nan=0.0, posinf=0.0, neginf=0.0)
        fresh = self._fresh(X)
        self.repeats[key] += int((~fresh).sum())
        if self.model is None:
            if fresh.any():
                self._maybe_learn(key, X[fresh])
            return []
        idx = np.flatnonzero(fresh)
        if not len(idx):
            return []
        cfg, model = self.config, self.model
        Z = model.transform(X[idx])
        near = model.neighbours(Z, cfg.k)
        novel = near[:, min(cfg.k, model.n) - 1] > model.threshold
        radius = cfg.revisit_ratio * near[:, 0]
        state = self._keys.get(key)
        if state is None:
            state = self._keys[key] = _Key(Z.shape[1])
        alerts: list[Alert] = []
        for j, i in enumerate(idx):
            m = len(state.rows)
            revisit, chance = False, 0.0
            if m:
                d_own = np.sqrt(((state.rows - Z[j]) ** 2).sum(axis=1)).min()
                revisit = bool(d_own < radius[j])
                chance = m / (m + model.n) * model.revisit_share
                state.revisits += revisit
                state.lam += chance
            state.rows = np.vstack([state.rows[-(cfg.history - 1):], Z[j:j + 1]]) if cfg.history > 1 else Z[j:j + 1]
            state.n += 1
            state.novel += int(novel[j])
            self._slide(key, bool(novel[j]), revisit, chance)
            if state.flagged:
                continue
            found = self._test(key, state, (bool(novel[j]), revisit))
            if found is not None:
                state.flagged = True
                test, p, detail, evidence = found
                evidence.update(test=test, p_value=p, alpha=cfg.alpha, reference_rows=model.n,
                                reference="learned from traffic" if self.learned else "given",
                                exact_repeats_ignored=self.repeats[key])
                alerts.append(Alert(key, self.name, query + int(i), float(p), detail=detail, extra=evidence,
                                    related=tuple(evidence.get("keys", ()))))
        return alerts

    def _slide(self, key: str, novel: bool, revisit: bool, chance: float) -> None:
        self._window.append((key, novel, revisit, chance))
        self._wsum += np.array([novel, revisit, chance])
        if len(self._window) > self.config.window:
            _, n0, r0, c0 = self._window.popleft()
            self._wsum -= np.array([n0, r0, c0])

    def _key_p(self, s: _Key, margin: float) -> tuple[float, float]:
        """One-sided p-values of a key's novel rows (binomial) and revisits (Poisson)."""
        model = self.model
        rate = min(1.0, margin * model.novel_rate)
        p_novel = float(special.bdtrc(s.novel - 1, s.n, rate)) if s.novel else 1.0
        p_revisit = float(special.pdtrc(s.revisits - 1, margin * s.lam)) if s.revisits else 1.0
        return p_novel, p_revisit

    def _test(self, key: str, s: _Key, now: tuple[bool, bool]) -> tuple[str, float, str, dict[str, Any]] | None:
        cfg, model = self.config, self.model
        p_novel, p_revisit = self._key_p(s, cfg.margin)
        if s.novel >= cfg.min_evidence and p_novel < cfg.alpha:
            return ("off-distribution", p_novel,
                    f"{s.novel} of this key's {s.n} distinct queries lie outside the reference data "
                    f"(real rows: {model.novel_rate:.1%}; binomial p={p_novel:.2g} < {cfg.alpha:g})",
                    {"novel": s.novel, "distinct": s.n, "reference_novel_rate": model.novel_rate})
        if s.revisits >= cfg.min_evidence and p_revisit < cfg.alpha:
            return ("concentration", p_revisit,
                    f"{s.revisits} of this key's {s.n} distinct queries revisit its own earlier ones "
                    f"(real rows would: {s.lam:.2f} expected; Poisson p={p_revisit:.2g} < {cfg.alpha:g})",
                    {"revisits": s.revisits, "distinct": s.n, "expected": round(s.lam, 4)})
        w = len(self._window)
        nw, rw, cw = self._wsum
        rate = min(1.0, cfg.margin * model.novel_rate)
        # the population is the evidence; the key's own test only attributes it (no margin)
        own_novel, own_revisit = self._key_p(s, 1.0)
        for what, own, now_flag, count, p_pop in (
            ("outside the reference data", own_novel, now[0], int(round(nw)),
             lambda: float(special.bdtrc(round(nw) - 1, w, rate))),
            ("revisits of the sending key's own earlier queries", own_revisit, now[1], int(round(rw)),
             lambda: float(special.pdtrc(round(rw) - 1, cfg.margin * cw))),
        ):
            if not now_flag or count < cfg.min_evidence or own >= cfg.attribution:
                continue
            p = p_pop()
            if p < cfg.alpha:
                col = 1 if what.startswith("outside") else 2
                keys = sorted({e[0] for e in self._window if e[col]})
                return ("population", p,
                        f"{count} of the last {w} distinct queries of all keys are {what} (p={p:.2g} < "
                        f"{cfg.alpha:g}), from {len(keys)} keys; this key's own p={own:.2g} < {cfg.attribution:g} "
                        f"({s.novel} novel, {s.revisits} revisits in {s.n} distinct queries)",
                        {"window": w, "window_events": count, "novel": s.novel, "revisits": s.revisits,
                         "distinct": s.n, "key_p_value": own, "keys": keys[:50]})
        return None
