"""defenses/serving recipes (see docs/)."""

__all__: list[str] = []
