"""Stateful detection in the gateway: benign traffic from many keys, plus label-only evasion and
extraction attacks sent through it, once from one key and once spread over >= 10 keys.

The gateway serves the shared breast_cancer GradientBoostingClassifier with a labels-only output
policy and detection on (per-key PRADA distances, Juuti et al. 2019; cross-key fingerprints,
after Blacklight, Li et al. 2022; action: alert). The attacks are mlsiege's own recipes
(``hopskipjump_chen2020``, ``active_extraction_chandrasekaran2020``) run through an
:class:`~mlsiege.targets.http.HTTPTarget` pointed at the gateway; a botnet splits every batch of
queries over its keys in turn. Benign keys send natural rows (held-out rows with small
per-user noise), 1 to 3 per request, concurrently with the attack. One JSON object per run:
``{"attack", "keys", "queries_to_flag", "flagged", "benign_keys", "benign_keys_flagged_rate"}``
where ``queries_to_flag`` counts the attack's rows (over all its keys) in the requests sent up
to the one holding the first alert naming any attack key.

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
            if not got:
                return rows
            rows.extend(got)
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
    """Every benign key asks about ``rows_per_key`` distinct people (held-out rows plus small
    per-person noise), 1 to 8 rows per request; requests of all keys interleaved at random."""
    import httpx

    rng = np.random.default_rng(seed)
    sd = X.std(axis=0)
    plan = []
    for secret in secrets:
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
    """Run mlsiege's own recipe through the gateway; stop quietly when the budget is spent."""
    target = Budgeted(bot, max_queries=budget, caller="attacker")
    try:
        if kind == "evasion":
            from mlsiege.attacks.evasion import hopskipjump_chen2020

            points = setup.X_attack[seed % len(setup.X_attack):][:3]
            hopskipjump_chen2020(target, points, schema=schema, budget=budget // len(points), seed=seed)
        else:
            from mlsiege.attacks.extraction import active_extraction_chandrasekaran2020

            active_extraction_chandrasekaran2020(target, schema=schema, budget=budget, seed=seed)
    except Exception as exc:  # noqa: BLE001 - the budget running out mid-attack is expected
        log(f"{kind} attack stopped: {type(exc).__name__}: {str(exc)[:120]}")
    log(f"{kind} attack sent {target.queries_used} rows in {target.calls} calls")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer benign keys and queries (under 3 minutes)")
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
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cli = [sys.executable, "-c", "from mlsiege.cli.main import main; main()"]
    proc = subprocess.Popen(cli + ["serve", "--target", str(tmp / "model.joblib"), "--schema", str(tmp / "schema.yaml"),
                                   "--policy", str(tmp / "policy.yaml"), "--audit", f"sqlite:///{tmp / 'audit.db'}",
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
        runs = []
        for r, (attack, n_keys) in enumerate([("evasion", 1), ("evasion", bot_keys),
                                              ("extraction", 1), ("extraction", bot_keys)]):
            bots = [api.new_key(f"{attack}-{r}-{i}") for i in range(n_keys)]
            started = time.time()
            run_attack(attack, Botnet(base + "/v1/predict", [s for _, s in bots], schema), setup, schema,
                       budget, seed=r)
            runs.append((attack, bots, time.time() - started))
        traffic.join()
        alerts = api.all("/v1/alerts", "alerts")
        benign_ids = {k for k, _ in benign}
        flagged_benign = {a["key_id"] for a in alerts if a["key_id"] in benign_ids}
        for attack, bots, seconds in runs:
            bot_ids = {k for k, _ in bots}
            named = [a for a in alerts if a["key_id"] in bot_ids]
            first = min(named, key=lambda a: a["query"]) if named else None
            records = [rec for k in sorted(bot_ids) for rec in api.all(f"/v1/admin/audit?key_id={k}", "records")
                       if rec["status"] == 200 and rec["first_row"] is not None]
            sent = sum(rec["rows_n"] for rec in records)
            to_flag = (sum(rec["rows_n"] for rec in records if rec["first_row"] <= first["query"])
                       if first else None)
            row = {"attack": attack, "keys": len(bots), "queries_to_flag": to_flag, "flagged": first is not None,
                   "benign_keys": n_benign, "benign_keys_flagged_rate": round(len(flagged_benign) / n_benign, 4),
                   "attack_queries": sent, "detector": first["detector"] if first else None,
                   "benign_rows_per_key": rows_per_key, "attack_seconds": round(seconds, 1)}
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
