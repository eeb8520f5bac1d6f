"""``mlsiege reco plant`` writes a log that ``reco detect`` reads, with the truth beside it."""

import pandas as pd
from typer.testing import CliRunner

from mlsiege.cli.main import app


def test_plant_then_detect(tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["reco", "plant", "--out", str(tmp_path), "--users", "400", "--items", "160", "--sybil-fraction", "0.03",
                              "--targets", "2", "--aged-days", "90", "--drip-days", "21", "--seed", "3"])
    assert res.exit_code == 0, res.output
    log = pd.read_csv(tmp_path / "interactions.csv")
    assert list(log.columns) == ["user", "item", "rating", "timestamp"] and (log["timestamp"] > 0).all()
    labels = pd.read_csv(tmp_path / "labels.txt", sep=" ", header=None, names=["account", "label"])
    assert labels["label"].sum() == 12 and set(pd.read_csv(tmp_path / "groups.csv")["kind"]) >= {"sybil", "fans", "friends", "none"}
    res = runner.invoke(app, ["reco", "detect", "--interactions", str(tmp_path / "interactions.csv"), "--format", "csv",
                              "--detector", "coordination", "--fpr-budget", "0.1", "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    flagged = pd.read_csv(tmp_path / "out" / "flagged.csv")["account"]
    truth = labels.set_index("account")["label"]
    assert truth.reindex(flagged).mean() >= 0.9 and truth.reindex(flagged).sum() >= 0.8 * 12


def test_impossible_timing_is_one_line():
    res = CliRunner().invoke(app, ["reco", "plant", "--aged-days", "400"])
    assert res.exit_code == 2 and "aged_days" in res.output and "Traceback" not in res.output
