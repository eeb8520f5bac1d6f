"""Where campaign tasks run: re-exported from :mod:`mlsiege.executors` (a low layer, so that
defenses can shard their work over the same executors without importing ``campaign``)."""

from mlsiege.executors import run_inline, run_pool, run_ray

__all__ = ["run_inline", "run_pool", "run_ray"]
