"""The ML lifecycle: stages, maturity profiles and record-level lineage (one module each)."""

from mlsiege.lifecycle.lineage import Lineage
from mlsiege.lifecycle.profiles import PROFILES, MaturityProfile, get_profile

__all__ = ["PROFILES", "Lineage", "MaturityProfile", "get_profile"]
