"""Targets: adapters, sign convention, Budgeted accounting, hardening wrappers."""

from __future__ import annotations

import warnings

import joblib
import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingClassifier, IsolationForest
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlsiege.errors import (
    CapabilityError,
    ConfigError,
    QueryBudgetExceeded,
    TargetRaisedError,
)
from mlsiege.targets import (
    AnomalyScorer,
    Budgeted,
    Classifier,
    LabelOnly,
    ProbabilisticClassifier,
    Rounded,
    ThresholdOracle,
    TopK,
    from_callable,
    from_estimator,
    load_joblib,
    load_target,
)


@pytest.fixture
def blobs(rng):
    X = np.vstack([rng.normal(0, 1, (60, 3)), rng.normal(3, 1, (60, 3))])
    y = np.r_[np.zeros(60, int), np.ones(60, int)]
    return X, y


def test_estimator_classifier_exposes_proba_and_protocols(blobs):
    X, y = blobs
    t = from_estimator(make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y))
    assert isinstance(t, Classifier) and isinstance(t, ProbabilisticClassifier)
    assert t.predict_proba(X[:2]).shape == (2, 2)
    assert set(t.predict(X)) == {0, 1}


def test_anomaly_sign_convention_higher_is_more_anomalous(rng):
    X = rng.normal(0, 1, (300, 2))
    forest = IsolationForest(random_state=0).fit(X)
    t = from_estimator(forest)
    assert isinstance(t, AnomalyScorer)
    inlier, outlier = t.score(np.array([[0.0, 0.0], [8.0, 8.0]]))
    assert outlier > inlier
    # the adapter's threshold reproduces scikit-learn's own outlier decision
    oracle = ThresholdOracle(t, t.threshold)
    probe = np.vstack([X[:50], [[8.0, 8.0]]])
    assert np.array_equal(oracle.predict(probe), (forest.predict(probe) == -1).astype(int))


def test_pyod_scores_pass_through_unflipped(rng):
    pyod_iforest = pytest.importorskip("pyod.models.iforest")
    X = rng.normal(0, 1, (200, 2))
    det = pyod_iforest.IForest(random_state=0).fit(X)
    t = from_estimator(det)
    inlier, outlier = t.score(np.array([[0.0, 0.0], [8.0, 8.0]]))
    assert outlier > inlier
    assert np.array_equal(ThresholdOracle(t, t.threshold).predict(X), det.predict(X))


def test_regressor_kind(rng):
    X = rng.normal(size=(20, 2))
    t = from_estimator(LinearRegression().fit(X, X[:, 0]))
    assert not hasattr(t, "predict_proba")
    assert np.allclose(t.predict(X), X[:, 0])


def test_budget_is_exact_and_keeps_partial():
    t = Budgeted(from_callable(lambda X: X[:, 0] * 2, kind="regressor"), max_queries=5)
    assert t.predict(np.ones((3, 1))).tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(QueryBudgetExceeded) as info:
        t.predict(np.arange(4.0).reshape(4, 1))
    assert info.value.partial.tolist() == [0.0, 2.0]  # the two rows still within budget
    assert t.queries_used == 5 and t.calls == 2
    with pytest.raises(QueryBudgetExceeded) as info:
        t.predict(np.ones((1, 1)))
    assert info.value.sent == 0 and t.queries_used == 5
    assert t.log.inputs().shape == (5, 1)
    assert [r.caller for r in t.log.records] == ["attacker", "attacker"]


def test_sub_budget_counts_in_parent():
    parent = Budgeted(from_callable(lambda X: X[:, 0] > 0), max_queries=10)
    child = parent.sub_budget(4)
    child.predict(np.ones((4, 1)))
    with pytest.raises(QueryBudgetExceeded):
        child.predict(np.ones((1, 1)))
    other = parent.sub_budget(100)
    with pytest.raises(QueryBudgetExceeded) as info:
        other.predict(np.ones((8, 1)))
    assert info.value.sent == 6
    assert parent.queries_used == 10 and other.queries_used == 6


def test_budgeted_exposes_only_what_target_offers():
    t = Budgeted(LabelOnly(from_callable(lambda X: X[:, 0] > 0, proba=lambda X: np.c_[X[:, 0], X[:, 0]])))
    assert hasattr(t, "predict") and not hasattr(t, "predict_proba")
    with pytest.raises(CapabilityError):
        t.score(np.ones((1, 1)))


def test_target_that_raises_is_named():
    def broken(X):
        raise ZeroDivisionError("boom")

    t = Budgeted(from_callable(broken))
    with pytest.raises(TargetRaisedError, match="ZeroDivisionError: boom"):
        t.predict(np.ones((1, 1)))
    assert t.queries_used == 0  # an unanswered query is not counted


def test_wrapping_twice_is_refused():
    with pytest.raises(ConfigError):
        Budgeted(Budgeted(from_callable(lambda X: X)))


def test_rounded_and_topk(blobs):
    X, y = blobs
    clf = from_estimator(LogisticRegression().fit(X, y))
    assert np.all(np.round(Rounded(clf, 1).predict_proba(X), 1) == Rounded(clf, 1).predict_proba(X))
    top = TopK(GradientBoostingClassifier(random_state=0).fit(X, y), k=1).predict_proba(X[:5])
    assert np.all((top > 0).sum(axis=1) == 1)
    assert not hasattr(Rounded(ThresholdOracle(from_callable(lambda X: X[:, 0], kind="scorer"), 0.0)), "score")


def test_threshold_oracle_hides_score_unless_asked():
    scorer = from_callable(lambda X: X[:, 0], kind="scorer")
    assert not hasattr(ThresholdOracle(scorer, 0.5), "score")
    assert ThresholdOracle(scorer, 0.5, expose_score=True).score(np.array([[1.0]])).tolist() == [1.0]
    assert ThresholdOracle(scorer, 0.5).predict(np.array([[0.2], [0.9]])).tolist() == [0, 1]


def test_joblib_warns_and_loads(tmp_path, blobs):
    X, y = blobs
    path = tmp_path / "m.joblib"
    joblib.dump(LogisticRegression().fit(X, y), path)
    with pytest.warns(UserWarning, match="unpickles"):
        t = load_target(str(path))
    assert t.predict(X[:3]).shape == (3,)
    with pytest.raises(ConfigError, match="not found"):
        load_joblib(tmp_path / "missing.joblib")


def test_onnx_target_matches_sklearn(tmp_path, blobs):
    skl2onnx = pytest.importorskip("skl2onnx")
    pytest.importorskip("onnxruntime")
    from skl2onnx.common.data_types import FloatTensorType

    X, y = blobs
    model = LogisticRegression().fit(X, y)
    onx = skl2onnx.convert_sklearn(model, initial_types=[("X", FloatTensorType([None, 3]))], options={id(model): {"zipmap": False}})
    path = tmp_path / "m.onnx"
    path.write_bytes(onx.SerializeToString())
    t = load_target(str(path))
    assert np.array_equal(t.predict(X), model.predict(X))
    assert np.allclose(t.predict_proba(X), model.predict_proba(X), atol=1e-5)


def test_module_callable_spec():
    with warnings.catch_warnings():
        t = load_target("numpy:sign")
    assert t.predict(np.array([-2.0, 3.0])).tolist() == [-1.0, 1.0]
    with pytest.raises(ConfigError):
        load_target("no_such_module_xyz:f")
    with pytest.raises(ConfigError, match="cannot tell"):
        load_target("model.txt")
