"""Dynamic audit: run the matching attacks through the stages a pipeline file describes.

Where the pipeline points at real artefacts (data, label, model, schema, trainer), each control
is implemented by the mlsiege component that :data:`~mlsiege.lifecycle.controls.CONTROL_CATALOG`
names, and two attacks go through the stages, as the registration scenario does:

* **probe-evade** (serve -> monitor): label-only HopSkipJump (Chen et al. 2020) against the model,
  behind ``output_policy`` (labels only), ``query_limits`` (a per-client budget) and
  ``probing_detection`` (PRADA + fingerprinting over the query log); a point is *caught* at the
  first stage that stops it and *through* when its evasion succeeds unseen.
* **poison-source** (collect -> validate -> reuse -> train): 5% phony records from an untrusted
  source, shaped like benign rows and moved toward the abuse rows, screened by
  ``source_access_control``, ``schema_validation`` and ``poisoning_screen``
  (provenance filtering, Baracaldo et al. 2017; spectral signatures, Tran et al. 2018); the
  survivors are trained on with the user's trainer and the metric drop is measured.

With a trainer, the novel-class generalization test also runs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlsiege.errors import ConfigError, DataValidationError
from mlsiege.lifecycle.pipeline import PipelineSpec

__all__ = ["dynamic_audit"]

ATTACKER = "attacker"
#: a poisoning that moves the model's metric (AUC or accuracy) by less than this did nothing measurable
POISON_EFFECT = 0.01


def _load(pipeline: PipelineSpec, base: Path) -> dict[str, Any]:
    from mlsiege.datasets.tables import read_table
    from mlsiege.schema import infer_schema, read_schema

    art = pipeline.artefacts
    if "data" not in art or "label" not in art:
        raise ConfigError("the dynamic audit needs artefacts.data and artefacts.label")
    frame = read_table(_path(base, art["data"]))
    label = art["label"]
    if label not in frame.columns:
        raise DataValidationError(f"label column {label!r} is not in {art['data']}", columns=[label])
    drop = [label] + ([art["class_column"]] if art.get("class_column") else [])
    features = frame.drop(columns=[c for c in drop if c in frame.columns])
    schema = read_schema(_path(base, art["schema"])).drop(drop) if art.get("schema") else infer_schema(features)
    X = schema.encode(features)
    y = binary_labels(frame[label], art.get("positive_label"), label)
    classes = frame[art["class_column"]].astype(str).to_numpy() if art.get("class_column") in frame.columns else None
    return {"X": X, "y": y, "schema": schema, "classes": classes}


def binary_labels(column: pd.Series, positive: Any, name: str) -> np.ndarray:
    """Labels as 1 (abuse) / 0, never coerced silently.

    Numbers 0/1 (or booleans) pass as they are. Anything else (text such as ``"bot"`` /
    ``"human"``, or other numbers) needs ``artefacts.positive_label`` naming the abuse value:
    that value becomes 1 and every other 0. Missing labels are refused.
    """
    if column.isna().any():
        rows = np.flatnonzero(column.isna().to_numpy())[:5].tolist()
        raise DataValidationError(f"label column {name!r} has missing values (rows {rows}...): drop or fill them",
                                  columns=[name])
    values = sorted({str(v) for v in column.unique()})
    if positive is not None:
        if str(positive) not in values:
            raise ConfigError(f"artefacts.positive_label {positive!r} is not a value of {name!r} (values: {', '.join(values[:8])})")
        return (column.astype(str) == str(positive)).to_numpy().astype(int)
    numeric = pd.to_numeric(column, errors="coerce")
    if pd.api.types.is_bool_dtype(column) or (numeric.notna().all() and set(numeric.unique()) <= {0, 1}):
        return numeric.astype(int).to_numpy()
    raise DataValidationError(
        f"label column {name!r} holds {', '.join(values[:6])}{'...' if len(values) > 6 else ''}, not 0/1: "
        "set artefacts.positive_label to the value that means abuse", columns=[name])


def _path(base: Path, value: str) -> str:
    """Resolve a file artefact against the pipeline file's folder; leave URLs and module specs."""
    text = str(value)
    if text.startswith(("http://", "https://")) or re.fullmatch(r"[\w.]+:[\w.]+", text):
        return text
    path = Path(text)
    return str(path if path.is_absolute() else base / path)


def _funnel(stage_order: list[str], caught: dict[str, int], attempted: int) -> list[dict[str, Any]]:
    rows = [{"stage": s, "caught": int(caught.get(s, 0))} for s in stage_order]
    through = attempted - sum(r["caught"] for r in rows)
    return rows + [{"stage": "through", "caught": int(through)}]


def _probe_evade(pipeline: PipelineSpec, data: dict[str, Any], model_spec: str, base: Path, *, budget: int, seed: int) -> dict[str, Any]:
    from mlsiege.attacks.evasion import hopskipjump_chen2020
    from mlsiege.defenses.serving.monitor import scan_log
    from mlsiege.targets import Budgeted, LabelOnly, ThresholdOracle, load_target

    art = pipeline.artefacts
    schema, X, y = data["schema"], data["X"], data["y"]
    target = load_target(_path(base, model_spec), schema=schema, kind=art.get("kind"))
    if hasattr(target, "score") and not hasattr(target, "predict"):
        threshold = art.get("threshold", getattr(target, "threshold", None))
        if threshold is None:
            raise ConfigError("an anomaly-scoring model needs artefacts.threshold")
        target = ThresholdOracle(target, float(threshold))
    serve = pipeline.controls_at("serve")
    monitor = pipeline.controls_at("monitor")
    if "output_policy" in serve:
        target = LabelOnly(target)
    flagged = np.flatnonzero(np.asarray(target.predict(X)).astype(int) == 1)  # the auditor's own look
    rng = np.random.default_rng(seed)
    points = rng.choice(flagged, size=min(20, len(flagged)), replace=False) if len(flagged) else flagged
    if not len(points):
        return {"attack": "probe-evade", "attempted": 0, "stages": _funnel(["serve", "train", "monitor"], {}, 0),
                "note": "the model flags no row of the data: nothing to evade"}
    limits = pipeline.stage("serve").controls.get("query_limits")
    cap = int((limits or {}).get("per_client", 300)) if "query_limits" in serve else None
    api = Budgeted(target, cap, caller=ATTACKER)
    pool = np.setdiff1d(np.arange(len(X)), points)
    result = hopskipjump_chen2020(api, X[points], schema=schema, pool_X=X[pool], pool_y=None if "output_policy" in serve else y[pool],
                                  budget=budget, seed=seed)
    success = np.asarray(result.artifacts["success"], dtype=bool)
    per_point = _per_point_queries(result, len(points))
    ends = np.cumsum(per_point)
    alert_row = None
    where = "serve" if "probing_detection" in serve else ("monitor" if "probing_detection" in monitor else None)
    if where is not None:
        alerts = scan_log(api.log, schema=schema)
        alert_row = min((a.query for a in alerts), default=None)
    caught: dict[str, int] = {}
    for i in range(len(points)):
        if alert_row is not None and ends[i] > alert_row:
            caught[where] = caught.get(where, 0) + 1
        elif not success[i]:
            stage = "serve" if cap is not None and api.remaining <= 0 else "train"
            caught[stage] = caught.get(stage, 0) + 1
    return {"attack": "probe-evade", "attempted": int(len(points)), "queries": int(api.queries_used),
            "first_alert_at_query": alert_row, "per_client_cap": cap,
            "stages": _funnel(["serve", "train", "monitor"], caught, len(points)),
            "atlas_techniques": ["AML.T0040", "AML.T0043", "AML.T0015"]}


def _per_point_queries(result: Any, n: int) -> np.ndarray:
    table = result.artifacts.get("points") if hasattr(result, "artifacts") else None
    if table is not None:
        frame = pd.DataFrame(table)
        if "queries" in frame:
            return frame["queries"].to_numpy(dtype=int)
    return np.full(n, max(1, result.queries // max(1, n)))


def _poison_source(pipeline: PipelineSpec, data: dict[str, Any], trainer: Any, *, seed: int) -> dict[str, Any]:
    from sklearn.base import clone
    from sklearn.model_selection import train_test_split

    from mlsiege.attacks.poisoning import inject_phony_records
    from mlsiege.defenses.data import (
        provenance_filter_baracaldo2017,
        schema_validation,
        spectral_signatures_tran2018,
    )
    from mlsiege.metrics.poisoning import downstream_metric

    schema, X, y = data["schema"], data["X"], data["y"]
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed)
    attack = inject_phony_records(X_tr, y_tr, schema=schema, seed=seed, rate=0.05, shift=0.6, model=trainer,
                                  X_test=X_te, y_test=y_te)
    Xp = np.asarray(attack.artifacts["X_poisoned"])
    yp = np.asarray(attack.artifacts["y_poisoned"])
    is_poison = np.asarray(attack.artifacts["is_poison"], dtype=bool)
    sources = [s.name for s in pipeline.sources] or ["intake"]
    outside = [s.name for s in pipeline.sources if s.writers != "internal" or not s.trusted]
    rng = np.random.default_rng(seed)
    source = np.array([sources[k] for k in rng.integers(0, len(sources), len(Xp))], dtype=object)
    entry = outside[0] if outside else None
    caught: dict[str, int] = {}
    alive = np.ones(len(Xp), dtype=bool)
    if entry is None or "source_access_control" in pipeline.controls_at("collect"):
        caught["collect"] = int(is_poison.sum())
        alive &= ~is_poison
    else:
        source[is_poison] = entry
    for stage in ("validate", "transform", "reuse"):
        controls = pipeline.controls_at(stage)
        screens = []
        if "schema_validation" in controls:
            screens.append(lambda A, b, m: schema_validation(A, b, m, seed=seed, schema=schema))
        if "poisoning_screen" in controls:
            screens.append(lambda A, b, m: provenance_filter_baracaldo2017(A, b, m, seed=seed))
            screens.append(lambda A, b, m: spectral_signatures_tran2018(A, b, m, seed=seed))
        for screen in screens:
            idx = np.flatnonzero(alive)
            if not len(idx):
                break
            meta = pd.DataFrame({"source": source[idx]})
            keep = np.asarray(screen(Xp[idx], yp[idx], meta).keep_mask, dtype=bool)
            dropped = idx[~keep]
            caught[stage] = caught.get(stage, 0) + int(is_poison[dropped].sum())
            alive[dropped] = False
    def fitted(A: np.ndarray, b: np.ndarray) -> float:
        return downstream_metric(clone(trainer).fit(A, b), X_te, y_te)

    clean, poisoned, defended = fitted(X_tr, y_tr), fitted(Xp, yp), fitted(Xp[alive], yp[alive])
    attempted = int(is_poison.sum())
    return {"attack": "poison-source", "attempted": attempted, "entry_source": entry,
            "stages": _funnel(["collect", "validate", "transform", "reuse"], caught, attempted),
            "benign_dropped": float((~alive & ~is_poison).sum() / max(1, (~is_poison).sum())),
            "metric_clean": clean, "metric_poisoned": poisoned, "metric_defended": defended,
            "atlas_techniques": ["AML.T0020"]}


STATIC_PATH = {"probe-evade": "probe-extract-evade", "poison-source": "poison-source"}


def dynamic_audit(pipeline: PipelineSpec, base: Path, *, budget: int = 200, seed: int = 0) -> tuple[dict, list, dict | None]:
    """Run what the artefacts allow; returns (dynamic results, extra findings, generalization)."""
    from mlsiege.lifecycle.generalization import novel_class_test
    from mlsiege.lifecycle.trainer import could_not_run, frame_trainer
    from mlsiege.report.findings import Finding
    from mlsiege.training import load_trainer

    art = pipeline.artefacts
    data = _load(pipeline, base)
    trainer = load_trainer(_path(base, art["trainer"])) if art.get("trainer") else None
    if trainer is not None:
        trainer = frame_trainer(trainer, data["schema"])
    attacks, findings, notes = [], [], []
    runs = []
    if art.get("model") and "serve" in pipeline.stages:
        runs.append(("probe-evade", lambda: _probe_evade(pipeline, data, art["model"], base, budget=budget, seed=seed)))
    if trainer is not None:
        runs.append(("poison-source", lambda: _poison_source(pipeline, data, trainer, seed=seed)))
    for name, run in runs:
        try:
            attacks.append(run())
        except Exception as exc:  # one attack failing must not lose the others
            notes.append(f"{name} failed: {type(exc).__name__}: {exc}")
            findings.append(could_not_run(name, f"{type(exc).__name__}: {exc}"))
    from mlsiege.lifecycle.audit import static_audit

    verdicts = {v.path: v for v in static_audit(pipeline).verdicts}
    for a in attacks:
        through = a["stages"][-1]["caught"]
        rate = through / max(1, a["attempted"])
        a["through_rate"] = rate
        verdict = verdicts.get(STATIC_PATH[a["attack"]])
        # a poisoning's severity follows what it did to the model, not only how much got in
        effect = a["metric_clean"] - a["metric_poisoned"] if a["attack"] == "poison-source" else None
        harmless = effect is not None and effect < POISON_EFFECT
        note = (f"; it moved the metric by {effect:.3g} (< {POISON_EFFECT:g}), so lowered to "
                if harmless else "")
        if a["attempted"] and rate >= 0.5 and verdict is not None and verdict.status == "stopped":
            findings.append(Finding(
                title=f"Controls meant to stop {verdict.path} let {through} of {a['attempted']} attempts through",
                severity="medium" if harmless else "high",
                rule="a path the static audit calls stopped lets >= 50% through -> high"
                     + (note + "medium" if harmless else ""),
                evidence={"through_rate": rate, "controls": [f"{s}:{c}" for s, c in verdict.stopped_at]},
                atlas_techniques=tuple(a.get("atlas_techniques", ())), source=f"lifecycle-dynamic:{a['attack']}"))
        elif a["attempted"] and rate >= 0.5:
            findings.append(Finding(
                title=f"Dynamic audit: {through} of {a['attempted']} {a['attack']} attempts got through every stage"
                      + (f" (the model's metric moved by {effect:.3g})" if effect is not None else ""),
                severity="low" if harmless else "high",
                rule="through rate >= 50% in the dynamic audit -> high" + (note + "low" if harmless else ""),
                evidence={"through_rate": rate, "stages": {s["stage"]: s["caught"] for s in a["stages"]},
                          **({"metric_drop": effect} if effect is not None else {})},
                atlas_techniques=tuple(a.get("atlas_techniques", ())), source=f"lifecycle-dynamic:{a['attack']}"))
    generalization = None
    if trainer is not None:
        try:
            generalization = novel_class_test(data["X"], data["y"], trainer, data["classes"])
            if generalization["merged_rare_classes"]:
                notes.append("generalization test: classes too rare to hold out alone were merged: "
                             + ", ".join(generalization["merged_rare_classes"]))
            if generalization["skipped_rare_classes"]:
                notes.append("generalization test: classes too rare to hold out were skipped: "
                             + ", ".join(generalization["skipped_rare_classes"]))
            if generalization["mean_gap"] >= 0.3:
                findings.append(Finding(
                    title="The detector does not generalize to abuse classes it was not trained on",
                    severity="high", rule="mean drop in detection for a held-out class >= 0.3 -> high",
                    evidence={"mean_gap": generalization["mean_gap"],
                              "held_out": {r["class"]: r["detection_rate_held_out"] for r in generalization["classes"]}},
                    atlas_techniques=("AML.T0015",), atlas_mitigations=("AML.M0006", "AML.M0015"),
                    source="lifecycle-dynamic:novel-class"))
        except Exception as exc:
            notes.append(f"generalization test failed: {type(exc).__name__}: {exc}")
            findings.append(could_not_run("novel-class generalization test", f"{type(exc).__name__}: {exc}"))
    return {"attacks": attacks, "notes": notes}, findings, generalization
