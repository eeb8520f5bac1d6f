"""defenses/data recipes (see docs/)."""

__all__: list[str] = []
