"""Stateful attack detection over a query stream: per-key and cross-key detectors together.

:class:`QueryMonitor` is what the gateway runs over its audit stream; :func:`scan_log` runs the
same detectors offline over a :class:`~mlsiege.targets.Budgeted` log (or several), so a scenario
can ask "would the serving defenses have seen this attack, and after how many queries?".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from mlsiege.defenses.serving.alerts import Alert
from mlsiege.defenses.serving.distribution import DistributionConfig, DistributionDetector
from mlsiege.defenses.serving.fingerprint import FingerprintConfig, FingerprintDetector
from mlsiege.defenses.serving.prada import PradaConfig, PradaDetector
from mlsiege.errors import ConfigError

__all__ = ["MonitorConfig", "QueryMonitor", "scan_log"]


@dataclass(frozen=True)
class MonitorConfig:
    """Which detectors run, with their settings."""

    per_key: bool = True
    cross_key: bool = True
    distribution_tests: bool = True
    prada: PradaConfig = field(default_factory=PradaConfig)
    fingerprint: FingerprintConfig = field(default_factory=FingerprintConfig)
    distribution: DistributionConfig = field(default_factory=DistributionConfig)

    def __post_init__(self) -> None:
        if (not isinstance(self.prada, PradaConfig) or not isinstance(self.fingerprint, FingerprintConfig)
                or not isinstance(self.distribution, DistributionConfig)):
            raise ConfigError("prada, fingerprint and distribution must be their Config classes")

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> MonitorConfig:
        """Build from plain settings (a policy file's ``detection`` section)."""
        data = dict(data or {})
        try:
            prada = PradaConfig(**(data.pop("prada", None) or {}))
            fp = FingerprintConfig(**(data.pop("fingerprint", None) or {}))
            dist = data.pop("distribution", None)
            if isinstance(dist, bool):  # ``distribution: false`` switches the tests off
                data["distribution_tests"], dist = dist, None
            dist_cfg = DistributionConfig(**(dist or {}))
            return cls(prada=prada, fingerprint=fp, distribution=dist_cfg, **data)
        except TypeError as exc:
            raise ConfigError(f"unknown detection setting: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class QueryMonitor:
    """Feeds every answered row to the per-key (PRADA), cross-key (fingerprint) and distribution
    (off-distribution, concentration, population) detectors.

    Rows are in attack space (``schema.encode``); ``schema`` gives the scales; ``reference``
    (real rows, e.g. the training data) anchors the distribution tests, which otherwise learn a
    reference from the traffic. Rows are numbered globally in arrival order from 0; alerts carry
    that number.
    """

    def __init__(self, n_features: int, *, schema: Any = None, config: MonitorConfig | None = None,
                 reference: np.ndarray | None = None) -> None:
        self.config = config or MonitorConfig()
        scale = schema.scale() if schema is not None else None
        low = schema.low if schema is not None else None
        self.detectors: list[Any] = []
        if self.config.per_key:
            self.detectors.append(PradaDetector(scale, self.config.prada))
        if self.config.cross_key:
            self.detectors.append(
                FingerprintDetector(n_features, scale=scale, low=low, config=self.config.fingerprint)
            )
        if self.config.distribution_tests:
            self.detectors.append(DistributionDetector(reference, self.config.distribution))
        self.seen = 0

    def forget(self, key: str) -> None:
        """Drop what every detector holds about ``key`` (its block was lifted)."""
        for det in self.detectors:
            det.forget(key)

    def observe(self, key: str, rows: np.ndarray, labels: np.ndarray | None = None) -> list[Alert]:
        """Account for ``rows`` sent by ``key`` (with the labels answered, if known)."""
        rows = np.atleast_2d(np.asarray(rows, dtype=float))
        alerts: list[Alert] = []
        for det in self.detectors:
            alerts.extend(det.observe(key, rows, labels=labels, query=self.seen))
        self.seen += len(rows)
        return alerts


def scan_log(logs: Any, *, schema: Any = None, config: MonitorConfig | None = None) -> list[Alert]:
    """Replay one or more query logs (``Budgeted``, ``QueryLog``) through a :class:`QueryMonitor`.

    Records of every log are merged by start time; each record's ``caller`` is its key. Returns
    the alerts in order. Logs kept without inputs (``log_io=False``) cannot be scanned.

    Examples
    --------
    >>> import numpy as np
    >>> from mlsiege.targets import Budgeted, from_callable
    >>> t = Budgeted(from_callable(lambda X: (X[:, 0] > 0).astype(int)), caller="probe")
    >>> for eps in np.linspace(0, 1e-3, 40):
    ...     _ = t.predict(np.array([[eps, 0.5, 0.5]]))
    >>> scan_log(t)[0].key
    'probe'
    """
    records = []
    for log in logs if isinstance(logs, Iterable) and not hasattr(logs, "records") else [logs]:
        log = getattr(log, "log", log)
        if not log.keep_io:
            raise ConfigError("this log was kept without inputs (log_io=False): nothing to scan")
        records.extend(log.records)
    records.sort(key=lambda r: r.started)
    monitor: QueryMonitor | None = None
    alerts: list[Alert] = []
    for rec in records:
        rows = np.asarray(rec.inputs, dtype=float).reshape(len(rec.inputs), -1)
        if not len(rows):
            continue
        if monitor is None:
            monitor = QueryMonitor(rows.shape[1], schema=schema, config=config)
        labels = np.asarray(rec.outputs) if rec.method == "predict" and rec.outputs is not None else None
        alerts.extend(monitor.observe(rec.caller, rows, labels))
    return alerts
