"""The botnet of the registration scenario: infrastructure, probing heuristics, crafting.

The botnet rents residential and mobile proxies (``subnets`` /24 networks) and holds a budget of
accounts (one per phony registration), part freshly created and part bought aged. It sees only
the registration endpoint's accept/reject answer, through a :class:`~mlsiege.targets.Budgeted`
probe channel, and uses simple heuristics a real operator would:

1. **one-feature probing** (greedy coordinate search): from a template, vary one form field at a
   time over its values and keep the values the endpoint accepts; when no value is accepted the
   operator falls back to a human-looking default;
2. **threshold bisection** on the fill time: the fastest form fill that still passes, found with
   the library's :func:`~mlsiege.attacks.evasion.threshold_bisection` (doubling steps, then
   bisection) on each template row;
3. **crafting**: phony registrations drawn from the recovered rules, each on one of its own
   accounts and proxies (the server-observed fields are the infrastructure's, never edited),
   made constraint-valid, and checked against the endpoint while the probe budget lasts.

The recovered rules are a decision-rule extraction in the spirit of Tramèr et al. (2016,
"Stealing Machine Learning Models via Prediction APIs"), done with the cheapest queries.

The botnet knows only what a real operator would: the public form (the schema: its fields, their
values and the form's own validation rules, such as the minimum time per field) and the answers
to its probes. It does not know how the platform's users are spread over countries: it rents
proxies evenly over the form's countries, and learns which of its accounts and proxies are worth
using from the endpoint's answers (:func:`verify_rules`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlsiege.attacks.evasion import threshold_bisection
from mlsiege.attacks.evasion.probing import ThresholdConfig
from mlsiege.errors import ConfigError, QueryBudgetExceeded
from mlsiege.sim.registration import ASN, COUNTRY, DEVICE, EMAIL, REFERRER

__all__ = ["BotnetConfig", "Infrastructure", "ProbeChannel", "Rules", "craft_registrations", "recover_rules"]

ATTACKER_SUBNETS = 2 * 10**12  # subnet ids of the botnet's proxies start here
AGE_EDGES = (31, 91, 366)  # the operator sorts its accounts by age: <31, <91, <366, older days

# the form fields the operator probes, in order, and the values tried
_CATEGORICAL = {"email_provider": EMAIL, "device": DEVICE, "referrer": REFERRER}
_ORDER = ("device", "email_provider", "referrer", "optional_fields", "name_email_match", "hour_of_day",
          "days_before_event")
_NAIVE = {"email_provider": "gmail", "device": "headless", "referrer": "direct", "optional_fields": 0,
          "name_email_match": 0, "hour_of_day": 3, "days_before_event": 20}
_HUMAN = {"email_provider": "gmail", "device": "mobile", "referrer": "search", "optional_fields": 3,
          "name_email_match": 1, "hour_of_day": 14, "days_before_event": 10}
_HUMAN_FILL = 80.0


@dataclass(frozen=True)
class BotnetConfig:
    """The attacker's budget per event.

    Parameters
    ----------
    accounts
        Phony registrations it submits (one account each).
    probes
        Probe budget: rows it may send to the endpoint to learn its rules.
    subnets
        /24 networks of residential and mobile proxies it spreads over.
    fresh_account_share
        Share of its accounts created for the attack (the rest are bought, aged accounts).
    base_rows
        Template rows each probe variant is tried on.
    sweeps
        Passes of one-feature probing.
    """

    accounts: int = 2000
    probes: int = 1500
    subnets: int = 300
    fresh_account_share: float = 0.5
    base_rows: int = 8
    sweeps: int = 2

    def __post_init__(self) -> None:
        for name in ("accounts", "probes", "subnets", "base_rows", "sweeps"):
            v = getattr(self, name)
            if int(v) != v or v < (0 if name == "probes" else 1):
                raise ConfigError(f"botnet {name} must be a positive integer, got {v!r}")
        if not 0 <= self.fresh_account_share <= 1:
            raise ConfigError(f"fresh_account_share must be in [0, 1], got {self.fresh_account_share!r}")


@dataclass
class Infrastructure:
    """Server-observed facts of the botnet's proxies and accounts (immutable for the attacker)."""

    config: BotnetConfig
    seed: int
    rng: np.random.Generator = field(init=False)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng([self.seed, 4_099])
        n = self.config.subnets
        self.subnet_ids = ATTACKER_SUBNETS + np.arange(n) + 10_000 * (self.seed % 1000)
        self.subnet_asn = np.where(self.rng.random(n) < 0.7, ASN.index("residential"), ASN.index("mobile"))
        self.subnet_country = self.rng.integers(0, len(COUNTRY), n)  # evenly: the operator knows no user base

    def accounts(self, n: int) -> np.ndarray:
        """Ages (days) of ``n`` accounts from the budget: fresh ones and bought aged ones."""
        fresh = self.rng.random(n) < self.config.fresh_account_share
        return np.where(fresh, self.rng.integers(0, 31, n), self.rng.integers(30, 1500, n))

    def assign(self, n: int, countries: tuple[int, ...] | None = None) -> np.ndarray:
        """Proxy (index into the subnets) for each of ``n`` submissions, spread evenly.

        ``countries``: use only the proxies in these countries (the ones its probes found to pass).
        """
        pool = np.arange(self.config.subnets)
        if countries is not None:
            kept = pool[np.isin(self.subnet_country, countries)]
            pool = kept if len(kept) else pool
        return self.rng.permutation(np.resize(pool, n))

    def subnets_for(self, X: np.ndarray, schema: Any) -> np.ndarray:
        """A subnet id per row among the proxies whose country and network type the row shows."""
        country = X[:, schema.index("ip_country")].astype(int)
        asn = X[:, schema.index("asn_type")].astype(int)
        out = self.subnet_ids[self.assign(len(X))]
        for c, a in set(zip(country.tolist(), asn.tolist(), strict=True)):
            rows = np.flatnonzero((country == c) & (asn == a))
            pool = self.subnet_ids[(self.subnet_country == c) & (self.subnet_asn == a)]
            if len(pool):
                out[rows] = self.rng.choice(pool, len(rows))
        return out


class ProbeChannel:
    """What the botnet's probes look like to the endpoint: ``predict`` (1 = rejected) only.

    Every probe row arrives from one of the botnet's proxies through the public web form.
    """

    classes_ = np.array([0, 1])

    def __init__(self, endpoint: Any, infra: Infrastructure) -> None:
        self.endpoint = endpoint
        self.infra = infra

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = np.atleast_2d(np.asarray(X, dtype=float))
        return self.endpoint.probe(X, self.infra.subnets_for(X, self.endpoint.schema))


@dataclass
class Rules:
    """What the operator believes the endpoint accepts."""

    allowed: dict[str, np.ndarray]
    fill_min: float
    templates: np.ndarray
    probe_accept_rate: float = 0.0
    age_buckets: tuple[int, ...] = (0, 1, 2, 3)  # account-age buckets worth using (AGE_EDGES)
    countries: tuple[int, ...] | None = None  # proxy countries worth using (None: every one rented)

    def usable(self, X: np.ndarray, schema: Any) -> np.ndarray:
        """Rows whose account the operator expects to pass (it knows its own accounts' ages)."""
        return np.isin(np.digitize(X[:, schema.index("account_age_days")], AGE_EDGES), self.age_buckets)

    def to_dict(self, schema: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, values in self.allowed.items():
            f = schema[name]
            out[name] = [f.levels[int(v)] for v in values] if f.type == "categorical" else [int(v) for v in values]
        out["fill_seconds_min"] = round(float(self.fill_min), 2)
        edges = (0, *AGE_EDGES, None)
        out["account_age_days"] = [f"{edges[b]}-{'' if edges[b + 1] is None else edges[b + 1] - 1}" for b in self.age_buckets]
        if self.countries is not None:
            out["proxy_countries"] = [schema["ip_country"].levels[int(c)] for c in self.countries]
        return out


def _code(name: str, value: Any) -> float:
    return float(_CATEGORICAL[name].index(value)) if name in _CATEGORICAL else float(value)


def _grid(name: str, schema: Any) -> np.ndarray:
    f = schema[name]
    if f.type == "categorical":
        return np.arange(len(f.levels), dtype=float)
    if name == "hour_of_day":
        return np.arange(0, 24, 3, dtype=float)
    if name == "days_before_event":
        return np.unique(np.linspace(0, f.high, 6).round())
    return np.arange(f.low, f.high + 1, dtype=float)


def _rows(schema: Any, infra: Infrastructure, n: int, values: dict[str, Any], fill: np.ndarray | float,
          countries: tuple[int, ...] | None = None) -> np.ndarray:
    """Rows with the given form values on ``n`` of the botnet's accounts and proxies (in ``countries``)."""
    X = np.zeros((n, schema.n_features))
    for name, v in values.items():
        X[:, schema.index(name)] = _code(name, v) if np.isscalar(v) or isinstance(v, str) else v
    proxy = infra.assign(n, countries)
    X[:, schema.index("ip_country")] = infra.subnet_country[proxy]
    X[:, schema.index("country")] = infra.subnet_country[proxy]  # declare what the IP says
    X[:, schema.index("asn_type")] = infra.subnet_asn[proxy]
    X[:, schema.index("account_age_days")] = infra.accounts(n)
    X[:, schema.index("subnet_regs_hour")] = 1
    X[:, schema.index("fill_seconds")] = fill
    return make_valid(schema, X)


def make_valid(schema: Any, X: np.ndarray) -> np.ndarray:
    """Snap types and bounds, lift the fill time until the form's own rules accept the row.

    The floors (seconds per field, slower on mobile) are read from the public form's validation
    (the schema's constraints), by bisection on the fill time per row, never from the simulator.
    """
    X = schema.recompute_derived(schema.repair(X))
    j = schema.index("fill_seconds")
    bad = ~schema.valid_mask(X)
    if not bad.any():
        X[:, j] = np.round(X[:, j], 2)
        return schema.recompute_derived(X)
    lo = X[bad, j].copy()
    hi = np.maximum(lo, 1.0)
    for _ in range(12):  # double until the form accepts (every row has a finite floor)
        trial = X[bad].copy()
        trial[:, j] = hi
        ok = schema.valid_mask(schema.recompute_derived(trial))
        if ok.all():
            break
        hi = np.where(ok, hi, np.minimum(2 * hi, schema.high[j]))
    for _ in range(14):  # then bisect to 0.01 s of the floor
        mid = 0.5 * (lo + hi)
        trial = X[bad].copy()
        trial[:, j] = mid
        ok = schema.valid_mask(schema.recompute_derived(trial))
        hi, lo = np.where(ok, mid, hi), np.where(ok, lo, mid)
    X[bad, j] = np.minimum(np.ceil(hi * 100 + 1) / 100, schema.high[j])
    X[~bad, j] = np.round(X[~bad, j], 2)
    return schema.recompute_derived(X)


def _ask(oracle: Any, X: np.ndarray) -> np.ndarray | None:
    """Accepted flags for the rows answered (``None`` when the budget is spent)."""
    if len(X) == 0 or oracle.remaining < 1:
        return None
    try:
        return np.asarray(oracle.predict(X)) == 0
    except QueryBudgetExceeded as exc:
        part = np.asarray(exc.partial)
        return (part == 0) if len(part) else None


def recover_rules(oracle: Any, schema: Any, infra: Infrastructure, seed: int = 0) -> Rules:
    """One-feature probing and fill-time bisection against a ``Budgeted`` accept/reject oracle."""
    cfg = infra.config
    rng = np.random.default_rng(seed)
    b = cfg.base_rows
    current = dict(_NAIVE)
    base = _rows(schema, infra, b, current, 0.0)  # the fastest fill the form allows
    base[:, schema.index("fill_seconds")] *= 1.5
    base = make_valid(schema, base)
    ok = _ask(oracle, base)
    if ok is not None and ok.mean() < 0.5:  # the naive script is refused: start from a human look
        base = _rows(schema, infra, b, _HUMAN, _HUMAN_FILL)
    allowed: dict[str, np.ndarray] = {}
    for _ in range(cfg.sweeps):
        for name in _ORDER:
            j = schema.index(name)
            grid = _grid(name, schema)
            X = np.repeat(base[None], len(grid), axis=0)  # (levels, rows, features)
            X[:, :, j] = grid[:, None]
            ok = _ask(oracle, make_valid(schema, X.reshape(-1, schema.n_features)))
            rates = np.full(len(grid), np.nan)
            if ok is not None:
                done = len(ok) // b  # levels fully answered
                rates[:done] = ok[: done * b].reshape(done, b).mean(axis=1)
            known = ~np.isnan(rates)
            if not known.any() or np.nanmax(rates) == 0:
                best = _code(name, _HUMAN[name])  # nothing passes yet: look human
                allowed[name] = np.array([best])
            else:
                top = np.nanmax(rates)
                keep = known & (rates >= max(0.5 * top, top - 0.2))
                allowed[name] = grid[keep]
                best = grid[int(np.nanargmax(rates))]
            base[:, j] = best
            base = make_valid(schema, base)
    fill_min = _bisect_fill(oracle, schema, base)
    rules = Rules(allowed, fill_min, np.empty((0, schema.n_features)))
    return verify_rules(oracle, rules, schema, infra, rng)


def verify_rules(oracle: Any, rules: Rules, schema: Any, infra: Infrastructure,
                 rng: np.random.Generator) -> Rules:
    """Spend what is left of the budget on crafted candidates; keep what the answers favour.

    The operator's A/B test: a value (or fill-time quartile, account-age bucket or proxy country)
    whose candidates pass clearly less often than the best is dropped, and the accepted candidates
    become templates. Accounts in a dropped age bucket are held back rather than wasted; proxies in
    a dropped country are no longer used.
    """
    n = int(min(oracle.remaining, 4 * infra.config.accounts))
    if n < 20:
        return rules
    X = craft_registrations(rules, schema, infra, n, rng)
    ok = _ask(oracle, X)
    if ok is None or not ok.any():
        return Rules(rules.allowed, rules.fill_min, rules.templates, 0.0 if ok is None else float(ok.mean()),
                     rules.age_buckets, rules.countries)
    X = X[: len(ok)]
    allowed = {}
    for name, values in rules.allowed.items():
        col = X[:, schema.index(name)]
        rate = np.array([ok[col == v].mean() if (col == v).any() else 0.0 for v in values])
        allowed[name] = values[rate >= 0.8 * rate.max()]
    fill = X[:, schema.index("fill_seconds")]
    edges = np.quantile(fill, [0.25, 0.5, 0.75])
    quart = np.digitize(fill, edges)
    rate = np.array([ok[quart == q].mean() if (quart == q).any() else 0.0 for q in range(4)])
    good = np.flatnonzero(rate >= 0.8 * rate.max())
    fill_min = float(np.min(fill[quart == good[0]])) / 1.2 if len(good) else rules.fill_min
    bucket = np.digitize(X[:, schema.index("account_age_days")], AGE_EDGES)
    rate = np.array([ok[bucket == b].mean() if (bucket == b).any() else 0.0 for b in range(len(AGE_EDGES) + 1)])
    ages = tuple(int(b) for b in np.flatnonzero(rate >= 0.5 * rate.max()))
    # which of its proxies' countries pass: learned from the answers, like the account ages
    country = X[:, schema.index("ip_country")].astype(int)
    seen = np.unique(country)
    rate = np.array([ok[country == c].mean() for c in seen])
    countries = tuple(int(c) for c in seen[rate >= 0.5 * rate.max()]) if rate.max() > 0 else None
    return Rules(allowed, fill_min, X[ok], float(ok.mean()), ages, countries)


def _bisect_fill(oracle: Any, schema: Any, base: np.ndarray) -> float:
    """Median over template rows of the fastest accepted fill time.

    Each template starts at the fastest fill the form allows; the library's threshold bisection
    (:func:`~mlsiege.attacks.evasion.threshold_bisection`: 2, 4, 8... seconds more until the
    endpoint accepts, then 7 bisection steps) finds where the answer turns to "accepted".
    """
    j = schema.index("fill_seconds")
    X = base.copy()
    X[:, j] = 0.0
    X = make_valid(schema, X)
    floor = X[:, j].copy()
    per_row = int(min(16, oracle.remaining // max(1, len(X))))
    if per_row < 2:
        return _HUMAN_FILL
    res = threshold_bisection(
        oracle, X, schema=schema, budget=per_row, seed=0, y=np.ones(len(X), dtype=int), target_label=0,
        scale=1.0, config=ThresholdConfig(features=("fill_seconds",), first_step=2.0, doublings=8, bisect_steps=7),
    )
    ok = np.asarray(res.artifacts["success"], dtype=bool)
    if not ok.any():
        return _HUMAN_FILL
    fastest = np.asarray(res.artifacts["adversarial"], dtype=float)[ok, j]
    return float(np.median(np.maximum(fastest, floor[ok])))


def craft_registrations(rules: Rules, schema: Any, infra: Infrastructure, n: int,
                        rng: np.random.Generator) -> np.ndarray:
    """``n`` constraint-valid phony registrations following ``rules``, on the botnet's accounts.

    Half are variations of verified templates (when there are any), half drawn fresh from the
    recovered value sets, so the submissions stay diverse.
    """
    values: dict[str, Any] = {}
    for name in _ORDER:
        pool = rules.allowed.get(name, np.array([_code(name, _HUMAN[name])]))
        values[name] = rng.choice(pool, n)
    fill = rules.fill_min * rng.uniform(1.2, 3.0, n)
    X = _rows(schema, infra, n, values, fill, rules.countries)
    if len(rules.templates):
        half = rng.random(n) < 0.5
        pick = rules.templates[rng.integers(0, len(rules.templates), n)]
        for name in _ORDER:
            j = schema.index(name)
            keep = rng.random(n) < 0.7  # keep most of a verified template's fields
            X[:, j] = np.where(half & keep, pick[:, j], X[:, j])
        X = make_valid(schema, X)
    return X
