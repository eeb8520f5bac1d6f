"""Campaigns: a grid of scans (targets x attacks x budgets x seeds) run on a process pool or Ray.

Results stream to ``DIR/results.jsonl`` as tasks finish, so an interrupted campaign resumes where
it stopped; ``DIR/report.json`` and ``DIR/report.html`` combine them. Ray is optional (the
``ray`` extra) and runs exactly the same task function as the local pool.
"""

from mlsiege.campaign.grid import Grid, Task
from mlsiege.campaign.runner import run_campaign
from mlsiege.campaign.store import ResultStore
from mlsiege.campaign.task import run_task

__all__ = ["Grid", "ResultStore", "Task", "run_campaign", "run_task"]
