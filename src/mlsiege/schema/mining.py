"""Relations mined from data: what holds on every row, and would rarely hold by chance.

``mlsiege schema infer`` proposes four kinds of relation, each checked on every row of the data:

* **equalities** ``a == b`` and ``a == b + c`` (a duplicated column, a total and its parts);
* **orderings** ``a <= b`` between features of shared units (both counts, both shares: ranges
  within a factor of :data:`UNIT_RATIO`), when the bounds alone do not imply it;
* **bounded sums** ``a + b <= c`` for non-negative features, ``c`` the next power of ten above
  the largest observed sum (1 for shares, 100 for percentages), else that sum rounded up;
* **conditional constants** ``status != 'refused' or payload == 0``: a feature that takes one
  value on every row of a category level (or of a 0/1 flag) and varies elsewhere.

A relation that holds on every row may still be a coincidence. Each candidate gets the chance of
holding on all ``n`` rows if its features were independent: for an ordering, ``(1 - p)^n`` with
``p`` the share of independent pairs ``(a_i, b_j)`` that break it (exact, by sorting); for a
conditional constant, ``q^m`` with ``q`` the share of all rows at that value and ``m`` the rows
of the level. A candidate is kept when that chance, times the number of candidates of its kind
tried and the number of kinds, is below :data:`ALPHA` (a Bonferroni bound over everything tried),
so a wide table does not flood the user with chance findings. The kept relations are ranked by that evidence (fewest features first), transitive
orderings are reduced (``a <= b``, ``b <= c`` drop ``a <= c``), each feature appears in at most
``per_feature`` of them and at most ``max_relations`` are proposed. Every one is marked
``inferred: true`` with its ``support`` (rows on which it was checked); a user drops one by
deleting it from the YAML.

This is the association-rule view of data profiling (Abedjan, Golab and Naumann, "Profiling
relational data: a survey", VLDB Journal 2015: order and denial constraints), reduced to the
shapes an attacker's row must respect (TabularBench, Simonetto et al. 2024).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mlsiege.schema.expressions import quote_name as _q
from mlsiege.schema.features import Constraint, Feature

__all__ = ["ALPHA", "UNIT_RATIO", "Mined", "mine_relations"]

#: family-wise chance of proposing one coincidental relation
ALPHA = 0.05
#: features whose largest magnitudes differ by more than this factor do not share a unit
UNIT_RATIO = 100.0
#: most numeric features compared pairwise (a wider table is mined on the first ones, with a note)
MAX_PAIR_FEATURES = 300
#: rows of the cheap first pass over pairs (every candidate is then checked on every row)
SAMPLE_ROWS = 2000
#: fewest rows of a level for a conditional constant
MIN_LEVEL_ROWS = 5


@dataclass(frozen=True)
class _Candidate:
    expr: str
    kind: str
    names: tuple[str, ...]
    evidence: float  # -log of the chance of holding on every row by coincidence
    support: int


@dataclass
class Mined:
    """Mined relations (``constraints``) and what the miner left out, in words (``notes``)."""

    constraints: list[Constraint] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tried: int = 0
    found: int = 0


def _num(v: float) -> str:
    v = float(v)
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else f"{v:.10g}"


def _usable(name: str) -> bool:
    return "`" not in name and name.strip() == name and bool(name)


def _values(frame: pd.DataFrame, f: Feature) -> np.ndarray:
    return pd.to_numeric(frame[f.name], errors="coerce").to_numpy(dtype=float)


def mine_relations(
    frame: pd.DataFrame,
    features: list[Feature] | tuple[Feature, ...],
    *,
    max_relations: int = 20,
    per_feature: int = 4,
    seed: int = 0,
) -> Mined:
    """Relations that hold on every row of ``frame`` (see the module docstring).

    Parameters
    ----------
    frame
        The data the features were inferred from (column names = feature names).
    features
        The inferred features (types decide which relations are tried).
    max_relations, per_feature
        Caps on the proposals, in all and per feature.
    seed
        Seed of the row sample of the first pass on tall tables.

    Examples
    --------
    >>> import pandas as pd
    >>> from mlsiege.schema import infer_schema
    >>> rng = np.random.default_rng(0)
    >>> sent = rng.integers(5, 40, 500)
    >>> df = pd.DataFrame({"sent": sent, "opened": rng.binomial(sent, 0.5)})
    >>> [c.expr for c in mine_relations(df, infer_schema(df).features).constraints]
    ['opened <= sent']
    """
    out = Mined()
    usable = [f for f in features if _usable(f.name) and f.mutability != "derived"]
    skipped = [f.name for f in features if not _usable(f.name)]
    if skipped:
        out.notes.append(f"no relation mined on {len(skipped)} columns whose names hold a backtick or "
                         f"edge spaces (e.g. {skipped[0]!r}); rename them to relate them")
    numeric = [f for f in usable if f.type in ("real", "integer") and _varies(frame, f)]
    if len(numeric) > MAX_PAIR_FEATURES:
        out.notes.append(f"pairs mined on the first {MAX_PAIR_FEATURES} of {len(numeric)} numeric columns")
        numeric = numeric[:MAX_PAIR_FEATURES]
    cands: list[_Candidate] = []
    tried: dict[str, int] = {}
    if len(numeric) >= 2:
        got, n_tried = _pairs(frame, numeric, seed)
        cands += got
        tried.update(n_tried)
    got, tried["conditional"] = _conditionals(frame, usable)
    cands += got
    out.tried = sum(tried.values())
    kinds = max(1, sum(1 for v in tried.values() if v))
    kept = [c for c in cands if c.evidence > math.log(max(tried.get(c.kind, 1), 1) * kinds / ALPHA)]
    out.found = len(kept)
    kept = _reduce_orderings(kept)
    kept.sort(key=lambda c: (len(c.names), -min(c.evidence, 1e6), c.expr))
    uses: dict[str, int] = {}
    chosen: list[_Candidate] = []
    for c in kept:
        if len(chosen) >= max_relations:
            break
        if any(uses.get(n, 0) >= per_feature for n in c.names):
            continue
        chosen.append(c)
        for n in c.names:
            uses[n] = uses.get(n, 0) + 1
    if len(kept) > len(chosen):
        out.notes.append(f"{len(kept) - len(chosen)} more relations held but were left out "
                         f"(caps: {max_relations} in all, {per_feature} per feature)")
    out.constraints = [Constraint(c.expr, inferred=True, support=c.support) for c in chosen]
    return out


def _varies(frame: pd.DataFrame, f: Feature) -> bool:
    v = _values(frame, f)
    v = v[np.isfinite(v)]
    return len(v) > 1 and v.min() < v.max()


def _chance_ordering(a: np.ndarray, b: np.ndarray) -> float:
    """Share of independent pairs (a_i, b_j) with a_i > b_j."""
    bs = np.sort(b)
    return float(np.searchsorted(bs, a, side="left").sum()) / (len(a) * len(b))


def _chance_sum(a: np.ndarray, b: np.ndarray, cap: float) -> float:
    """Share of independent pairs (a_i, b_j) with a_i + b_j > cap."""
    bs = np.sort(b)
    return float((len(b) - np.searchsorted(bs, cap - a, side="right")).sum()) / (len(a) * len(b))


def _evidence(p: float, n: int) -> float:
    """-log of the chance that a rule broken by a share ``p`` of independent rows holds on ``n``."""
    if p <= 0:
        return 0.0
    if p >= 1:
        return math.inf
    return -n * math.log1p(-p)


def _nice_cap(top: float, room: float) -> float | None:
    """The bound of a sum: the next power of ten above ``top`` if below ``room``, else ``top`` rounded up."""
    if top <= 0:
        return None
    power = 10.0 ** math.ceil(math.log10(top) - 1e-12)
    if power < room:
        return power
    digits = 10.0 ** (math.floor(math.log10(top)) - 1)
    cap = math.ceil(top / digits - 1e-9) * digits
    return cap if cap < room else None


def _pairs(frame: pd.DataFrame, numeric: list[Feature], seed: int) -> tuple[list[_Candidate], dict[str, int]]:
    names = [_q(f.name) for f in numeric]
    V = np.column_stack([_values(frame, f) for f in numeric])
    complete = np.all(np.isfinite(V), axis=1)
    V = V[complete]
    n = len(V)
    if n < 2:
        return [], {}
    rng = np.random.default_rng(seed)
    S = V if n <= SAMPLE_ROWS else V[rng.choice(n, SAMPLE_ROWS, replace=False)]
    lo, hi = V.min(axis=0), V.max(axis=0)
    mag = np.maximum(np.abs(lo), np.abs(hi))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.maximum.outer(mag, mag) / np.minimum.outer(mag, mag)
    share = np.isfinite(ratio) & (ratio <= UNIT_RATIO)
    np.fill_diagonal(share, False)
    d = len(names)
    # first pass on the sample: a <= b on every sampled row, and the largest sampled sums
    le = np.ones((d, d), dtype=bool)
    for i in range(d):
        le[i] = np.all(S[:, [i]] <= S, axis=0)
    cands: list[_Candidate] = []
    tried = {"equality": d * (d - 1) // 2, "ordering": 0, "sum": 0}
    equal: set[tuple[int, int]] = set()
    for i in range(d):
        for j in range(i + 1, d):
            if le[i, j] and le[j, i] and np.array_equal(V[:, i], V[:, j]):
                equal.add((i, j))
                cands.append(_Candidate(f"{names[i]} == {names[j]}", "equality", (names[i], names[j]), math.inf, n))
    dup = {j for _, j in equal}
    for i in range(d):
        for j in range(d):
            if i == j or not share[i, j] or i in dup or j in dup or (min(i, j), max(i, j)) in equal:
                continue
            if hi[i] <= lo[j]:
                continue  # the bounds already say so
            tried["ordering"] += 1
            if not le[i, j] or not np.all(V[:, i] <= V[:, j]):
                continue
            ev = _evidence(_chance_ordering(V[:, i], V[:, j]), n)
            cands.append(_Candidate(f"{names[i]} <= {names[j]}", "ordering", (names[i], names[j]), ev, n))
    nonneg = np.flatnonzero(lo >= 0)
    for a_pos, i in enumerate(nonneg):
        for j in nonneg[a_pos + 1 :]:
            if not share[i, j] or i in dup or j in dup:
                continue
            cap = _nice_cap(float((S[:, i] + S[:, j]).max()), float(hi[i] + hi[j]))
            if cap is None:
                continue
            tried["sum"] += 1
            top = float((V[:, i] + V[:, j]).max())
            if top > cap:
                cap = _nice_cap(top, float(hi[i] + hi[j]))
                if cap is None:
                    continue
            ev = _evidence(_chance_sum(V[:, i], V[:, j], cap), n)
            cands.append(_Candidate(f"{names[i]} + {names[j]} <= {_num(cap)}", "sum", (names[i], names[j]), ev, n))
    if d <= 60:
        got, n_tried = _sum_equalities(V, names, dup)
        cands += got
        tried["equality"] += n_tried
    return cands, tried


def _sum_equalities(V: np.ndarray, names: list[str], dup: set[int]) -> tuple[list[_Candidate], int]:
    """``a == b + c`` on every row (a total and its two parts), found by hashing column sums."""
    d = V.shape[1]
    head = V[: min(len(V), 64)]
    index: dict[bytes, list[int]] = {}
    for k in range(d):
        if k not in dup:
            index.setdefault(np.round(head[:, k], 9).tobytes(), []).append(k)
    out = []
    for i in range(d):
        for j in range(i + 1, d):
            if i in dup or j in dup:
                continue
            for k in index.get(np.round(head[:, i] + head[:, j], 9).tobytes(), []):
                if k in (i, j):
                    continue
                total = V[:, k]
                if np.all(np.abs(total - V[:, i] - V[:, j]) <= 1e-9 * (1 + np.abs(total))):
                    out.append(_Candidate(f"{names[k]} == {names[i]} + {names[j]}", "equality",
                                          (names[k], names[i], names[j]), math.inf, len(V)))
    return out, d * (d - 1) // 2


def _conditionals(frame: pd.DataFrame, usable: list[Feature]) -> tuple[list[_Candidate], int]:
    """A feature constant on every row of a category level (or a 0/1 flag) and varying elsewhere."""
    conds = [f for f in usable if f.type in ("categorical", "binary")
             or (f.type == "integer" and f.lower == 0 and f.upper == 1)]
    targets = [f for f in usable if f.type != "categorical" and _varies(frame, f)]
    cands: list[_Candidate] = []
    tried = 0
    for c in conds:
        raw = frame[c.name]
        key = raw.astype(str).where(raw.notna()) if c.type == "categorical" else pd.to_numeric(raw, errors="coerce")
        for t in targets:
            if t.name == c.name:
                continue
            v = pd.Series(_values(frame, t), index=frame.index)
            ok = v.notna() & key.notna()
            stats = v[ok].groupby(key[ok]).agg(["min", "max", "count"])
            tried += len(stats)
            const = stats[(stats["min"] == stats["max"]) & (stats["count"] >= MIN_LEVEL_ROWS)]
            if const.empty:
                continue
            values = v[ok].to_numpy()
            per_pair = []
            for level, row in const.iterrows():
                q = float(np.mean(values == row["min"]))
                if q >= 1.0:
                    continue
                lvl = repr(str(level)) if c.type == "categorical" else _num(float(level))
                expr = f"{_q(c.name)} != {lvl} or {_q(t.name)} == {_num(row['min'])}"
                per_pair.append(_Candidate(expr, "conditional", (c.name, t.name),
                                           -int(row["count"]) * math.log(q) if q > 0 else math.inf, int(row["count"])))
            per_pair.sort(key=lambda x: -x.evidence)
            cands += per_pair[:3]  # a feature fixed on every level is a lookup table, not a rule per level
    return cands, tried


def _reduce_orderings(cands: list[_Candidate]) -> list[_Candidate]:
    """Drop ``a <= c`` when ``a <= b`` and ``b <= c`` are both kept."""
    edges = {c.names for c in cands if c.kind == "ordering"}
    out = []
    for c in cands:
        if c.kind == "ordering":
            a, z = c.names
            if any((a, m) in edges and (m, z) in edges for m in {e[1] for e in edges if e[0] == a}):
                continue
        out.append(c)
    return out
