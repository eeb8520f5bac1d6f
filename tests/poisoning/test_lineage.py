"""Poison injected at one source is traced to every model it reached, purged, and the models recover."""

from __future__ import annotations

import json

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score

from conftest import make_blobs
from mlsiege.lifecycle.lineage import Lineage, content_hash
from mlsiege.metrics.poisoning import survival_by_stage


def _fit(X, y):
    return LogisticRegression(max_iter=500).fit(X, y)


def test_poison_is_traced_forward_purged_and_the_models_recover(tmp_path):
    events = tmp_path / "lineage" / "events.jsonl"
    lin = Lineage(emit=events)
    Xt, yt = make_blobs(400, 99)

    def evaluate(model):
        return {"accuracy": accuracy_score(yt, model.predict(Xt))}

    for i in range(4):  # honest feeds, two batches each
        for b in range(2):
            X, y = make_blobs(80, 10 * i + b)
            lin.ingest(X, y, source=f"feed{i}", batch=f"feed{i}-{b}", time=f"2026-01-0{b + 1}")
    Xp, yp = make_blobs(400, 77)
    Xp = Xp[yp == 0][:120]
    yp = np.ones(120, int)  # class-0 look-alikes labelled 1: 120 of 760 records
    lin.ingest(Xp, yp, source="broker", batch="broker-0")

    lin.derive("pool", [f"raw/feed{i}" for i in range(4)] + ["raw/broker"])
    lin.derive("sold_subset", ["pool"], select=lambda rec, X, y: X[:, 2] > -0.5)  # resold, filtered
    lin.derive("partner_only", ["raw/feed0", "raw/feed1"])
    clean_ref = {}
    for name, ds in [("scorer", "pool"), ("resold_model", "sold_subset"), ("partner_model", "partner_only")]:
        lin.train(name, ds, _fit, evaluate)
        X, y, _ = lin.data(ds)
        keep = ~lin.data(ds)[2]["source"].eq("broker").to_numpy()
        clean_ref[name] = evaluate(_fit(X[keep], y[keep]))["accuracy"]

    # forward: every model that consumed broker records, and only those
    assert lin.models_reached_by("broker") == ["resold_model", "scorer"]
    assert lin.datasets_reached_by("broker") == ["pool", "raw/broker", "sold_subset"]
    poisoned = {n: lin.models[n].metrics["accuracy"] for n in ("scorer", "resold_model")}
    assert all(poisoned[n] < clean_ref[n] - 0.02 for n in poisoned)

    # backward: where did this row come from?
    origin = lin.where_from(Xp[5], yp[5])
    assert origin[0]["source"] == "broker" and origin[0]["batch"] == "broker-0"
    assert "scorer" in origin[0]["models"] and origin[0]["content_hash"] == content_hash(Xp[5], yp[5])

    report = lin.purge_and_retrain("broker")
    assert report.records_removed == 120 and set(report.models) == {"scorer", "resold_model"}
    for name in report.models:
        after = report.models[name]["after"]["accuracy"]
        assert abs(after - clean_ref[name]) <= 0.01, (name, after, clean_ref[name])
        assert report.models[name]["version"] == 2
    assert lin.models["partner_model"].version == 1  # untouched
    assert lin.models_reached_by("broker") == []

    # OpenLineage events: one JSON RunEvent per line, inputs -> outputs
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    assert len(lines) == lin.events_emitted >= 9 + 3 + 3 + 3 + 2
    jobs = {e["job"]["name"] for e in lines}
    assert {"ingest/broker", "derive/pool", "train/scorer", "purge/broker/pool"} <= jobs
    train = next(e for e in lines if e["job"]["name"] == "train/scorer")
    assert train["eventType"] == "COMPLETE" and train["inputs"][0]["name"] == "pool"
    assert train["outputs"][0]["name"] == "model/scorer"


def test_survival_by_stage_counts_each_stage_cumulatively():
    truth = np.array([1, 1, 1, 1, 0, 0], bool)
    s = survival_by_stage(truth, {"schema": [1, 1, 1, 0, 1, 1], "provenance": [0, 1, 1, 1, 1, 0]})
    assert s == {"ingest": 1.0, "schema": 0.75, "provenance": 0.5}
