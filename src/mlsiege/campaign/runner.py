"""Run a campaign grid: skip what is on disk, run the rest, combine everything into one report."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlsiege.campaign.executors import run_pool, run_ray
from mlsiege.campaign.grid import Grid
from mlsiege.campaign.store import ResultStore
from mlsiege.campaign.task import run_task
from mlsiege.errors import ConfigError
from mlsiege.report.campaign import campaign_payload
from mlsiege.report.json_report import write_json

__all__ = ["run_campaign"]

Progress = Callable[[int, int, dict[str, Any] | None], None]


def run_campaign(
    grid: Grid,
    out: str | Path,
    *,
    executor: str = "local",
    address: str | None = "auto",
    workers: int = 2,
    progress: Progress | None = None,
    task_fn: Callable[[dict[str, Any]], dict[str, Any]] = run_task,
) -> dict[str, Any]:
    """Run every task of ``grid`` not yet in ``out/results.jsonl``; write ``out/report.json``.

    Parameters
    ----------
    executor
        ``"local"`` (process pool of ``workers``) or ``"ray"`` (at ``address``).
    progress
        Called as ``progress(done, total, record)`` after each task (``record`` is ``None`` for
        the first call, which counts the tasks resumed from disk).
    task_fn
        The task function (the same for every executor); :func:`run_task` by default.

    Returns
    -------
    dict
        The combined report payload (also written to ``out/report.json``).
    """
    if executor not in ("local", "ray"):
        raise ConfigError(f"executor must be 'local' or 'ray', got {executor!r}")
    out = Path(out)
    store = ResultStore(out / "results.jsonl")
    tasks = grid.tasks()
    wanted = {t.key for t in tasks}
    done = store.done() & wanted
    todo = [t.to_dict() for t in tasks if t.key not in done]
    count = {"done": len(done)}
    if progress:
        progress(count["done"], len(tasks), None)

    def keep(record: dict[str, Any]) -> None:
        store.append(record)
        count["done"] += 1
        if progress:
            progress(count["done"], len(tasks), record)

    if executor == "ray":
        run_ray(task_fn, todo, keep, address=address)
    else:
        run_pool(task_fn, todo, keep, workers=workers)
    latest = {r["key"]: r for r in store.records() if r["key"] in wanted}
    records = [latest[t.key] for t in tasks if t.key in latest]
    payload = campaign_payload(grid, records, resumed=len(done))
    write_json(out / "report.json", payload, kind="campaign")
    return payload
