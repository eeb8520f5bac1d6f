"""Per-key detection of model-extraction and probing streams from query distances.

PRADA (Juuti, Szyller, Marchal and Asokan, "PRADA: Protecting against DNN Model Stealing
Attacks", EuroS&P 2019) keeps, for every client, the distance from each new query to the
closest earlier query of that client. Natural queries give distances that fit a normal
distribution; synthetic queries crafted around seeds (Jacobian augmentation, line searches,
boundary walks) give a skewed one. A Shapiro-Wilk statistic ``W`` below ``threshold`` flags the
client. Natural tabular rows give heavy-tailed distances (a few outlying records sit far from
everything), so by default the test runs on ``log(distance + floor)``: a log-normal fits natural
traffic well while a probing stream still piles up tiny distances. Distances are measured in the schema's scaled space (each feature divided by its range)
so every feature weighs alike; when predicted labels are given, the closest earlier query is
sought among those of the same label, as in the paper. A row identical to one the key sent
before (a retry) is skipped: its distance of 0 says nothing about probing, and counting it made a
client that retried one row three times look like a boundary walk.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
from scipy import stats

from mlsiege.defenses.serving.alerts import Alert
from mlsiege.errors import ConfigError

__all__ = ["PradaConfig", "PradaDetector"]


@dataclass(frozen=True)
class PradaConfig:
    """Settings of :class:`PradaDetector`.

    threshold
        Flag when the Shapiro-Wilk ``W`` of a key's distances falls below it (``delta``).
    min_queries
        Distances a key must have before it is tested.
    window
        Most recent distances tested (older ones are forgotten).
    history
        Most recent queries per key (and label) kept to measure distances against.
    log, floor
        Test ``log(distance + floor)`` rather than the distances (``log=False``: the paper's test).
    skip_repeats
        Skip a key's exact repeats of its own rows (``False``: count their distance 0, the
        behaviour before issue 18).
    """

    threshold: float = 0.85
    min_queries: int = 30
    window: int = 300
    history: int = 1000
    log: bool = True
    floor: float = 1e-3
    skip_repeats: bool = True

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise ConfigError(f"threshold must be in (0, 1), got {self.threshold}")
        if self.min_queries < 3:
            raise ConfigError(f"min_queries must be >= 3 (Shapiro-Wilk needs 3), got {self.min_queries}")
        if self.window < self.min_queries:
            raise ConfigError(f"window ({self.window}) must be >= min_queries ({self.min_queries})")
        if self.history < 1:
            raise ConfigError(f"history must be >= 1, got {self.history}")
        if self.floor <= 0:
            raise ConfigError(f"floor must be > 0, got {self.floor}")


class _Ring:
    """The most recent ``size`` rows of one key (and label), in a preallocated array."""

    __slots__ = ("count", "rows")

    def __init__(self, size: int, width: int) -> None:
        self.rows = np.empty((size, width))
        self.count = 0

    def nearest(self, x: np.ndarray) -> float | None:
        n = min(self.count, len(self.rows))
        if n == 0:
            return None
        diff = self.rows[:n] - x
        return float(np.sqrt(np.einsum("ij,ij->i", diff, diff).min()))

    def add(self, x: np.ndarray) -> None:
        self.rows[self.count % len(self.rows)] = x
        self.count += 1


class _KeyState:
    __slots__ = ("distances", "flagged", "groups", "repeats")

    def __init__(self, window: int) -> None:
        self.groups: dict[object, _Ring] = {}
        self.distances: deque[float] = deque(maxlen=window)
        self.flagged = False
        self.repeats = 0


class PradaDetector:
    """Per-key Shapiro-Wilk test over nearest-earlier-query distances (Juuti et al. 2019).

    Parameters
    ----------
    scale
        Per-feature divisor (``schema.scale()``); ones when omitted.
    config
        A :class:`PradaConfig`.

    Examples
    --------
    >>> import numpy as np
    >>> det = PradaDetector(config=PradaConfig(min_queries=20))
    >>> rng = np.random.default_rng(0)
    >>> natural = rng.normal(size=(20, 3))
    >>> probes = natural[0] + rng.normal(0, 1e-3, (30, 3))  # probing around one row
    >>> alerts = det.observe("user", natural) + det.observe("user", probes, query=20)
    >>> [(a.key, a.detector) for a in alerts]
    [('user', 'prada')]
    """

    name = "prada"

    def __init__(self, scale: np.ndarray | None = None, config: PradaConfig | None = None) -> None:
        self.config = config or PradaConfig()
        self.scale = None if scale is None else np.asarray(scale, dtype=float)
        self._keys: dict[str, _KeyState] = {}

    def reset(self, key: str | None = None) -> None:
        """Forget one key (or every key)."""
        if key is None:
            self._keys.clear()
        else:
            self._keys.pop(key, None)

    def forget(self, key: str) -> None:
        """Drop one key's state."""
        self.reset(key)

    def statistic(self, key: str) -> float | None:
        """The current W of ``key`` (``None`` before ``min_queries`` distances)."""
        state = self._keys.get(key)
        if state is None or len(state.distances) < self.config.min_queries:
            return None
        return self._w(np.fromiter(state.distances, float))

    def _w(self, d: np.ndarray) -> float:
        if np.ptp(d) <= 1e-12 * max(1.0, float(np.abs(d).max())):
            return 0.0  # every query at the same distance (repeats): as unnatural as it gets
        if self.config.log:
            d = np.log(d + self.config.floor)
        return float(stats.shapiro(d).statistic)

    def observe(
        self, key: str, rows: np.ndarray, *, labels: np.ndarray | None = None, query: int = 0
    ) -> list[Alert]:
        """Account for ``rows`` sent by ``key``; return the alert raised (at most one per key).

        ``query`` is the global sequence number of the first row (alerts carry the row's own).
        """
        X = np.atleast_2d(np.asarray(rows, dtype=float))
        if self.scale is not None:
            X = X / self.scale
        if not np.isfinite(X).all():
            X = np.nan_to_num(X, nan=0.0, posinf=0.0, neginf=0.0)
        state = self._keys.get(key)
        if state is None:
            state = self._keys[key] = _KeyState(self.config.window)
        cfg = self.config
        alerts: list[Alert] = []
        for i, x in enumerate(X):
            group = None if labels is None else _hashable(labels[i])
            seen = state.groups.get(group)
            if seen is None:
                seen = state.groups[group] = _Ring(min(cfg.history, 64), X.shape[1])
            elif seen.count == len(seen.rows) and len(seen.rows) < cfg.history:
                grown = _Ring(min(cfg.history, 4 * len(seen.rows)), X.shape[1])
                grown.rows[:seen.count] = seen.rows
                grown.count = seen.count
                seen = state.groups[group] = grown
            d = seen.nearest(x)
            if d == 0.0 and cfg.skip_repeats:
                state.repeats += 1  # the key's own row again: a retry, not a probe
                continue
            if d is not None:
                state.distances.append(d)
            seen.add(x)
            if state.flagged or len(state.distances) < cfg.min_queries:
                continue
            w = self._w(np.fromiter(state.distances, float))
            if w < cfg.threshold:
                state.flagged = True
                n = len(state.distances)
                alerts.append(Alert(
                    key, self.name, query + i, w,
                    detail=f"the distances between this key's last {n} distinct queries and its nearest "
                           f"earlier ones are not {'log-' if cfg.log else ''}normal (Shapiro-Wilk W={w:.3f} < "
                           f"{cfg.threshold}); {state.repeats} exact repeats ignored",
                    extra={"shapiro_w": round(w, 4), "threshold": cfg.threshold, "distances": n,
                           "exact_repeats_ignored": state.repeats}))
        return alerts


def _hashable(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value
