"""attacks/poisoning recipes (see docs/)."""

__all__: list[str] = []
