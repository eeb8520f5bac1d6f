"""Metrics: pure functions over predictions, masks and results, one module per topic."""
