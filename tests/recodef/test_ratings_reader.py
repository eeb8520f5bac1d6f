"""``--format ratings``: headerless or headed ``user item rating [timestamp]``, ids kept as given."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from mlsiege.cli.main import app
from mlsiege.datasets import load_interactions
from mlsiege.errors import DataValidationError

runner = CliRunner()


@pytest.mark.parametrize(
    "text",
    ["u1 i9 5\nu2 i9 1\n\n007 i3 4\n", "user,item,rating\nu1,i9,5\nu2,i9,1\n007,i3,4\n", "u1\ti9\t5\nu2\ti9\t1\n007\ti3\t4\n"],
)
def test_ratings_without_time_keep_ids_and_invent_no_time(tmp_path, text):
    f = tmp_path / "log.txt"
    f.write_text(text)
    d = load_interactions(f, "ratings")
    assert d.timestamps is None and not d.has_time
    assert sorted(d.user_ids.tolist()) == ["007", "u1", "u2"]
    assert d.matrix[list(d.user_ids).index("007"), list(d.item_ids).index("i3")] == 4


def test_ratings_with_time_in_seconds_or_dates(tmp_path):
    f = tmp_path / "log.csv"
    f.write_text("userId,movieId,rating,timestamp\n1,10,4.5,100\n2,10,3,200\n1,10,2,50\n")
    d = load_interactions(f, "ratings")
    assert d.timestamps is not None and d.duplicates == 1
    assert d.matrix[0, 0] == 4.5 and d.timestamps[0, 0] == 100  # the latest of the duplicates
    f.write_text("a x 5 2020-01-01\nb x 1 2020-01-02T00:00:00\n")
    d = load_interactions(f, "ratings")
    assert d.timestamps[1, 0] - d.timestamps[0, 0] == 86400


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("u1 i9 5\nu2 i9 x\n", "line 2: rating 'x'"),
        ("u1 i9 5\nu2 i9\n", "line 2 has fewer"),
        ("u1 i9 5\n\nu2 i9 1 3 4\n", "line 3 has more"),
        ("h1 h2 h3\nu1 i9 5 10\n", "line 2 has more"),
        ("u1 i9 5 10\nu2 i9 1 soon\n", "line 2: timestamp 'soon'"),
        ("a b c d e\n", "line 1 has 5 fields"),
    ],
)
def test_unreadable_line_is_named(tmp_path, text, message):
    f = tmp_path / "bad.txt"
    f.write_text(text)
    with pytest.raises(DataValidationError, match=message):
        load_interactions(f, "ratings")


def test_string_ids_reach_flagged_csv_and_attack_report(tmp_path):
    lines = [f"u{u:03d} m{(u * 7 + k) % 40} {1 + (u + k) % 5}" for u in range(60) for k in range(12)]
    f = tmp_path / "log.txt"
    f.write_text("\n".join(lines) + "\n")
    out = tmp_path / "det"
    res = runner.invoke(app, ["reco", "detect", "--interactions", str(f), "--format", "ratings", "--detector", "pca,coordination", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "skipped coordination" in res.output and "no timestamps" in res.output
    flagged = pd.read_csv(out / "flagged.csv", dtype=str)
    assert set(flagged["account"]) <= {f"u{u:03d}" for u in range(60)}
    res = runner.invoke(app, ["reco", "attack", "--interactions", str(f), "--format", "ratings", "--targets", "2", "--out", str(tmp_path / "att")])
    assert res.exit_code == 0, res.output


def _labelled_log(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from test_rating_detectors import rating_log

    R, y, _ = rating_log(7, attackers=40)
    coo = R.tocoo()
    ids = np.array([f"acct-{u:04d}" for u in range(R.shape[0])])
    log = tmp_path / "log.tsv"
    log.write_text("".join(f"{ids[u]}\tm{i}\t{int(r)}\n" for u, i, r in zip(coo.row, coo.col, coo.data, strict=True)))
    labels = tmp_path / "labels.csv"
    labels.write_text("account,label\n" + "".join(f"{a},{int(v)}\n" for a, v in zip(ids, y, strict=True)))
    return log, labels, set(ids[y])


def test_default_ensemble_with_labels_reports_scores_and_what_it_skipped(tmp_path):
    log, labels, attackers = _labelled_log(tmp_path)
    out = tmp_path / "out"
    res = runner.invoke(app, ["reco", "detect", "--interactions", str(log), "--format", "ratings", "--labels", str(labels), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "skipped coordination: the log has no timestamps" in res.output and "ensemble" in res.output and "F1" in res.output
    flagged = pd.read_csv(out / "flagged.csv", dtype=str)
    assert len(set(flagged["account"]) & attackers) >= 0.9 * len(attackers)
    assert not (out / "flagged.partial.csv").exists()
    report = json.loads((out / "report.json").read_text())
    assert report["ensemble"]["ran"] == ["target-groups"] and "coordination" in report["ensemble"]["skipped"]
    assert report["ensemble"]["scores_on_labels"]["recall"] >= 0.9
    assert set(report["detectors"]["target-groups"]["scores_on_labels"]) >= {"precision", "recall", "f1", "fpr"}


def test_bad_labels_and_missing_follows_are_said(tmp_path):
    log, _, _ = _labelled_log(tmp_path)
    bad = tmp_path / "bad.txt"
    bad.write_text("acct-0001 1\nacct-0002 maybe\n")
    res = runner.invoke(app, ["reco", "detect", "--interactions", str(log), "--format", "ratings", "--labels", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "line 2" in res.output
    res = runner.invoke(app, ["reco", "detect", "--interactions", str(log), "--format", "ratings", "--detector", "sybilrank,rdma", "--out", str(tmp_path / "o2")])
    assert res.exit_code == 0 and "skipped sybilrank: no follow graph given (--follows)" in res.output
