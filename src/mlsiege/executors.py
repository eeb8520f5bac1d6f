"""Where tasks run: in this process, on a local process pool, or on a Ray cluster.

All three call the same task function and hand each record to ``on_result`` as soon as it is
back (in completion order), so the caller can stream it to disk. No scheduling of our own: the
pool is :class:`concurrent.futures.ProcessPoolExecutor`, the cluster is Ray's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from mlsiege.errors import ConfigError
from mlsiege.extras import require

__all__ = ["run_inline", "run_pool", "run_ray"]

TaskFn = Callable[[dict[str, Any]], dict[str, Any]]
OnResult = Callable[[dict[str, Any]], None]


def run_inline(fn: TaskFn, tasks: Sequence[dict[str, Any]], on_result: OnResult) -> None:
    """One after the other in this process (debugging, tiny grids)."""
    for task in tasks:
        on_result(fn(task))


def run_pool(fn: TaskFn, tasks: Sequence[dict[str, Any]], on_result: OnResult, workers: int = 2) -> None:
    """A local process pool of ``workers`` processes."""
    if workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    if workers == 1 or len(tasks) <= 1:
        run_inline(fn, tasks, on_result)
        return
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks))) as pool:
        futures = [pool.submit(fn, task) for task in tasks]
        for future in as_completed(futures):
            on_result(future.result())


def run_ray(fn: TaskFn, tasks: Sequence[dict[str, Any]], on_result: OnResult, address: str | None = "auto") -> None:
    """On Ray: the running instance if this process started one, else ``ray.init(address)``.

    ``address="auto"`` joins the cluster this machine belongs to and, when there is none,
    starts a local Ray instance.
    """
    ray = require("ray", "ray")
    if not ray.is_initialized():
        try:
            ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
        except ConnectionError:
            if address != "auto":
                raise ConfigError(f"cannot reach the Ray cluster at {address}") from None
            ray.init(ignore_reinit_error=True, log_to_driver=False)
    remote = ray.remote(fn)
    pending = {remote.remote(task) for task in tasks}
    while pending:
        done, rest = ray.wait(list(pending), num_returns=1)
        pending = set(rest)
        for ref in done:
            on_result(ray.get(ref))
