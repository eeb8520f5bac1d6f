"""The alert a stateful serving detector raises (shared by the gateway and offline scans)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Alert"]


@dataclass(frozen=True)
class Alert:
    """One detection: which key, which detector, at which query, and why.

    Attributes
    ----------
    key
        The API key (or ``Budgeted`` caller) the alert names.
    detector
        ``"prada"`` (per-key distance distribution) or ``"fingerprint"`` (cross-key matching).
    query
        Global sequence number (rows, from 0) of the query that raised it.
    score
        The detector's statistic (Shapiro-Wilk W for PRADA, shared hashes for fingerprints).
    related
        Other keys whose queries the offending query matched (cross-key detection).
    detail
        A short human sentence stating the evidence.
    extra
        The evidence as numbers (what was counted, against which threshold).
    """

    key: str
    detector: str
    query: int
    score: float
    related: tuple[str, ...] = ()
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "detector": self.detector,
            "query": self.query,
            "score": self.score,
            "related": list(self.related),
            "detail": self.detail,
            "evidence": dict(self.extra),
        }
