"""Campaigns: grid YAML, streaming + resume, one combined report, Ray == local for the same seeds."""

from __future__ import annotations

import json

import joblib
import pytest
from scan_fakes import world

from mlsiege.campaign import Grid, ResultStore, run_campaign
from mlsiege.errors import ConfigError
from mlsiege.results import comparable

GRID = """\
name: tiny
data: d.csv
label: label
schema: s.yaml
targets: {logreg: m.joblib}
attacks: [evasion_label, poisoning]
budgets: [30]
seeds: [0, 1]
trainer: sklearn.linear_model:LogisticRegression
"""


@pytest.fixture
def grid_file(tmp_path):
    X, y, schema, model, frame = world(n=120)
    frame.assign(label=y).to_csv(tmp_path / "d.csv", index=False)
    joblib.dump(model, tmp_path / "m.joblib")
    schema.to_yaml(tmp_path / "s.yaml")
    (tmp_path / "grid.yaml").write_text(GRID)
    return tmp_path / "grid.yaml"


def _strip(payload):
    return sorted(comparable(payload["results"]), key=lambda r: r["key"])


def test_grid_validation(tmp_path, grid_file):
    grid = Grid.from_yaml(grid_file)
    assert [t.key for t in grid.tasks()] == ["logreg|evasion_label|30|0", "logreg|evasion_label|30|1",
                                             "logreg|poisoning|30|0", "logreg|poisoning|30|1"]
    (tmp_path / "bad.yaml").write_text(GRID.replace("evasion_label", "telepathy"))
    with pytest.raises(ConfigError, match="scan roles"):
        Grid.from_yaml(tmp_path / "bad.yaml")


def test_resume_runs_only_what_is_missing(tmp_path, grid_file):
    grid = Grid.from_yaml(grid_file)
    calls = []

    def fake(task):
        calls.append(task["seed"])
        return {"key": f"{task['target']}|{task['attack']}|{task['budget']}|{task['seed']}",
                **{k: task[k] for k in ("target", "attack", "budget", "seed")}, "status": "succeeded",
                "metrics": {"success_rate": 0.5, "max_drop_flips": 0.01}, "findings": [], "queries": 3}

    out = tmp_path / "out"
    store = ResultStore(out / "results.jsonl")
    store.append(fake(grid.tasks()[0].to_dict()))
    with (out / "results.jsonl").open("a") as fh:
        fh.write('{"key": "logreg|evasion_label|30|1", "trunc')  # interrupted mid-line
    calls.clear()
    payload = run_campaign(grid, out, workers=1, task_fn=fake)
    assert len(calls) == 3 and payload["summary"]["resumed from disk"] == 1
    assert payload["summary"]["finished"] == 4
    assert len(list(store.records())) == 4
    again = run_campaign(grid, out, workers=1, task_fn=fake)
    assert len(calls) == 3 and again["summary"]["resumed from disk"] == 4


@pytest.mark.slow
def test_local_campaign_and_ray_agree(tmp_path, grid_file):
    grid = Grid.from_yaml(grid_file)
    local = run_campaign(grid, tmp_path / "local", workers=1)
    assert local["summary"]["finished"] == 4 and local["summary"]["failed"] == 0, local["results"]
    doc = json.loads((tmp_path / "local" / "report.json").read_text())
    assert doc["kind"] == "campaign" and doc["findings"]
    ray = pytest.importorskip("ray")
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    except Exception as exc:  # noqa: BLE001 - any failure to start Ray is a reason to skip
        pytest.skip(f"ray failed to start: {exc}")
    try:
        on_ray = run_campaign(grid, tmp_path / "ray", executor="ray")
    finally:
        ray.shutdown()
    assert _strip(on_ray) == _strip(local)


def test_campaign_cli_writes_one_combined_report(grid_file):
    from typer.testing import CliRunner

    from mlsiege.cli.main import app

    grid_file.write_text(GRID.replace("[evasion_label, poisoning]", "[evasion_label]").replace("[0, 1]", "[0]"))
    out = grid_file.parent / "camp"
    res = CliRunner().invoke(app, ["campaign", "run", str(grid_file), "--out", str(out), "--workers", "1",
                                   "--fail-on", "critical"])
    assert res.exit_code in (0, 1), res.output
    doc = json.loads((out / "report.json").read_text())
    assert doc["summary"]["finished"] == 1 and (out / "report.html").exists()
    critical = any(f["severity"] == "critical" for f in doc["findings"])
    assert res.exit_code == (1 if critical else 0)
