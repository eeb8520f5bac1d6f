"""defenses/reco recipes (see docs/)."""

__all__: list[str] = []
