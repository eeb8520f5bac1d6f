"""The gateway policy: output shaping, quotas and rate limits, detection actions (YAML).

Without a policy file every endpoint but ``GET /v1/health`` needs a key, answers carry scores,
nothing is rate limited and detection raises alerts without acting. A policy file reads::

    output: {mode: rounded, decimals: 2}      # scores | rounded | labels | topk (k: 1)
    roles:
      predict: {output: {mode: scores}}
    keys:                                     # by key name
      partner: {output: {mode: labels}}
    limits:
      per_key: {rate: 20, burst: 40, quota: 100000, window: 86400}
      per_prefix: {rate: 200, burst: 400, ipv4: 24, ipv6: 64}
      max_rows: 1000
      max_body_bytes: 1048576
    detection:
      enabled: true
      action: alert                           # alert | degrade | block
      degrade_to: {mode: labels}
      prada: {threshold: 0.85}
      fingerprint: {step: 0.02}
      distribution: {quantile: 0.99, alpha: 1.0e-6}   # or false; see defenses/serving/distribution.py
    docs: public                              # public | key (any live key) | off

``rate`` is requests per second (token bucket of size ``burst``); ``quota`` is rows per
``window`` seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlsiege.defenses.serving.monitor import MonitorConfig
from mlsiege.errors import ConfigError

__all__ = ["ACTIONS", "OUTPUT_MODES", "GatewayPolicy", "Limit", "OutputPolicy", "PrefixLimit", "load_policy"]

OUTPUT_MODES = ("scores", "rounded", "labels", "topk")
ACTIONS = ("alert", "degrade", "block")
DOCS = ("public", "key", "off")


def _integer(value: Any, where: str) -> int:
    """``value`` as an int (YAML may give ``10``, ``10.0`` or ``"10"``), else one clear ConfigError."""
    if isinstance(value, bool):
        raise ConfigError(f"{where} must be an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return int(value)
    raise ConfigError(f"{where} must be an integer, got {value!r}")


def _number(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where} must be a number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class OutputPolicy:
    """How much of the model's answer leaves the API (MITRE ATLAS AML.M0002)."""

    mode: str = "scores"
    decimals: int = 2
    k: int = 1

    def __post_init__(self) -> None:
        for name in ("decimals", "k"):  # JSON and YAML may spell an integer 2.0
            value = getattr(self, name)
            if isinstance(value, float) and value.is_integer():
                object.__setattr__(self, name, int(value))
        if self.mode not in OUTPUT_MODES:
            raise ConfigError(f"output mode must be one of {list(OUTPUT_MODES)}, got {self.mode!r}")
        if not isinstance(self.decimals, int) or isinstance(self.decimals, bool) or not 0 <= self.decimals <= 12:
            raise ConfigError(f"output decimals must be an integer in [0, 12], got {self.decimals!r}")
        if not isinstance(self.k, int) or isinstance(self.k, bool) or self.k < 1:
            raise ConfigError(f"output k must be an integer >= 1, got {self.k!r}")

    @classmethod
    def from_dict(cls, data: Any, where: str = "output") -> OutputPolicy:
        if data is None:
            return cls()
        if isinstance(data, str):
            return cls(mode=data)
        if not isinstance(data, dict):
            raise ConfigError(f"{where} must be a mapping like {{mode: rounded}}, got {data!r}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise ConfigError(f"{where}: {exc}") from exc


@dataclass(frozen=True)
class Limit:
    """Token bucket (``rate`` requests/s, ``burst``) and row quota per ``window`` seconds."""

    rate: float | None = None
    burst: int | None = None
    quota: int | None = None
    window: float = 86400.0

    def __post_init__(self) -> None:
        for name in ("rate", "window"):
            _number(getattr(self, name), f"limits {name}")
        for name in ("burst", "quota"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, _integer(getattr(self, name), f"limits {name}"))
        if self.rate is not None and self.rate <= 0:
            raise ConfigError(f"rate must be > 0 requests/s, got {self.rate}")
        if self.burst is not None and self.burst < 1:
            raise ConfigError(f"burst must be >= 1, got {self.burst}")
        if self.quota is not None and self.quota < 1:
            raise ConfigError(f"quota must be >= 1 rows, got {self.quota}")
        if self.window <= 0:
            raise ConfigError(f"window must be > 0 seconds, got {self.window}")

    @property
    def active(self) -> bool:
        return self.rate is not None or self.quota is not None


@dataclass(frozen=True)
class PrefixLimit(Limit):
    """A :class:`Limit` shared by every client of one network prefix."""

    ipv4: int = 24
    ipv6: int = 64

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "ipv4", _integer(self.ipv4, "limits per_prefix ipv4"))
        object.__setattr__(self, "ipv6", _integer(self.ipv6, "limits per_prefix ipv6"))
        if not 0 <= self.ipv4 <= 32 or not 0 <= self.ipv6 <= 128:
            raise ConfigError(f"prefix lengths out of range: ipv4={self.ipv4}, ipv6={self.ipv6}")


@dataclass(frozen=True)
class GatewayPolicy:
    """Everything the gateway enforces besides authentication."""

    output: OutputPolicy = field(default_factory=OutputPolicy)
    roles: dict[str, OutputPolicy] = field(default_factory=dict)
    keys: dict[str, OutputPolicy] = field(default_factory=dict)
    per_key: Limit = field(default_factory=Limit)
    per_prefix: PrefixLimit = field(default_factory=PrefixLimit)
    max_rows: int = 1000
    max_body_bytes: int = 1 << 20
    detection: bool = True
    action: str = "alert"
    degrade_to: OutputPolicy = field(default_factory=lambda: OutputPolicy(mode="labels"))
    monitor: MonitorConfig = field(default_factory=MonitorConfig)
    docs: str = "public"

    def __post_init__(self) -> None:
        if self.docs not in DOCS:
            raise ConfigError(f"docs must be one of {list(DOCS)}, got {self.docs!r}")
        if self.action not in ACTIONS:
            raise ConfigError(f"detection action must be one of {list(ACTIONS)}, got {self.action!r}")
        if self.max_rows < 1 or self.max_body_bytes < 64:
            raise ConfigError("max_rows must be >= 1 and max_body_bytes >= 64")

    def output_for(self, name: str, roles: tuple[str, ...], own: dict[str, Any] | None) -> OutputPolicy:
        """A key's own setting, else its name's, else its first role's, else the default."""
        if own:
            return OutputPolicy.from_dict(own, "key output")
        if name in self.keys:
            return self.keys[name]
        for role in roles:
            if role in self.roles:
                return self.roles[role]
        return self.output

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> GatewayPolicy:
        data = dict(data or {})
        known = {"output", "roles", "keys", "limits", "detection", "docs"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown policy section(s) {unknown}; known: {sorted(known)}")
        limits, det = _section(data, "limits"), _section(data, "detection")
        for name in ("per_key", "per_prefix"):
            _section(limits, name, f"limits {name}")
        try:
            kwargs: dict[str, Any] = {
                "output": OutputPolicy.from_dict(data.get("output")),
                "roles": {r: OutputPolicy.from_dict((v or {}).get("output"), f"roles.{r}.output")
                          for r, v in (data.get("roles") or {}).items()},
                "keys": {k: OutputPolicy.from_dict((v or {}).get("output"), f"keys.{k}.output")
                         for k, v in (data.get("keys") or {}).items()},
                "per_key": Limit(**(limits.pop("per_key", None) or {})),
                "per_prefix": PrefixLimit(**(limits.pop("per_prefix", None) or {})),
            }
            for name in ("max_rows", "max_body_bytes"):
                if name in limits:
                    kwargs[name] = _integer(limits.pop(name), f"limits {name}")
            if limits:
                raise ConfigError(f"unknown limits setting(s) {sorted(limits)}")
            enabled = det.pop("enabled", True)
            if not isinstance(enabled, bool):
                raise ConfigError(f"detection enabled must be true or false, got {enabled!r}")
            kwargs["detection"] = enabled
            kwargs["docs"] = data.get("docs", "public")
            kwargs["action"] = det.pop("action", "alert")
            kwargs["degrade_to"] = OutputPolicy.from_dict(det.pop("degrade_to", {"mode": "labels"}))
            kwargs["monitor"] = MonitorConfig.from_dict(det)
            return cls(**kwargs)
        except (TypeError, AttributeError) as exc:
            raise ConfigError(f"bad policy: {exc}") from exc


def _section(data: dict[str, Any], name: str, where: str | None = None) -> dict[str, Any]:
    value = data.get(name) or {}
    if not isinstance(value, dict):
        raise ConfigError(f"policy {where or name} must be a mapping, got {value!r}")
    return dict(value)


def load_policy(source: str | Path | dict[str, Any] | None) -> GatewayPolicy:
    """Read a policy from a YAML path, YAML text or a mapping (``None``: the defaults)."""
    if source is None:
        return GatewayPolicy()
    if isinstance(source, dict):
        return GatewayPolicy.from_dict(source)
    text = Path(source).read_text() if Path(str(source)).suffix in (".yaml", ".yml", ".json") else str(source)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"policy is not valid YAML: {exc}") from exc
    if data is not None and not isinstance(data, dict):
        raise ConfigError("a policy must be a YAML mapping")
    return GatewayPolicy.from_dict(data)
