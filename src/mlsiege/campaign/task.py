"""The one task function every executor runs: a scan of one target restricted to one role.

It reads its inputs from paths (so it pickles to any worker, local or Ray), returns a plain JSON
record and never raises for a failing scan: the error is in the record.
"""

from __future__ import annotations

import time
import warnings
from functools import lru_cache
from typing import Any

from mlsiege.errors import MlsiegeError

__all__ = ["run_task"]


@lru_cache(maxsize=8)
def _inputs(data: str, label: str, schema: str) -> Any:
    from mlsiege.scenarios.scan_inputs import load_scan_inputs

    return load_scan_inputs(data, label, schema)


def run_task(task: dict[str, Any]) -> dict[str, Any]:
    """Run one grid cell (``Task.to_dict()``); returns its result record."""
    from mlsiege.report.rules import scan_findings
    from mlsiege.scenarios.scan import ScanConfig, run_scan
    from mlsiege.scenarios.scan_inputs import load_trainer
    from mlsiege.scenarios.scan_recipes import default_recipes
    from mlsiege.targets import load_target

    started = time.perf_counter()
    key = f"{task['target']}|{task['attack']}|{task['budget']}|{task['seed']}"
    record: dict[str, Any] = {"key": key, **{k: task[k] for k in ("target", "attack", "budget", "seed")}}
    try:
        schema, X, y, _info = _inputs(task["data"], task["label"], task["schema"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # unpickling the campaign's own model files
            model = load_target(task["spec"], schema=schema)
        trainer = load_trainer(task["trainer"]) if task.get("trainer") else None
        outcome = run_scan(model, X, y, schema=schema, config=ScanConfig(budget=int(task["budget"]), seed=int(task["seed"])),
                           recipes=default_recipes(), trainer=trainer, roles=[task["attack"]])
        payload = outcome.to_payload()
        step = next((s for s in payload["steps"] if s["name"] == task["attack"]), {})
        record.update({
            "status": step.get("status", "error"),
            "recipe": step.get("recipe"),
            "queries": payload["budget"]["used"],
            "metrics": step.get("metrics", {}),
            "curve": step.get("curve", {}),
            "reason": step.get("reason") or payload["error"],
            "findings": [f.to_dict() for f in scan_findings(payload) if f.source in (task["attack"], "scan")],
        })
    except MlsiegeError as exc:
        record.update({"status": "error", "reason": str(exc), "queries": 0, "metrics": {}, "curve": {}, "findings": []})
    record["seconds"] = round(time.perf_counter() - started, 3)
    from mlsiege.results import to_jsonable

    return to_jsonable(record)
