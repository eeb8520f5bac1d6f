"""Rate limits (token buckets) and row quotas per key and per network prefix (ATLAS AML.M0004).

State lives in memory, in the one process that serves; a refusal says how long to wait so the
gateway can answer ``429`` with ``Retry-After``.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from typing import Any

from mlsiege.gateway.policy import Limit, PrefixLimit

__all__ = ["RateLimiter", "network_prefix"]


def network_prefix(host: str | None, limit: PrefixLimit) -> str:
    """The client's network (``10.1.2.0/24``); unknown or odd hosts form one bucket."""
    try:
        ip = ipaddress.ip_address(host or "")
    except ValueError:
        return "unknown"
    bits = limit.ipv4 if ip.version == 4 else limit.ipv6
    return str(ipaddress.ip_network(f"{ip}/{bits}", strict=False))


class _Bucket:
    __slots__ = ("quota_start", "quota_used", "stamp", "tokens")

    def __init__(self, tokens: float, now: float) -> None:
        self.tokens = tokens
        self.stamp = now
        self.quota_start = now
        self.quota_used = 0


class RateLimiter:
    """Token bucket plus fixed-window row quota for each name under one :class:`Limit`."""

    def __init__(self, limit: Limit, *, clock: Any = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def check(self, name: str, rows: int = 1) -> float:
        """Spend one request and ``rows`` rows; ``0.0`` when allowed, else seconds to wait."""
        lim = self.limit
        if not lim.active:
            return 0.0
        burst = float(lim.burst or max(1, math.ceil(lim.rate or 1)))
        now = self._clock()
        with self._lock:
            b = self._buckets.get(name)
            if b is None:
                if len(self._buckets) > 200_000:
                    self._buckets.clear()
                b = self._buckets[name] = _Bucket(burst, now)
            if lim.quota is not None:
                if now - b.quota_start >= lim.window:
                    b.quota_start, b.quota_used = now, 0
                if b.quota_used + rows > lim.quota:
                    return max(1.0, b.quota_start + lim.window - now)
            if lim.rate is not None:
                b.tokens = min(burst, b.tokens + (now - b.stamp) * lim.rate)
                b.stamp = now
                if b.tokens < 1.0:
                    return max(1e-3, (1.0 - b.tokens) / lim.rate)
                b.tokens -= 1.0
            b.quota_used += rows
            return 0.0
