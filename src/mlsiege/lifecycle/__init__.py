"""The ML lifecycle: stages, maturity profiles and record-level lineage (one module each)."""

from mlsiege.lifecycle.lineage import Lineage

__all__ = ["Lineage"]
