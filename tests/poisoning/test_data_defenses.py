"""Data defenses: they find the poison they are built for, and report what it cost."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import make_blobs
from mlsiege.defenses.data import (
    cv_label_filter_brodley1999,
    knn_label_consistency_peri2020,
    outlier_screen_mahalanobis,
    provenance_filter_baracaldo2017,
    roni_nelson2008,
    schema_validation,
    spectral_signatures_tran2018,
    trim_jagielski2018,
)
from mlsiege.errors import ConfigError, DataValidationError
from mlsiege.metrics.poisoning import detection


def _flipped(n=300, rate=0.1, seed=0):
    X, y = make_blobs(n, seed)
    rng = np.random.default_rng(seed)
    idx = rng.choice(n, int(rate * n), replace=False)
    yp = y.copy()
    yp[idx] = 1 - yp[idx]
    truth = np.zeros(n, bool)
    truth[idx] = True
    return X, yp, truth


@pytest.mark.parametrize("defense", [knn_label_consistency_peri2020, cv_label_filter_brodley1999])
def test_label_defenses_find_flips_cheaply(defense):
    X, y, truth = _flipped()
    Xt, yt = make_blobs(200, 5)
    r = defense(X, y, None, seed=0, is_poison=truth, X_test=Xt, y_test=yt)
    assert r.metrics["recall"] >= 0.8 and r.cost["benign_dropped"] <= 0.1
    assert "utility_lost" in r.cost and r.atlas_mitigations == ("AML.M0007",)
    assert np.array_equal(r.flagged, ~r.keep_mask) and r.scores.shape == (300,)


def _sources(seed=0):
    """Ten honest sources and one that sends class-0 look-alikes labelled 1."""
    X, y = make_blobs(500, seed)
    Xb, yb = make_blobs(200, seed + 1)
    X, y = np.vstack([X, Xb[yb == 0][:50]]), np.r_[y, np.ones(50, int)]
    source = np.repeat([f"s{i}" for i in range(11)], 50)
    return X, y, pd.DataFrame({"source": source}), source == "s10"


def test_provenance_filter_condemns_the_bad_source_only():
    X, y, meta, bad = _sources()
    Xv, yv = make_blobs(200, 9)
    r = provenance_filter_baracaldo2017(X, y, meta, seed=0, X_val=Xv, y_val=yv, is_poison=bad, metric="accuracy")
    assert r.metrics["groups_flagged"] == ["s10"]
    assert r.cost["benign_dropped"] == 0.0 and r.metrics["precision"] == 1.0 and r.metrics["recall"] == 1.0
    assert r.groups["s10"]["flagged"] and r.cost["refits"] == 12
    # without trusted rows: held-out shares of the other sources judge
    u = provenance_filter_baracaldo2017(X, y, meta, seed=0, is_poison=bad, metric="accuracy")
    assert u.metrics["groups_flagged"] == ["s10"]


def test_provenance_filter_needs_the_source_column():
    X, y, _, _ = _sources()
    with pytest.raises(DataValidationError, match="source"):
        provenance_filter_baracaldo2017(X, y, pd.DataFrame({"feed": np.zeros(len(y))}))


def test_roni_by_source_and_by_record():
    X, y, meta, bad = _sources()
    Xv, yv = make_blobs(200, 9)
    r = roni_nelson2008(X, y, meta, seed=0, unit="source", X_val=Xv, y_val=yv, is_poison=bad)
    assert r.metrics["precision"] == 1.0 and r.metrics["recall"] == 1.0
    Xf, yf, truth = _flipped(120)
    rec = roni_nelson2008(Xf, yf, None, seed=0, X_val=Xv, y_val=yv, is_poison=truth)
    assert rec.metrics["precision"] >= 0.5 and rec.cost["refits"] == 121


def test_spectral_and_outlier_screens_catch_a_tight_far_cluster():
    X, y = make_blobs(300, 0)
    cluster = np.tile([7.5, -5.5, 7.0, 7.0], (15, 1)) + np.random.default_rng(1).normal(0, 0.05, (15, 4))
    Xp, yp = np.vstack([X, cluster]), np.r_[y, np.zeros(15, int)]
    truth = np.r_[np.zeros(300, bool), np.ones(15, bool)]
    s = spectral_signatures_tran2018(Xp, yp, None, is_poison=truth, eps=0.1)
    o = outlier_screen_mahalanobis(Xp, yp, None, is_poison=truth)
    assert s.metrics["recall"] == 1.0
    assert o.metrics["recall"] == 1.0 and o.cost["benign_dropped"] < 0.02


def test_trim_ignores_poisoned_regression_targets():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + rng.normal(0, 0.1, 200)
    truth = np.zeros(200, bool)
    truth[:20] = True
    y[:20] = 15.0  # poison: extreme targets
    Xt = rng.normal(size=(100, 3))
    yt = Xt @ np.array([1.0, -2.0, 0.5])
    r = trim_jagielski2018(X, y, None, seed=0, eps=0.1, is_poison=truth, X_test=Xt, y_test=yt)
    assert r.metrics["recall"] == 1.0 and r.metrics["precision"] == 1.0
    assert r.metrics["iterations"] >= 1 and abs(r.cost["utility_lost"]) < 0.05


def test_schema_validation_flags_broken_rows(blob_schema):
    X, y = make_blobs(50, 0)
    X[3, 0] = 50.0
    X[7, 2] = np.inf
    r = schema_validation(X, y, None, schema=blob_schema)
    assert set(np.flatnonzero(~r.keep_mask)) == {3, 7}
    assert any("f0" in rule for rule in r.groups["3"])
    no_schema = schema_validation(X, y, None)
    assert set(np.flatnonzero(~no_schema.keep_mask)) == {7}


def test_detection_metrics_match_the_result():
    X, y, truth = _flipped()
    r = knn_label_consistency_peri2020(X, y, None, is_poison=truth)
    assert detection(r.flagged, truth)["recall"] == r.metrics["recall"]


def test_config_errors_are_clear():
    X, y, truth = _flipped(60)
    with pytest.raises(ConfigError, match="k must"):
        knn_label_consistency_peri2020(X, y, None, k=0)
    with pytest.raises(DataValidationError, match="meta has"):
        spectral_signatures_tran2018(X, y, pd.DataFrame({"source": ["a"] * 3}))
