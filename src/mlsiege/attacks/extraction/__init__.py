"""attacks/extraction recipes (see docs/)."""

__all__: list[str] = []
