"""A synthetic open-registration world: benign registrants and known bot classes.

An event opens online registration for ``days`` days. Benign registrants come from three
segments (professionals, students, general public) with realistic mixtures of arrival times,
email providers, countries, devices, form-fill times, optional fields filled and referrers, plus
a few honest oddities (VPN users on hosting networks, password-manager autofill). Four *known*
bot classes, seen in past events, are mixed in: ``subnet_burst`` (many sign-ups from one subnet
within an hour), ``disposable_email``, ``headless`` (headless-browser user agents, datacenter
networks) and ``instant_fill`` (forms submitted within a second or two).

Each registration becomes a row of a :class:`~mlsiege.schema.Schema` with mutable features (what
the registrant types or the client reports), immutable server-observed ones (IP country, ASN
type, linked-account age, registrations from the same /24 subnet in that hour) and derived ones
(fill speed, geo mismatch), tied by relations. Everything is vectorised numpy and seeded.

The world is descriptive data of the kind a defender trains on; see
:func:`mlsiege.sim.registration_detector.train_detector` for the defender's model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlsiege.errors import ConfigError
from mlsiege.schema import Constraint, Feature, Schema

__all__ = [
    "BOT_CLASSES",
    "SOURCES",
    "RegistrationConfig",
    "RegistrationWorld",
    "make_registrations",
    "registration_schema",
    "train_detector",
]

EMAIL = ("gmail", "outlook", "yahoo", "icloud", "proton", "corporate", "edu", "disposable")
COUNTRY = ("US", "GB", "DE", "FR", "IN", "BR", "NG", "JP", "other")
DEVICE = ("desktop", "mobile", "tablet", "headless")
REFERRER = ("direct", "search", "social", "newsletter", "partner", "ad")
ASN = ("residential", "mobile", "business", "education", "hosting")
BOT_CLASSES = ("subnet_burst", "disposable_email", "headless", "instant_fill")
SOURCES = (
    "web_form", "mobile_app", "partner_feed_acme", "partner_feed_globex", "newsletter_link",
    "social_ads", "search_ads", "sales_csv_import", "onsite_kiosk", "api_integration",
    "affiliate_portal", "email_invite",
)
BASE_FIELDS = 4  # name, email, country, ticket type: always filled
MIN_SECONDS_PER_FIELD = 0.15  # a scripted submit still takes this long per field
MOBILE_SECONDS_PER_FIELD = 0.3  # on-screen keyboards: a mobile user agent cannot fill faster

# level probabilities per benign segment -------------------------------------------------
_SEGMENTS: dict[str, dict[str, Any]] = {
    "professional": {
        "email": (0.17, 0.12, 0.02, 0.02, 0.02, 0.63, 0.02, 0.0),
        "device": (0.78, 0.17, 0.05, 0.0),
        "referrer": (0.15, 0.2, 0.08, 0.27, 0.25, 0.05),
        "asn": (0.28, 0.1, 0.58, 0.01, 0.03),
        "hours": (9, 3.0), "fill": (np.log(95), 0.5), "optional": 0.6,
        "age_years": (np.log(6), 0.7), "nat": 1.2, "name_match": 0.9,
    },
    "student": {
        "email": (0.38, 0.05, 0.02, 0.03, 0.02, 0.0, 0.5, 0.0),
        "device": (0.38, 0.55, 0.07, 0.0),
        "referrer": (0.2, 0.15, 0.4, 0.1, 0.05, 0.1),
        "asn": (0.25, 0.25, 0.0, 0.47, 0.03),
        "hours": (15, 4.5), "fill": (np.log(70), 0.5), "optional": 0.35,
        "age_years": (np.log(2.5), 0.6), "nat": 0.8, "name_match": 0.7,
    },
    "public": {
        "email": (0.45, 0.2, 0.12, 0.12, 0.07, 0.0, 0.04, 0.0),
        "device": (0.35, 0.58, 0.07, 0.0),
        "referrer": (0.25, 0.25, 0.25, 0.1, 0.03, 0.12),
        "asn": (0.57, 0.37, 0.02, 0.0, 0.04),
        "hours": (13, 5.0), "fill": (np.log(80), 0.6), "optional": 0.3,
        "age_years": (np.log(5), 0.9), "nat": 0.1, "name_match": 0.6,
    },
}
_SEGMENT_MIX = {"professional": 0.45, "student": 0.2, "public": 0.35}
_COUNTRY_P = (0.34, 0.1, 0.1, 0.07, 0.12, 0.06, 0.04, 0.05, 0.12)

# sources: which channel a registration arrived through (provenance, not a model feature)
_SOURCE_BY_REFERRER = {
    "direct": (("web_form", 0.55), ("mobile_app", 0.25), ("onsite_kiosk", 0.1), ("sales_csv_import", 0.1)),
    "search": (("search_ads", 0.5), ("web_form", 0.5)),
    "social": (("social_ads", 0.6), ("mobile_app", 0.4)),
    "newsletter": (("newsletter_link", 0.7), ("email_invite", 0.3)),
    "partner": (("partner_feed_acme", 0.45), ("partner_feed_globex", 0.35), ("api_integration", 0.2)),
    "ad": (("social_ads", 0.4), ("search_ads", 0.3), ("affiliate_portal", 0.3)),
}
_BOT_SUBNETS = 10**12  # subnet ids of known bot infrastructure start here (benign ids are smaller)
_BOT_SOURCES = (("web_form", 0.45), ("api_integration", 0.25), ("affiliate_portal", 0.2), ("mobile_app", 0.1))


@dataclass(frozen=True)
class RegistrationConfig:
    """The world's knobs.

    Parameters
    ----------
    n_benign
        Benign registrations.
    bot_rate
        Known-bot registrations as a fraction of ``n_benign``.
    bot_mix
        Share of each known bot class (normalised); keys from :data:`BOT_CLASSES`.
    days
        Days registration is open before the event.
    oddity_rate
        Share of benign registrants with honest oddities (VPN on a hosting network, autofill).
    seed
        Seed of the world's generator.
    """

    n_benign: int = 20_000
    bot_rate: float = 0.1
    bot_mix: dict[str, float] = field(default_factory=lambda: {
        "subnet_burst": 0.3, "disposable_email": 0.25, "headless": 0.25, "instant_fill": 0.2,
    })
    days: int = 30
    oddity_rate: float = 0.06
    seed: int = 0

    def __post_init__(self) -> None:
        if int(self.n_benign) != self.n_benign or self.n_benign < 10:
            raise ConfigError(f"n_benign must be an integer >= 10, got {self.n_benign!r}")
        if not 0 <= self.bot_rate <= 10:
            raise ConfigError(f"bot_rate must be in [0, 10], got {self.bot_rate!r}")
        unknown = set(self.bot_mix) - set(BOT_CLASSES)
        if unknown:
            raise ConfigError(f"unknown bot classes {sorted(unknown)}; known: {list(BOT_CLASSES)}")
        if any(v < 0 for v in self.bot_mix.values()) or (self.bot_rate > 0 and sum(self.bot_mix.values()) <= 0):
            raise ConfigError(f"bot_mix needs non-negative shares with a positive sum, got {self.bot_mix!r}")
        if int(self.days) != self.days or not 1 <= self.days <= 365:
            raise ConfigError(f"days must be an integer in [1, 365], got {self.days!r}")
        if not 0 <= self.oddity_rate <= 0.5:
            raise ConfigError(f"oddity_rate must be in [0, 0.5], got {self.oddity_rate!r}")
        object.__setattr__(self, "bot_mix", dict(self.bot_mix))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def registration_schema(days: int = 30) -> Schema:
    """The registration feature space, its server-observed immutables and its relations."""
    per_field = f"({BASE_FIELDS} + optional_fields)"
    feats = [
        Feature("days_before_event", "integer", 0, days - 1),
        Feature("hour_of_day", "integer", 0, 23),
        Feature("fill_seconds", "real", 0.5, 3600.0),
        Feature("optional_fields", "integer", 0, 8),
        Feature("email_provider", "categorical", levels=EMAIL),
        Feature("country", "categorical", levels=COUNTRY),
        Feature("device", "categorical", levels=DEVICE),
        Feature("referrer", "categorical", levels=REFERRER),
        Feature("name_email_match", "binary"),
        Feature("ip_country", "categorical", levels=COUNTRY, mutability="immutable"),
        Feature("asn_type", "categorical", levels=ASN, mutability="immutable"),
        Feature("account_age_days", "integer", 0, 7300, mutability="immutable"),
        Feature("subnet_regs_hour", "integer", 1, 5000, mutability="immutable"),
        Feature("fill_speed", "real", 0.0, 100.0, mutability="derived", formula=f"{per_field} / fill_seconds"),
        Feature("geo_mismatch", "binary", mutability="derived", formula="min(1, abs(country - ip_country))"),
    ]
    mobile = DEVICE.index("mobile")
    cons = [
        Constraint(f"fill_seconds >= {MIN_SECONDS_PER_FIELD} * {per_field}", name="submit_floor"),
        Constraint(
            f"(device <= {mobile - 0.5}) or (device >= {mobile + 0.5}) or "
            f"(fill_seconds >= {MOBILE_SECONDS_PER_FIELD} * {per_field})",
            name="mobile_typing_floor",
        ),
    ]
    return Schema(feats, cons)


# ----------------------------------------------------------------------------- generators
def _pick(rng: np.random.Generator, n: int, probs: Any) -> np.ndarray:
    p = np.asarray(probs, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum())


def _pick_rows(rng: np.random.Generator, table: np.ndarray) -> np.ndarray:
    """One draw per row of a (n, L) probability table."""
    cum = np.cumsum(table / table.sum(axis=1, keepdims=True), axis=1)
    u = rng.random((len(table), 1))
    return np.minimum((u > cum).sum(axis=1), table.shape[1] - 1)


def _arrival(rng: np.random.Generator, n: int, days: int, hour_mu: np.ndarray, hour_sd: np.ndarray) -> np.ndarray:
    """Seconds since registration opened: more sign-ups as the event nears, a daily cycle."""
    day = np.minimum((rng.beta(1.8, 1.0, n) * days).astype(int), days - 1)
    hour = np.mod(np.round(rng.normal(hour_mu, hour_sd)), 24)
    return day * 86400.0 + hour * 3600.0 + rng.uniform(0, 3600, n)


def _benign(rng: np.random.Generator, n: int, cfg: RegistrationConfig) -> dict[str, np.ndarray]:
    names = list(_SEGMENTS)
    seg = _pick(rng, n, [_SEGMENT_MIX[s] for s in names])
    table = {k: np.array([_SEGMENTS[s][k] for s in names], dtype=float) for k in ("email", "device", "referrer", "asn")}
    par = {k: np.array([_SEGMENTS[s][k] for s in names], dtype=float)
           for k in ("hours", "fill", "optional", "age_years", "nat", "name_match")}
    out: dict[str, np.ndarray] = {}
    out["email_provider"] = _pick_rows(rng, table["email"][seg])
    out["device"] = _pick_rows(rng, table["device"][seg])
    out["referrer"] = _pick_rows(rng, table["referrer"][seg])
    out["asn_type"] = _pick_rows(rng, table["asn"][seg])
    out["time"] = _arrival(rng, n, cfg.days, par["hours"][seg, 0], par["hours"][seg, 1])
    out["optional_fields"] = rng.binomial(8, par["optional"][seg])
    fields = BASE_FIELDS + out["optional_fields"]
    fill = np.exp(rng.normal(par["fill"][seg, 0], par["fill"][seg, 1])) * fields / 9.0
    mobile = out["device"] == DEVICE.index("mobile")
    fill = np.where(mobile, fill * 1.3, fill)
    out["country"] = _pick(rng, n, _COUNTRY_P)
    travel = rng.random(n) < 0.05
    out["ip_country"] = np.where(travel, _pick(rng, n, _COUNTRY_P), out["country"])
    age = np.exp(rng.normal(par["age_years"][seg, 0], par["age_years"][seg, 1])) * 365
    new_account = rng.random(n) < 0.08
    out["account_age_days"] = np.where(new_account, rng.integers(0, 60, n), age)
    out["subnet_regs_hour"] = 1 + rng.poisson(par["nat"][seg])
    out["name_email_match"] = (rng.random(n) < par["name_match"][seg]).astype(int)
    # honest oddities: privacy users on VPN / hosting networks, password-manager autofill
    odd = rng.random(n) < cfg.oddity_rate
    vpn = odd & (rng.random(n) < 0.5)
    out["asn_type"] = np.where(vpn, ASN.index("hosting"), out["asn_type"])
    out["ip_country"] = np.where(vpn & (rng.random(n) < 0.6), _pick(rng, n, _COUNTRY_P), out["ip_country"])
    autofill = odd & ~vpn
    fill = np.where(autofill, np.exp(rng.normal(np.log(2.0), 0.4, n)) * fields, fill)
    out["fill_seconds"] = fill
    out["segment"] = np.asarray(names, dtype=object)[seg]
    out["subnet"] = rng.integers(0, 50 * max(n, 1000), n)
    return out


def _bots(rng: np.random.Generator, n: int, kind: str, cfg: RegistrationConfig) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    out["time"] = _arrival(rng, n, cfg.days, np.full(n, 12.0), np.full(n, 7.0))
    out["optional_fields"] = rng.binomial(8, 0.25, n)
    fields = BASE_FIELDS + out["optional_fields"]
    out["email_provider"] = _pick(rng, n, (0.5, 0.25, 0.15, 0.03, 0.07, 0.0, 0.0, 0.0))
    out["device"] = _pick(rng, n, (0.8, 0.15, 0.05, 0.0))
    out["referrer"] = _pick(rng, n, (0.6, 0.1, 0.1, 0.0, 0.0, 0.2))
    out["asn_type"] = _pick(rng, n, (0.45, 0.1, 0.05, 0.0, 0.4))
    out["country"] = _pick(rng, n, _COUNTRY_P)
    out["ip_country"] = np.where(rng.random(n) < 0.5, _pick(rng, n, _COUNTRY_P), out["country"])
    out["account_age_days"] = rng.integers(0, 45, n)
    out["subnet_regs_hour"] = 1 + rng.poisson(2.0, n)
    out["name_email_match"] = (rng.random(n) < 0.3).astype(int)
    out["fill_seconds"] = np.exp(rng.normal(np.log(3.0), 0.5, n)) * fields
    out["subnet"] = _BOT_SUBNETS + rng.integers(0, 500, n)  # a few hundred rented hosts
    if kind == "subnet_burst":
        # bursts of 20-200 sign-ups from one subnet within an hour: rows of a burst share it
        sizes = rng.integers(20, 201, max(1, n // 40 + 1))
        burst = np.repeat(np.arange(len(sizes)), sizes)[:n]
        if len(burst) < n:
            burst = np.concatenate([burst, rng.integers(0, len(sizes), n - len(burst))])
        out["subnet_regs_hour"] = sizes[burst]
        out["subnet"] = _BOT_SUBNETS + rng.integers(0, 10**6, len(sizes))[burst]
        start = _arrival(rng, len(sizes), cfg.days, np.full(len(sizes), 12.0), np.full(len(sizes), 7.0))
        out["time"] = start[burst] + rng.uniform(0, 3600, n)
        out["asn_type"] = np.where(rng.random(n) < 0.7, ASN.index("hosting"), ASN.index("residential"))
        out["fill_seconds"] = np.exp(rng.normal(np.log(4.0), 0.5, n)) * fields
    elif kind == "disposable_email":
        out["email_provider"] = np.full(n, EMAIL.index("disposable"))
        out["account_age_days"] = rng.integers(0, 4, n)
        out["name_email_match"] = np.zeros(n, dtype=int)
    elif kind == "headless":
        out["device"] = np.full(n, DEVICE.index("headless"))
        out["asn_type"] = np.where(rng.random(n) < 0.85, ASN.index("hosting"), ASN.index("residential"))
        out["referrer"] = np.full(n, REFERRER.index("direct"))
        out["fill_seconds"] = np.exp(rng.normal(np.log(1.0), 0.5, n)) * fields
    elif kind == "instant_fill":
        out["optional_fields"] = rng.integers(0, 3, n)
        fields = BASE_FIELDS + out["optional_fields"]
        out["device"] = np.full(n, DEVICE.index("desktop"))
        out["fill_seconds"] = MIN_SECONDS_PER_FIELD * fields * rng.uniform(1.0, 2.5, n)
    else:  # pragma: no cover - guarded by the callers
        raise ConfigError(f"unknown bot class {kind!r}")
    out["segment"] = np.full(n, "bot", dtype=object)
    return out


def _sources(rng: np.random.Generator, referrer: np.ndarray, is_bot: np.ndarray) -> np.ndarray:
    out = np.empty(len(referrer), dtype=object)
    for code, name in enumerate(REFERRER):
        rows = np.flatnonzero((referrer == code) & ~is_bot)
        names, probs = zip(*_SOURCE_BY_REFERRER[name], strict=True)
        out[rows] = np.asarray(names, dtype=object)[_pick(rng, len(rows), probs)]
    rows = np.flatnonzero(is_bot)
    names, probs = zip(*_BOT_SOURCES, strict=True)
    out[rows] = np.asarray(names, dtype=object)[_pick(rng, len(rows), probs)]
    return out


def _attended(rng: np.random.Generator, parts: dict[str, np.ndarray], is_bot: np.ndarray) -> np.ndarray:
    """Whether a registrant shows up: the label the downstream no-show model learns."""
    logit = (
        0.4
        + 0.9 * (parts["email_provider"] == EMAIL.index("corporate"))
        + 0.6 * (parts["referrer"] == REFERRER.index("partner"))
        + 0.4 * (parts["referrer"] == REFERRER.index("newsletter"))
        + 0.12 * (parts["optional_fields"] - 3)
        - 0.03 * parts["days_before_event"]
        - 0.5 * (parts["device"] == DEVICE.index("mobile"))
    )
    p = 1.0 / (1.0 + np.exp(-logit))
    return np.where(is_bot, 0, (rng.random(len(p)) < p).astype(int))


def _assemble(rng: np.random.Generator, blocks: list[tuple[str, dict[str, np.ndarray]]], cfg: RegistrationConfig) -> pd.DataFrame:
    parts = {k: np.concatenate([b[k] for _, b in blocks]) for k in blocks[0][1]}
    kinds = np.concatenate([np.full(len(b["time"]), name, dtype=object) for name, b in blocks])
    is_bot = kinds != "benign"
    t = parts["time"]
    parts["days_before_event"] = cfg.days - 1 - (t // 86400).astype(int)
    parts["hour_of_day"] = ((t % 86400) // 3600).astype(int)
    parts["fill_seconds"] = np.clip(np.maximum(parts["fill_seconds"], MIN_SECONDS_PER_FIELD * (BASE_FIELDS + parts["optional_fields"])), 0.5, 3600.0)
    mobile = parts["device"] == DEVICE.index("mobile")
    floor = MOBILE_SECONDS_PER_FIELD * (BASE_FIELDS + parts["optional_fields"])
    parts["fill_seconds"] = np.where(mobile, np.maximum(parts["fill_seconds"], floor), parts["fill_seconds"])
    parts["fill_seconds"] = np.round(parts["fill_seconds"], 2)
    parts["account_age_days"] = np.clip(np.round(parts["account_age_days"]), 0, 7300).astype(int)
    parts["subnet_regs_hour"] = np.clip(parts["subnet_regs_hour"], 1, 5000).astype(int)
    attended = _attended(rng, parts, is_bot)
    source = _sources(rng, parts["referrer"], is_bot)
    frame = pd.DataFrame({
        "days_before_event": parts["days_before_event"],
        "hour_of_day": parts["hour_of_day"],
        "fill_seconds": parts["fill_seconds"],
        "optional_fields": parts["optional_fields"].astype(int),
        "email_provider": np.asarray(EMAIL, dtype=object)[parts["email_provider"]],
        "country": np.asarray(COUNTRY, dtype=object)[parts["country"]],
        "device": np.asarray(DEVICE, dtype=object)[parts["device"]],
        "referrer": np.asarray(REFERRER, dtype=object)[parts["referrer"]],
        "name_email_match": parts["name_email_match"].astype(int),
        "ip_country": np.asarray(COUNTRY, dtype=object)[parts["ip_country"]],
        "asn_type": np.asarray(ASN, dtype=object)[parts["asn_type"]],
        "account_age_days": parts["account_age_days"],
        "subnet_regs_hour": parts["subnet_regs_hour"],
        "fill_speed": (BASE_FIELDS + parts["optional_fields"]) / parts["fill_seconds"],
        "geo_mismatch": (parts["country"] != parts["ip_country"]).astype(int),
        "time": t,
        "subnet": parts["subnet"].astype(np.int64),
        "source": source,
        "segment": parts["segment"],
        "bot_class": kinds,
        "is_bot": is_bot,
        "attended": attended,
    })
    order = np.argsort(frame["time"].to_numpy(), kind="stable")
    frame = frame.iloc[order].reset_index(drop=True)
    frame.insert(0, "registration_id", np.arange(len(frame)))
    return frame


def _bot_counts(cfg: RegistrationConfig, n_bots: int) -> dict[str, int]:
    mix = {k: cfg.bot_mix.get(k, 0.0) for k in BOT_CLASSES}
    total = sum(mix.values()) or 1.0
    counts = {k: int(round(n_bots * v / total)) for k, v in mix.items()}
    return counts


class RegistrationWorld:
    """One event's registrations: ``frame`` (raw rows), ``X`` (attack space) and labels.

    Attributes
    ----------
    frame
        One row per registration with real values, provenance (``source``), arrival ``time``,
        the /24 ``subnet`` id it came from,
        ``bot_class``, ``is_bot`` and ``attended`` (did the registrant show up).
    schema
        The :func:`registration_schema` of the world.
    X
        ``schema.encode(frame[schema.names])``.
    """

    def __init__(self, config: RegistrationConfig, frame: pd.DataFrame) -> None:
        self.config = config
        self.frame = frame
        self.schema = registration_schema(config.days)
        self.X = self.schema.encode(frame[self.schema.names])
        self.is_bot = frame["is_bot"].to_numpy(dtype=bool)
        self.bot_class = frame["bot_class"].to_numpy(dtype=object).astype(str)
        self.source = frame["source"].to_numpy(dtype=object).astype(str)
        self.time = frame["time"].to_numpy(dtype=float)
        self.attended = frame["attended"].to_numpy(dtype=int)

    def __len__(self) -> int:
        return len(self.frame)

    def sample(self, n: int, kind: str = "benign", seed: int = 0) -> pd.DataFrame:
        """``n`` fresh registrations of one kind (``"benign"`` or a bot class), same frame layout."""
        if kind != "benign" and kind not in BOT_CLASSES:
            raise ConfigError(f"kind must be 'benign' or one of {list(BOT_CLASSES)}, got {kind!r}")
        if int(n) != n or n < 1:
            raise ConfigError(f"n must be a positive integer, got {n!r}")
        rng = np.random.default_rng([int(seed), 7_919, self.config.seed])
        block = _benign(rng, int(n), self.config) if kind == "benign" else _bots(rng, int(n), kind, self.config)
        return _assemble(rng, [(kind, block)], self.config)

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        """Attack-space rows of a frame in this world's layout."""
        return self.schema.encode(frame[self.schema.names])

    def __repr__(self) -> str:
        return f"RegistrationWorld({len(self)} registrations, {int(self.is_bot.sum())} known bots)"


def make_registrations(config: RegistrationConfig | None = None, **overrides: Any) -> RegistrationWorld:
    """Generate one event's registrations.

    Parameters
    ----------
    config
        A :class:`RegistrationConfig` (default one when ``None``).
    **overrides
        Field overrides, e.g. ``make_registrations(n_benign=2000, seed=3)``.

    Examples
    --------
    >>> w = make_registrations(n_benign=500, seed=1)
    >>> w.X.shape[1] == w.schema.n_features, bool(w.schema.valid_mask(w.X).all())
    (True, True)
    """
    cfg = config or RegistrationConfig()
    if overrides:
        cfg = RegistrationConfig(**{**cfg.to_dict(), **overrides})
    rng = np.random.default_rng(cfg.seed)
    blocks: list[tuple[str, dict[str, np.ndarray]]] = [("benign", _benign(rng, cfg.n_benign, cfg))]
    for kind, count in _bot_counts(cfg, int(round(cfg.bot_rate * cfg.n_benign))).items():
        if count:
            blocks.append((kind, _bots(rng, count, kind, cfg)))
    return RegistrationWorld(cfg, _assemble(rng, blocks, cfg))


def train_detector(world: RegistrationWorld, kind: str = "both", seed: int = 0, **kwargs: Any) -> Any:
    """The defender's model; see :func:`mlsiege.sim.registration_detector.train_detector`."""
    from mlsiege.sim.registration_detector import train_detector as _train

    return _train(world, kind=kind, seed=seed, **kwargs)
