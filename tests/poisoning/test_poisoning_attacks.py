"""Poisoning recipes: valid poisoned rows, ground truth, and a measured downstream effect."""

from __future__ import annotations

import numpy as np
import pytest

from mlsiege.attacks.poisoning import (
    backdoor_trigger_gu2017,
    boiling_frog_rubinstein2009,
    inject_phony_records,
    label_flip_random_biggio2011,
    label_flip_targeted_xiao2012,
    subpopulation_jagielski2021,
)
from mlsiege.attacks.poisoning.generator import PhonyGenerator
from mlsiege.errors import ConfigError, DataValidationError


def test_random_flips_change_exactly_the_marked_labels(blobs, blob_schema):
    X, y, Xt, yt = blobs
    r = label_flip_random_biggio2011(X, y, schema=blob_schema, seed=0, rate=0.2, X_test=Xt, y_test=yt, metric="accuracy")
    flipped = r.artifacts["y_poisoned"] != y
    assert np.array_equal(flipped, r.artifacts["is_poison"])
    assert flipped.sum() == 60
    assert np.array_equal(r.artifacts["X_poisoned"], X)
    assert r.metrics["metric_clean"] > 0.85 and "utility_drop" in r.metrics


def test_targeted_flips_hurt_more_than_random(blobs, blob_schema):
    X, y, Xt, yt = blobs
    rnd = label_flip_random_biggio2011(X, y, schema=blob_schema, seed=0, rate=0.2, X_test=Xt, y_test=yt, metric="accuracy")
    tgt = label_flip_targeted_xiao2012(X, y, schema=blob_schema, seed=0, rate=0.2, X_test=Xt, y_test=yt, metric="accuracy")
    assert set(y[tgt.artifacts["is_poison"]]) == {1}
    assert tgt.metrics["utility_drop"] > rnd.metrics["utility_drop"]
    assert tgt.status == "succeeded"


def test_phony_generator_respects_schema_and_accept_filter(blobs, blob_schema):
    X, y, _, _ = blobs
    gen = PhonyGenerator(blob_schema, X[y == 0])
    rows = gen.sample(50, seed=3, accept=lambda Z: Z[:, 0] < 0.5)
    assert len(rows) == 50 and blob_schema.valid_mask(rows).all() and (rows[:, 0] < 0.5).all()
    assert np.array_equal(rows, gen.sample(50, seed=3, accept=lambda Z: Z[:, 0] < 0.5))
    with pytest.raises(ConfigError):
        PhonyGenerator(blob_schema, X, shift=0.5)
    with pytest.raises(DataValidationError):
        PhonyGenerator(blob_schema, X[:3])


def test_injection_shifted_toward_payload_hurts(blobs, blob_schema):
    X, y, Xt, yt = blobs
    r = inject_phony_records(X, y, schema=blob_schema, seed=0, rate=0.15, label=0, shift=0.9, X_test=Xt, y_test=yt, metric="accuracy")
    assert r.artifacts["is_poison"].sum() == len(r.artifacts["X_poisoned"]) - len(X)
    assert (r.artifacts["y_poisoned"][r.artifacts["is_poison"]] == 0).all()
    assert r.valid_rate == 1.0 and r.metrics["utility_drop"] > 0.01


def test_subpopulation_attack_is_local(blobs, blob_schema):
    X, y, Xt, yt = blobs
    r = subpopulation_jagielski2021(X, y, schema=blob_schema, seed=0, n_clusters=6, ratio=1.5, X_test=Xt, y_test=yt)
    m = r.metrics
    assert m["targeted_error_poisoned"] - m["targeted_error_clean"] > 0.2
    assert m["targeted_error_poisoned"] - m["targeted_error_clean"] > m["collateral_error_poisoned"] - m["collateral_error_clean"]


def test_backdoor_trigger_flips_triggered_rows(blobs, blob_schema):
    from sklearn.tree import DecisionTreeClassifier

    X, y, Xt, yt = blobs
    r = backdoor_trigger_gu2017(X, y, schema=blob_schema, seed=0, rate=0.08, target_label=0,
                                trigger={"f2": 8.0, "f3": -6.0}, model=DecisionTreeClassifier(random_state=0),
                                X_test=Xt, y_test=yt)
    m = r.metrics
    assert m["backdoor_success_poisoned"] > 0.8 > m["backdoor_success_clean"]
    assert m["metric_poisoned"] > 0.85  # clean utility survives
    assert r.atlas_techniques == ("AML.T0020", "AML.T0018.000")


def test_boiling_frog_drags_the_threshold_to_the_target(blob_schema):
    rng = np.random.default_rng(0)
    benign = np.clip(rng.normal(0, 1, (200, 4)), -6, 8)
    target = np.array([[4.5, 4.5, 0.0, 0.0]])
    X = np.vstack([benign, target])
    y = np.r_[np.zeros(200, int), 1]
    r = boiling_frog_rubinstein2009(X, y, schema=blob_schema, seed=0, rounds=12, per_round=0.1, fresh=0.1)
    m = r.metrics
    assert m["target_accepted_before"] is False and m["target_accepted_after"] is True
    assert r.status == "succeeded" and 0 < m["round_accepted"] <= 12
    assert len(r.artifacts["rounds"]) == 12 and r.artifacts["is_poison"].any()
    # a single big jump is caught: the slow schedule is what makes it work
    fast = boiling_frog_rubinstein2009(X, y, schema=blob_schema, seed=0, rounds=1, per_round=0.1, fresh=0.1)
    assert fast.metrics["target_accepted_after"] is False


def test_bad_inputs_are_clear_errors(blobs, blob_schema):
    X, y, _, _ = blobs
    with pytest.raises(ConfigError, match="rate"):
        label_flip_random_biggio2011(X, y, schema=blob_schema, rate=0.7)
    bad = X.copy()
    bad[5, 1] = np.nan
    with pytest.raises(DataValidationError, match="rows 5"):
        inject_phony_records(bad, y, schema=blob_schema)
