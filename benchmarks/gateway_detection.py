"""Stateful detection in the gateway: benign keys (real rows, exact repeats of a shared public pool
included) while attacks run through it, from one key and spread over 12 keys.

The gateway serves the shared breast_cancer GradientBoostingClassifier with a labels-only output
policy and detection on (action: alert), given its training rows as ``--reference``. Streams:

* ``evasion``, ``extraction``: mlsiege's own recipes (``hopskipjump_chen2020``,
  ``active_extraction_chandrasekaran2020``) through an :class:`~mlsiege.targets.http.HTTPTarget`;
  a botnet splits every batch of queries over its keys in turn, 10 rows a request;
* ``uniform``: rows drawn uniformly in the schema's box, one a request, keys in turn;
* ``noise-around-10``: 10 held-out rows plus Gaussian noise of ``sd`` times each feature's
  range (1% and 5%), one a request, keys in turn.

Benign keys (concurrently with the attacks) are of two kinds, half each: *public-pool* keys
send exact rows of one shared pool (held-out rows), drawn with replacement so a key repeats its
own rows and every row is sent by several keys; *people* keys ask about distinct held-out rows
with small per-person noise. 1 to 8 rows a request, requests of all keys interleaved.

One JSON object per attack run: ``detector`` (the first to alert), ``stream``, ``keys``,
``queries_to_alert`` (the attack's rows, over all its keys, in the requests up to the audit
record holding the first alert naming one of its keys; ``queries_to_flag`` is the same number),
``flagged``, ``benign_keys_flagged_rate`` (benign keys named by any alert over the whole run).
The anchor runs in the same process on the same audit stream: ``anchor_*`` fields replay every
answered row, in audit order, through the detectors as they were before issue 18 (PRADA and
fingerprints counting exact repeats, no distribution tests); ``learned_*`` fields replay it
through today's detectors without the reference (learned from the traffic).

    python benchmarks/gateway_detection.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.request
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingClassifier

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mlsiege.schema import infer_schema  # noqa: E402
from mlsiege.targets import Budgeted, LabelOnly  # noqa: E402
from mlsiege.targets.http import HTTPTarget  # noqa: E402
from setups import breast_cancer  # noqa: E402

POLICY = textwrap.dedent('''\
    output: {mode: labels}
    detection: {enabled: true, action: alert}
''')


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    """Tiny admin client of the gateway."""

    def __init__(self, base: str, admin: str) -> None:
        self.base, self.admin = base, admin

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        req = urllib.request.Request(self.base + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"X-API-Key": self.admin, "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            return json.load(resp)

    def new_key(self, name: str) -> tuple[str, str]:
        out = self.call("POST", "/v1/admin/keys", {"name": name, "roles": ["predict"]})
        return out["id"], out["key"]

    def all(self, path: str, field: str) -> list[dict]:
        rows, after = [], 0
        while True:
            sep = "&" if "?" in path else "?"
            got = self.call("GET", f"{path}{sep}after={after}&limit=10000")[field]
            rows.extend(got)
            if len(got) < 10000:  # a short page is the last (each read is itself audited)
                return rows
            after = got[-1]["id"]


class Botnet:
    """A label-only target whose queries are split over several keys, ``chunk`` rows a request."""

    def __init__(self, url: str, secrets: list[str], schema, chunk: int = 10) -> None:
        self.targets = [LabelOnly(HTTPTarget(url, "classifier", schema=schema, headers={"X-API-Key": s}, retries=0))
                        for s in secrets]
        self.chunk = chunk
        self.turn = 0
        self.classes_ = np.array([0, 1])

    def predict(self, X: np.ndarray) -> np.ndarray:
        out = []
        for start in range(0, len(X), self.chunk):
            target = self.targets[self.turn % len(self.targets)]
            self.turn += 1
            out.append(np.asarray(target.predict(X[start:start + self.chunk])))
        return np.concatenate(out) if out else np.empty(0, dtype=int)


def benign_traffic(url: str, secrets: list[str], X: np.ndarray, low: np.ndarray, high: np.ndarray,
                   rows_per_key: int, names: list[str], seed: int, stop: threading.Event) -> None:
    """Even keys send exact rows of the shared public pool ``X`` (with replacement: own repeats,
    rows shared with other keys); odd keys ask about ``rows_per_key`` distinct people (rows of
    ``X`` plus small per-person noise). 1 to 8 rows a request; requests of all keys interleaved."""
    import httpx

    rng = np.random.default_rng(seed)
    sd = X.std(axis=0)
    plan = []
    for k, secret in enumerate(secrets):
        if k % 2 == 0:
            rows = X[rng.choice(len(X), rows_per_key, replace=True)]
        else:
            rows = X[rng.choice(len(X), rows_per_key, replace=False)]
            rows = np.clip(rows + rng.normal(0, 0.1, rows.shape) * sd, low, high)
        start = 0
        while start < len(rows):
            n = int(rng.integers(1, 9))
            plan.append((secret, rows[start:start + n]))
            start += n
    order = rng.permutation(len(plan))
    with httpx.Client(timeout=60) as client:
        for i in order:
            if stop.is_set():
                return
            secret, rows = plan[i]
            body = {"rows": [dict(zip(names, map(float, r), strict=True)) for r in rows]}
            client.post(url, json=body, headers={"X-API-Key": secret})


def run_attack(kind: str, bot: Botnet, setup, schema, budget: int, seed: int) -> None:
    """Send one attack stream through the gateway; stop quietly when the budget is spent."""
    target = Budgeted(bot, max_queries=budget, caller="attacker")
    rng = np.random.default_rng(seed)
    low, high = schema.low, schema.high
    try:
        if kind == "evasion":
            from mlsiege.attacks.evasion import hopskipjump_chen2020

            points = setup.X_attack[seed % len(setup.X_attack):][:3]
            hopskipjump_chen2020(target, points, schema=schema, budget=budget // len(points), seed=seed)
        elif kind == "extraction":
            from mlsiege.attacks.extraction import active_extraction_chandrasekaran2020

            active_extraction_chandrasekaran2020(target, schema=schema, budget=budget, seed=seed)
        elif kind == "uniform":
            for x in rng.uniform(low, high, (budget, len(low))):
                target.predict(x[None])
        else:  # noise-around-10 at sd = float(kind.rsplit("@", 1)[1]) of each feature's range
            sd = float(kind.rsplit("@", 1)[1])
            seeds = setup.X_test[rng.choice(len(setup.X_test), 10, replace=False)]
            X = seeds[rng.integers(0, 10, budget)] + rng.normal(0, sd, (budget, len(low))) * (high - low)
            for x in np.clip(X, low, high):
                target.predict(x[None])
    except Exception as exc:  # noqa: BLE001 - the budget running out mid-attack is expected
        log(f"{kind} attack stopped: {type(exc).__name__}: {str(exc)[:120]}")
    log(f"{kind} attack sent {target.queries_used} rows in {target.calls} calls")


def replay(records: list[dict], schema, config, reference) -> list[tuple[str, str, int]]:
    """``(key, detector, audit id)`` of the alerts a monitor raises over the answered records."""
    from mlsiege.defenses.serving.monitor import QueryMonitor

    monitor = QueryMonitor(schema.n_features, schema=schema, config=config, reference=reference)
    names = list(schema.names)
    found = []
    for rec in records:
        rows = json.loads(rec["request"])["rows"]
        X = np.array([[r[n] for n in names] for r in rows], dtype=float)
        preds = json.loads(rec["response"])["predictions"]
        labels = np.array([p["label"] for p in preds], dtype=object)
        found += [(a.key, a.detector, rec["id"]) for a in monitor.observe(rec["key_id"], X, labels)]
    return found


def measure(alerts: list[tuple[str, str, int]], runs, records, benign_ids: set[str]) -> dict[str, dict]:
    """Per run: first alerting detector, attack rows up to it, and the benign keys flagged."""
    flagged_benign = {k for k, _, _ in alerts if k in benign_ids}
    out = {}
    for stream, bots, _ in runs:
        bot_ids = {k for k, _ in bots}
        named = [a for a in alerts if a[0] in bot_ids]
        first = min(named, key=lambda a: a[2]) if named else None
        mine = [r for r in records if r["key_id"] in bot_ids]
        to_alert = sum(r["rows_n"] for r in mine if r["id"] <= first[2]) if first else None
        out[(stream, len(bots))] = {"detector": first[1] if first else None, "queries_to_alert": to_alert,
                                    "flagged": first is not None, "attack_queries": sum(r["rows_n"] for r in mine),
                                    "benign_keys_flagged_rate": round(len(flagged_benign) / len(benign_ids), 4)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer benign keys and queries (a few minutes)")
    args = ap.parse_args()
    n_benign = 100 if args.quick else 300
    rows_per_key = 40 if args.quick else 60
    budget = 300 if args.quick else 600
    bot_keys = 12

    setup = breast_cancer()
    names = list(setup.feature_names)
    X_all = np.vstack([setup.X_train, setup.X_pool, setup.X_test])
    schema = infer_schema(pd.DataFrame(X_all, columns=names))
    tmp = Path(tempfile.mkdtemp(prefix="mlsiege-detect-"))
    model = GradientBoostingClassifier(random_state=0).fit(pd.DataFrame(setup.X_train, columns=names), setup.y_train)
    joblib.dump(model, tmp / "model.joblib")
    schema.to_yaml(tmp / "schema.yaml")
    (tmp / "policy.yaml").write_text(POLICY)
    pd.DataFrame(setup.X_train, columns=names).to_csv(tmp / "train.csv", index=False)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cli = [sys.executable, "-c", "from mlsiege.cli.main import main; main()"]
    proc = subprocess.Popen(cli + ["serve", "--target", str(tmp / "model.joblib"), "--schema", str(tmp / "schema.yaml"),
                                   "--policy", str(tmp / "policy.yaml"), "--audit", f"sqlite:///{tmp / 'audit.db'}",
                                   "--reference", str(tmp / "train.csv"),
                                   "--port", str(port), "--init-admin-key"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        admin = proc.stdout.readline().strip().rsplit(" ", 1)[-1]
        for _ in range(240):
            try:
                urllib.request.urlopen(base + "/v1/health", timeout=2).close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise SystemExit("the gateway exited early") from None
                time.sleep(0.5)
        api = Api(base, admin)
        benign_pool = np.vstack([setup.X_pool, setup.X_test])
        benign = [api.new_key(f"benign-{i}") for i in range(n_benign)]
        stop = threading.Event()
        traffic = threading.Thread(target=benign_traffic, args=(
            base + "/v1/predict", [s for _, s in benign], benign_pool, schema.low, schema.high,
            rows_per_key, names, 100, stop))
        traffic.start()  # benign keys keep asking while the attacks run, one after the other
        streams = ["evasion", "extraction", "uniform", "noise-around-10@0.01", "noise-around-10@0.05"]
        runs = []
        for r, (stream, n_keys) in enumerate((s, k) for s in streams for k in (1, bot_keys)):
            bots = [api.new_key(f"{stream}-{r}-{i}") for i in range(n_keys)]
            chunk = 10 if stream in ("evasion", "extraction") else 1
            started = time.time()
            run_attack(stream, Botnet(base + "/v1/predict", [s for _, s in bots], schema, chunk=chunk), setup,
                       schema, budget, seed=r)
            runs.append((stream, bots, time.time() - started))
        traffic.join()
        time.sleep(1.5)  # detection follows the audit feed a few hundred ms behind the answers
        alerts = [(a["key_id"], a["detector"], a["query"]) for a in api.all("/v1/alerts", "alerts")]
        records = [r for r in api.all("/v1/admin/audit", "records")
                   if r["path"] == "/v1/predict" and r["status"] == 200]
        benign_ids = {k for k, _ in benign}
        from mlsiege.defenses.serving.fingerprint import FingerprintConfig
        from mlsiege.defenses.serving.monitor import MonitorConfig
        from mlsiege.defenses.serving.prada import PradaConfig

        before = MonitorConfig(distribution_tests=False, prada=PradaConfig(skip_repeats=False),
                               fingerprint=FingerprintConfig(skip_exact=False))
        now = measure(alerts, runs, records, benign_ids)
        anchor = measure(replay(records, schema, before, None), runs, records, benign_ids)
        learned = measure(replay(records, schema, MonitorConfig(), None), runs, records, benign_ids)
        for stream, bots, seconds in runs:
            got = now[(stream, len(bots))]
            row = {"detector": got["detector"], "stream": stream, "keys": len(bots),
                   "queries_to_alert": got["queries_to_alert"], "queries_to_flag": got["queries_to_alert"],
                   "flagged": got["flagged"], "benign_keys": n_benign,
                   "benign_keys_flagged_rate": got["benign_keys_flagged_rate"],
                   "attack_queries": got["attack_queries"], "benign_rows_per_key": rows_per_key,
                   "reference": "training rows (--reference)", "attack_seconds": round(seconds, 1)}
            for prefix, other in (("anchor", anchor), ("learned", learned)):
                o = other[(stream, len(bots))]
                row.update({f"{prefix}_detector": o["detector"], f"{prefix}_queries_to_alert": o["queries_to_alert"],
                            f"{prefix}_benign_keys_flagged_rate": o["benign_keys_flagged_rate"]})
            row["anchor"] = "prada+fingerprint as before issue 18 (exact repeats counted), same stream"
            print(json.dumps(row), flush=True)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
