"""attacks/evasion recipes (see docs/)."""

__all__: list[str] = []
