"""The defender's registration pipeline: what each lifecycle control does to one event's traffic.

A registration meets the controls of a :class:`~mlsiege.lifecycle.profiles.MaturityProfile` in
lifecycle order and is *caught* by the first one that stops it:

* ``collect``: ``intake_rate_limits`` (at most ``rate_cap`` sign-ups per /24 subnet per hour) and
  ``provenance_tracking`` (the claimed referrer must fit the channel the row arrived through:
  a "partner" referrer through the public web form is refused);
* ``validate``: ``schema_validation`` (types, bounds, relations; disposable domains refused);
* ``serve``: the detector, and with ``probing_detection`` a cross-account near-duplicate detector
  (:class:`ProbeMatcher`, an exact-match cousin of Blacklight, Li et al. 2022) whose flags block
  a subnet for the rest of the event (and, with ``telemetry_logging``, for later events too);
* ``monitor``: ``drift_monitoring`` compares each day's accepted sign-ups per coarse cell with the
  reference event (a Poisson surge test); with ``human_review`` the surging cells' rows are
  removed, without it the alert is only logged;
* ``reuse``: ``poisoning_screen``, before the attendee list is exported, removes cells of
  registrants whose attendance is implausibly low (label-consistency screening; attendance is
  known once the event is over).

``train`` and ``evaluate`` controls act between events (hardening, retraining on cleaned data,
release gate), so they never catch a row themselves.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from mlsiege.lifecycle.controls import STAGES
from mlsiege.sim.registration import EMAIL, REFERRER

__all__ = ["Endpoint", "attendance_screen", "cell_keys", "drift_monitor", "provenance_pairs"]

NOT_CAUGHT = -1
_CELL_FEATURES = ("email_provider", "device", "referrer", "asn_type", "optional_fields", "account_age_days", "fill_seconds")


def provenance_pairs(referrer: np.ndarray, source: np.ndarray, min_share: float = 0.001) -> set[tuple[int, str]]:
    """(referrer code, source) pairs seen in at least ``min_share`` of reference registrations."""
    pairs, counts = np.unique(np.stack([referrer.astype(int).astype(str), source.astype(str)], axis=1),
                              axis=0, return_counts=True)
    keep = counts >= min_share * len(referrer)
    return {(int(r), str(s)) for (r, s), k in zip(pairs, keep, strict=True) if k}


def cell_keys(schema: Any, X: np.ndarray) -> np.ndarray:
    """A coarse cell id per row: form fields, network type, account-age and fill-time buckets."""
    col = {n: X[:, schema.index(n)] for n in _CELL_FEATURES}
    age = np.digitize(col["account_age_days"], [31, 366, 1500])
    fill = np.digitize(np.log(np.maximum(col["fill_seconds"], 0.5)), np.log([5, 15, 40, 100, 250]))
    parts = [col["email_provider"], col["device"], col["referrer"], col["asn_type"],
             np.minimum(col["optional_fields"] // 3, 2), age, fill]
    sizes = [len(EMAIL), 4, len(REFERRER), 5, 3, 4, 6]
    key = np.zeros(len(X), dtype=np.int64)
    for p, s in zip(parts, sizes, strict=True):
        key = key * s + np.clip(np.nan_to_num(p), 0, s - 1).astype(np.int64)
    return key


class Endpoint:
    """The registration endpoint of one profile during one event (collect, validate, serve).

    ``memory`` is the previous event's endpoint: with ``telemetry_logging`` its query history and
    blocklist carry over, so probes and registrations are matched against the last event's too.
    """

    def __init__(self, profile: Any, detector: Any, schema: Any, allowed_pairs: set[tuple[int, str]],
                 *, rate_cap: int = 20, seed: int = 0, memory: Endpoint | None = None) -> None:
        self.profile = profile
        self.detector = detector
        self.schema = schema
        self.allowed_pairs = allowed_pairs
        self.rate_cap = rate_cap
        self.blocked: set[int] = set()
        self.alerts: list[Any] = []
        self._matcher: ProbeMatcher | None = None
        if memory is not None:  # an audit log kept from the last event: same history, same blocklist
            self._matcher, self.blocked = memory._matcher, memory.blocked
        elif profile.has("probing_detection"):
            self._matcher = ProbeMatcher(schema)
        self._ref = schema.index("referrer")
        self._email = schema.index("email_provider")
        self._rate = schema.index("subnet_regs_hour")

    def stages(self, X: np.ndarray, sources: np.ndarray, subnets: np.ndarray) -> np.ndarray:
        """Index into :data:`STAGES` of the stage that stops each row, or -1 (accepted)."""
        X = np.atleast_2d(X)
        stage = np.full(len(X), NOT_CAUGHT)
        p = self.profile
        collect = np.zeros(len(X), dtype=bool)
        if p.has("intake_rate_limits", "collect"):
            collect |= X[:, self._rate] > self.rate_cap
        if p.has("provenance_tracking", "collect"):
            pairs = zip(X[:, self._ref].astype(int).tolist(), np.asarray(sources).astype(str).tolist(), strict=True)
            collect |= np.array([pair not in self.allowed_pairs for pair in pairs], dtype=bool)
        validate = np.zeros(len(X), dtype=bool)
        if p.has("schema_validation", "validate"):
            validate = ~self.schema.valid_mask(X) | (X[:, self._email] == EMAIL.index("disposable"))
        serve = self.detector.predict(X) == 1
        serve |= self._watch(X, subnets)
        for name, hit in (("collect", collect), ("validate", validate), ("serve", serve)):
            stage = np.where((stage == NOT_CAUGHT) & hit, STAGES.index(name), stage)
        return stage

    def _watch(self, X: np.ndarray, subnets: np.ndarray) -> np.ndarray:
        """Probing detection over requests in arrival order; rows from flagged subnets are refused."""
        if self._matcher is None:
            return np.zeros(len(X), dtype=bool)
        blocked = self._matcher.observe(X, np.asarray(subnets, dtype=np.int64), self.blocked)
        self.alerts = sorted(self.blocked)
        return blocked

    def probe(self, X: np.ndarray, subnets: np.ndarray) -> np.ndarray:
        """Answer the botnet's probes through the public web form: 1 = rejected."""
        sources = np.full(len(X), "web_form", dtype=object)
        return (self.stages(X, sources, subnets) != NOT_CAUGHT).astype(int)


class ProbeMatcher:
    """Flags request sources whose rows repeat an earlier request but for one field.

    One-feature probing and threshold bisection send rows that differ from an earlier row in a
    single form field, whichever account or subnet sends them. Each request is hashed once per
    non-derived column with that column left out; a hash seen before (from any source) is a
    *match*. A subnet is flagged at its ``min_matches``-th match and blocked from then on.
    Vectorised: a whole batch of requests is matched at once, in order.
    """

    def __init__(self, schema: Any, min_matches: int = 2) -> None:
        self.columns = np.flatnonzero(~schema.mask("derived"))
        self.min_matches = min_matches
        self._seen: list[set[int]] = [set() for _ in self.columns]
        self._matches: dict[int, int] = {}
        self._weights = np.random.default_rng(12_345).integers(1, 2**61, (len(self.columns), schema.n_features))

    def _hashes(self, X: np.ndarray) -> np.ndarray:
        Q = np.round(np.nan_to_num(X, nan=-1.0) * 100).astype(np.int64)  # 0.01 resolution
        out = np.empty((len(self.columns), len(X)), dtype=np.int64)
        for k, j in enumerate(self.columns):
            w = self._weights[k].copy()
            w[j] = 0
            w[~np.isin(np.arange(len(w)), self.columns)] = 0
            out[k] = Q @ w  # wraps around on overflow, as a hash may
        return out

    def observe(self, X: np.ndarray, keys: np.ndarray, blocked: set[int]) -> np.ndarray:
        """Match ``X`` (sent by ``keys``, in order); update ``blocked``; rows refused as blocked."""
        import pandas as pd

        if len(X) == 0:
            return np.zeros(0, dtype=bool)
        H = self._hashes(np.atleast_2d(X))
        match = np.zeros(len(X), dtype=bool)
        for k in range(len(self.columns)):
            seen = self._seen[k]
            values = H[k].tolist()
            match |= np.fromiter((h in seen for h in values), dtype=bool, count=len(values))
            match |= pd.Series(H[k]).duplicated().to_numpy()
            seen.update(values)
        rows = np.flatnonzero(match)
        earlier = np.array([self._matches.get(int(k), 0) for k in keys[rows]], dtype=int)
        nth = earlier + pd.Series(keys[rows]).groupby(keys[rows]).cumcount().to_numpy() + 1
        flag_at: dict[int, int] = {}
        for r, key, n in zip(rows.tolist(), keys[rows].tolist(), nth.tolist(), strict=True):
            self._matches[key] = n
            if n >= self.min_matches and key not in blocked and key not in flag_at:
                flag_at[key] = r
        was = np.isin(keys, np.fromiter(blocked, dtype=np.int64, count=len(blocked)))
        start = np.array([flag_at.get(int(k), len(X)) for k in keys]) if flag_at else np.full(len(X), len(X))
        blocked.update(flag_at)
        return was | (np.arange(len(X)) >= start)


def drift_monitor(schema: Any, X: np.ndarray, day: np.ndarray, reference_X: np.ndarray,
                  alpha: float = 1e-3) -> np.ndarray:
    """Rows in (day, cell) groups whose count surges over the reference share (Poisson test).

    The test is Bonferroni-corrected over every (day, cell) group tested.
    """
    if len(X) == 0:
        return np.zeros(0, dtype=bool)
    ref_keys, ref_counts = np.unique(cell_keys(schema, reference_X), return_counts=True)
    share = dict(zip(ref_keys.tolist(), (ref_counts / ref_counts.sum()).tolist(), strict=True))
    floor = 0.5 / max(len(reference_X), 1)
    keys = cell_keys(schema, X)
    day = np.asarray(day, dtype=np.int64)
    group = day * (1 << 40) + keys
    groups, inverse, counts = np.unique(group, return_inverse=True, return_counts=True)
    per_day = np.bincount(day - day.min())[(groups >> 40) - day.min()]
    expected = per_day * np.array([share.get(int(g & ((1 << 40) - 1)), floor) for g in groups])
    pvalue = stats.poisson.sf(counts - 1, expected)
    flagged = (pvalue < alpha / len(groups)) & (counts >= 5)
    return flagged[inverse]


def attendance_screen(schema: Any, X: np.ndarray, attended: np.ndarray, *, min_size: int = 10,
                      max_rate: float = 0.02) -> np.ndarray:
    """Rows in cells of at least ``min_size`` registrants of whom at most ``max_rate`` attended."""
    if len(X) == 0:
        return np.zeros(0, dtype=bool)
    keys, inverse, counts = np.unique(cell_keys(schema, X), return_inverse=True, return_counts=True)
    shows = np.bincount(inverse, weights=np.asarray(attended, dtype=float), minlength=len(keys))
    bad = (counts >= min_size) & (shows <= max_rate * counts)
    return bad[inverse]

