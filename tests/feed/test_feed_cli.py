import json

import numpy as np
from typer.testing import CliRunner

from mlsiege.cli.main import app

runner = CliRunner()


def _ratings(path, n_users=300, n_items=200, n=6000, seed=0):
    rng = np.random.default_rng(seed)
    pop = 1.0 / np.arange(1, n_items + 1) ** 0.9
    act = 1.0 / np.arange(1, n_users + 1) ** 0.5
    p = np.outer(act, pop).ravel()
    u, i = np.divmod(rng.choice(n_users * n_items, n, replace=False, p=p / p.sum()), n_items)
    lines = [f"{a + 1}\t{b + 1}\t{rng.integers(1, 6)}\t{880000000 + k}" for k, (a, b) in enumerate(zip(u, i, strict=True))]
    path.write_text("\n".join(lines) + "\n")


def test_reco_attack_writes_the_report(tmp_path):
    data = tmp_path / "u.data"
    _ratings(data)
    res = runner.invoke(app, ["reco", "attack", "--interactions", str(data), "--format", "movielens", "--recommender", "item-knn",
                              "--attack", "optimized", "--sybil-fraction", "0.05", "--targets", "3", "--seed", "0", "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    for key in ("hr_at_10_clean", "hr_at_10_attacked", "ndcg_at_10_clean", "ndcg_at_10_attacked", "seconds"):
        assert isinstance(report[key], float)
    assert report["kind"] == "reco-attack" and report["hr_at_10_attacked"] > report["hr_at_10_clean"]


def test_reco_attack_bad_input_is_one_line(tmp_path):
    res = runner.invoke(app, ["reco", "attack", "--interactions", str(tmp_path / "missing.data"), "--out", str(tmp_path)])
    assert res.exit_code == 2 and "file not found" in res.output
    res = runner.invoke(app, ["reco", "attack", "--interactions", "x", "--attack", "nope"])
    assert res.exit_code == 2 and "unknown attack" in res.output


def test_scenario_feed_injection_writes_json_and_html(tmp_path):
    res = runner.invoke(app, ["scenario", "run", "feed-injection", "--users", "300", "--items", "250", "--rounds", "2",
                              "--sybil-fraction", "0.02", "--attack", "pod", "--recommender", "popularity", "--seed", "1",
                              "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "report.json").read_text())
    assert len(report["rounds"]) == 2 and {"exposure_clean", "exposure_attacked", "amplification", "ndcg_attacked"} <= set(report["rounds"][0])
    assert "plotly" in (tmp_path / "report.html").read_text().lower()
