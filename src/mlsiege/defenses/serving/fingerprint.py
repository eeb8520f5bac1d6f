"""Cross-key detection of probing by matching query fingerprints over a global window.

Blacklight (Li, Shan, Wenger, Zhang, Zheng and Zhao, "Blacklight: Scalable Defense for Neural
Networks against Query-Based Black-Box Attacks", USENIX Security 2022) observes that iterative
black-box attacks send many near-identical queries. It quantizes each query, hashes pieces of it,
and finds earlier queries sharing many hashes in a table shared by every account, so an attacker
spreading its probes over many accounts is still seen. Images have neighbouring pixels; tabular
rows do not, so here the pieces are ``n_hashes`` random feature subsets, each quantized on a grid
of ``step`` (in units of the feature's range) with a random offset, as in locality-sensitive
hashing. A query *matches* an earlier one when they share at least ``match`` hashes; a key is
flagged once ``min_matches`` of its queries matched. The alert names the matched keys too.

An *exact* repeat of a row already in the window (a client retrying, or many clients sending
the same row of a public data set) is neither matched nor counted: the model's answer to it is
already known, so it teaches an attacker nothing, whereas probing needs rows that differ a
little. Only near-duplicates (distinct rows in the same cells) are evidence.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass

import numpy as np

from mlsiege.defenses.serving.alerts import Alert
from mlsiege.errors import ConfigError

__all__ = ["FingerprintConfig", "FingerprintDetector"]

_MIX = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True)
class FingerprintConfig:
    """Settings of :class:`FingerprintDetector`.

    step
        Quantization step as a fraction of each feature's range.
    n_hashes, subset
        Number of random feature subsets hashed per query, and their size.
    match
        Shared hashes that make two queries a match.
    min_matches
        Matching queries that flag a key.
    window
        Queries kept in the global table (all keys).
    bucket
        Most recent queries remembered per hash value (bounds the work per query).
    seed
        Seed of the subsets and offsets.
    skip_exact
        Ignore exact repeats of rows in the window (``False``: count them as matches, the
        behaviour before issue 18, kept to measure it against).
    """

    step: float = 0.02
    n_hashes: int = 24
    subset: int = 4
    match: int = 18
    min_matches: int = 2
    window: int = 50_000
    bucket: int = 16
    seed: int = 0
    skip_exact: bool = True

    def __post_init__(self) -> None:
        if not 0.0 < self.step <= 1.0:
            raise ConfigError(f"step must be in (0, 1], got {self.step}")
        if self.n_hashes < 1 or self.subset < 1:
            raise ConfigError("n_hashes and subset must be >= 1")
        if not 1 <= self.match <= self.n_hashes:
            raise ConfigError(f"match must be in [1, n_hashes={self.n_hashes}], got {self.match}")
        if self.min_matches < 1 or self.window < 1 or self.bucket < 1:
            raise ConfigError("min_matches, window and bucket must be >= 1")


class FingerprintDetector:
    """Global near-duplicate matching over every key's queries (after Li et al. 2022).

    Parameters
    ----------
    n_features
        Columns of a query row.
    scale, low
        Per-feature range and lower bound (``schema.scale()``, ``schema.low``) used to bring
        rows to a unit grid; ones and zeros when omitted.
    config
        A :class:`FingerprintConfig`.

    Examples
    --------
    >>> import numpy as np
    >>> det = FingerprintDetector(3)
    >>> x = np.array([[0.5, 0.5, 0.5]])
    >>> det.observe("a", x, query=0) + det.observe("b", x + 1e-4, query=1)
    []
    >>> det.observe("b", x - 1e-4, query=2)[0].related
    ('a', 'b')
    """

    name = "fingerprint"

    def __init__(
        self,
        n_features: int,
        *,
        scale: np.ndarray | None = None,
        low: np.ndarray | None = None,
        config: FingerprintConfig | None = None,
    ) -> None:
        cfg = self.config = config or FingerprintConfig()
        if n_features < 1:
            raise ConfigError(f"n_features must be >= 1, got {n_features}")
        rng = np.random.default_rng(cfg.seed)
        size = min(cfg.subset, n_features)
        self._subsets = np.stack([rng.choice(n_features, size, replace=False) for _ in range(cfg.n_hashes)])
        self._offsets = rng.uniform(0.0, 1.0, self._subsets.shape)
        self._weights = rng.integers(1, 2**62, self._subsets.shape, dtype=np.uint64) | np.uint64(1)
        self._salt = rng.integers(1, 2**62, cfg.n_hashes, dtype=np.uint64)
        self.scale = np.ones(n_features) if scale is None else np.asarray(scale, dtype=float)
        self.low = np.zeros(n_features) if low is None else np.nan_to_num(np.asarray(low, dtype=float))
        self._table: dict[int, deque[int]] = {}
        self._window: deque[tuple[int, np.ndarray]] = deque()
        self._owner: dict[int, str] = {}
        self._matches: Counter[str] = Counter()
        self._flagged: set[str] = set()
        self._exact: Counter[bytes] = Counter()  # rows of the window, byte-exact, with their count
        self.repeats: Counter[str] = Counter()  # exact repeats skipped, per key (for the evidence)

    def fingerprints(self, rows: np.ndarray) -> np.ndarray:
        """``(n, n_hashes)`` hash values of ``rows``."""
        X = np.atleast_2d(np.asarray(rows, dtype=float))
        Z = (X - self.low) / self.scale
        if not np.isfinite(Z).all():
            Z = np.nan_to_num(Z, nan=-1.0, posinf=1e6, neginf=-1e6)
        cells = np.floor(Z[:, self._subsets] / self.config.step + self._offsets).astype(np.int64)
        mixed = (cells.astype(np.uint64) * self._weights).sum(axis=2, dtype=np.uint64)
        return (mixed ^ self._salt) * _MIX

    def observe(self, key: str, rows: np.ndarray, *, query: int = 0, labels: object = None) -> list[Alert]:
        """Match ``rows`` sent by ``key`` against the window, then add them to it."""
        cfg = self.config
        alerts: list[Alert] = []
        X = np.atleast_2d(np.asarray(rows, dtype=float))
        for i, hashes in enumerate(self.fingerprints(X)):
            qid = query + i
            exact = X[i].tobytes()
            if cfg.skip_exact and self._exact[exact]:
                self.repeats[key] += 1  # an exact repeat carries no new information
                continue
            votes: Counter[int] = Counter()
            for h in hashes.tolist():
                bucket = self._table.get(h)
                if bucket:
                    votes.update(set(bucket))
            matched = [q for q, n in votes.items() if n >= cfg.match]
            self._insert(key, qid, hashes, exact)
            if not matched:
                continue
            self._matches[key] += 1
            if key in self._flagged or self._matches[key] < cfg.min_matches:
                continue
            self._flagged.add(key)
            related = tuple(sorted({self._owner[q] for q in matched if q in self._owner}))
            best = max(votes[q] for q in matched)
            others = [k for k in related if k != key]
            evidence = {"near_duplicates": self._matches[key], "min_matches": cfg.min_matches,
                        "shared_hashes": int(best), "of_hashes": cfg.n_hashes, "matched_keys": list(related),
                        "exact_repeats_ignored": self.repeats[key]}
            alerts.append(Alert(key, self.name, qid, float(best), related=related,
                                detail=f"{self._matches[key]} of this key's queries are near-duplicates (not "
                                       f"identical) of earlier queries, sharing {best} of {cfg.n_hashes} "
                                       f"cell hashes; matched keys: {', '.join(others) or 'its own only'}; "
                                       f"{self.repeats[key]} exact repeats ignored",
                                extra=evidence))
        return alerts

    def _insert(self, key: str, qid: int, hashes: np.ndarray, exact: bytes = b"") -> None:
        for h in hashes.tolist():
            bucket = self._table.get(h)
            if bucket is None:
                bucket = self._table[h] = deque(maxlen=self.config.bucket)
            bucket.append(qid)
        self._window.append((qid, hashes, exact))
        self._owner[qid] = key
        self._exact[exact] += 1
        while len(self._window) > self.config.window:
            old, old_hashes, old_exact = self._window.popleft()
            self._owner.pop(old, None)
            self._exact[old_exact] -= 1
            if self._exact[old_exact] <= 0:
                del self._exact[old_exact]
            for h in old_hashes.tolist():
                bucket = self._table.get(h)
                if bucket and bucket[0] == old:
                    bucket.popleft()
                if bucket is not None and not bucket:
                    del self._table[h]

    def forget(self, key: str) -> None:
        """Drop one key's counts and flag (its rows stay in the window: others may match them)."""
        self._matches.pop(key, None)
        self._flagged.discard(key)
        self.repeats.pop(key, None)

    def reset(self) -> None:
        """Forget every query and flag."""
        self._table.clear()
        self._window.clear()
        self._owner.clear()
        self._matches.clear()
        self._flagged.clear()
        self._exact.clear()
        self.repeats.clear()
