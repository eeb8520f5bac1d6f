"""``mlsiege reco detect`` on a MovieLens-format file written from a planted platform."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from mlsiege.checks.reco_defense import planted_platform
from mlsiege.cli.main import app

runner = CliRunner()


@pytest.fixture(scope="module")
def ratings(tmp_path_factory):
    p = planted_platform(400, 160, sybil_fraction=0.02, targets=2, mimicry=True, seed=2)
    R, T = p.interactions.tocoo(), p.timestamps.tocoo()
    path = tmp_path_factory.mktemp("ml") / "u.data"
    pd.DataFrame({"u": R.row + 1, "i": R.col + 1, "r": R.data.astype(int), "t": T.data.astype(np.int64)}).to_csv(path, sep="\t", header=False, index=False)
    return path, set((np.flatnonzero(p.is_sybil) + 1).tolist())


def test_detect_writes_flagged_accounts_and_report(ratings, tmp_path):
    path, sybils = ratings
    out = tmp_path / "out"
    res = runner.invoke(app, ["reco", "detect", "--interactions", str(path), "--detector", "coordination,lockstep", "--fpr-budget", "0.05", "--out", str(out)])
    assert res.exit_code == 0, res.output
    flagged = pd.read_csv(out / "flagged.csv")
    caught = set(flagged.loc[flagged.detector == "coordination", "account"])
    assert len(caught & sybils) >= 0.9 * len(sybils) and len(caught - sybils) <= 2
    report = json.loads((out / "report.json").read_text())
    assert set(report["detectors"]) == {"coordination", "lockstep"}


def test_unknown_detector_is_one_line_error(ratings, tmp_path):
    res = runner.invoke(app, ["reco", "detect", "--interactions", str(ratings[0]), "--detector", "nope", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "unknown detector" in res.output


def test_feed_scenario_defense_option_reports_exposure_with_and_without(tmp_path):
    out = tmp_path / "feed"
    res = runner.invoke(app, ["scenario", "run", "feed-injection", "--users", "300", "--items", "200", "--rounds", "2",
                              "--defense", "coordination", "--out", str(out)])
    assert res.exit_code == 0, res.output
    payload = json.loads((out / "report.json").read_text())
    d = payload["defenses"]["defenses"]["coordination"]
    assert {"exposure_defended", "flagged_sybil", "flagged_real", "flagged_accounts"} <= set(d)
    assert "exposure_undefended" in payload["defenses"]
    bad = runner.invoke(app, ["scenario", "run", "feed-injection", "--users", "300", "--defense", "nope", "--out", str(out)])
    assert bad.exit_code == 2 and "unknown defense" in bad.output
