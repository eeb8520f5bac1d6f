"""Load on the defended gateway versus a naive hand-written service (the anchor).

Both serve the same GradientBoostingClassifier (the shared breast_cancer setup, 30 features).
The gateway runs with everything on: API keys, per-key and per-network rate limits and quotas,
a rounded output policy, stateful detection (per key and across keys) and the durable audit log
(SQLite WAL, synchronous=FULL, group commit). The naive service is what a user would write by
hand: a synchronous FastAPI endpoint, one uvicorn worker, one INSERT + COMMIT per request into
SQLite in WAL mode with synchronous=FULL. Each is driven by ``wrk`` (Debian package ``wrk``) in
a separate process at 1, 4 and 8 connections (naive and gateway alternate at each count, so a
ratio compares runs made seconds apart on the same machine: each count runs naive, gateway,
naive, gateway for half the time each; req/s is over both halves, p50/p99 the worse half's); without wrk a small client of our
own runs in a separate process. Prints one JSON object per (mode, connections):
``{"mode", "connections", "requests_per_s", "p50_ms", "p99_ms", "requests", ...}``, then two rows
with a ``scenario``:

* ``noisy_neighbour``: the same 4-connection gateway run while another key sends max-size
  batches (1000 rows) without pause from its own process; ``p99_ratio`` is this p99 over the
  4-connection gateway p99 measured without the neighbour in the same run;
* ``two_workers``: ``mlsiege serve --workers 2`` on its own database at 8 connections;
  ``vs_one_worker`` is its req/s over the one-worker gateway's at 8 connections in the same run.

    python benchmarks/gateway_load.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingClassifier

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mlsiege.schema import infer_schema  # noqa: E402
from setups import breast_cancer  # noqa: E402

NAIVE = textwrap.dedent('''\
    import json, sqlite3, sys, threading, time
    import joblib, pandas as pd
    from fastapi import FastAPI
    model, lock = joblib.load(sys.argv[1]), threading.Lock()
    db = sqlite3.connect(sys.argv[2], check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE IF NOT EXISTS log (ts REAL, request TEXT, response TEXT)")
    app = FastAPI()
    @app.post("/v1/predict")
    def predict(body: dict):
        proba = model.predict_proba(pd.DataFrame(body["rows"])).tolist()
        with lock:
            db.execute("INSERT INTO log VALUES (?, ?, ?)", (time.time(), json.dumps(body), json.dumps(proba)))
            db.commit()
        return {"predictions": [{"label": int(p[1] > 0.5), "proba": p} for p in proba]}
    if __name__ == "__main__":
        import uvicorn
        uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[3]), workers=1, log_level="warning")
''')

POLICY = textwrap.dedent('''\
    output: {mode: rounded, decimals: 3}
    limits:
      per_key: {rate: 100000, burst: 100000, quota: 100000000, window: 86400}
      per_prefix: {rate: 100000, burst: 100000, quota: 100000000, window: 86400}
      max_rows: 1000
    detection: {enabled: true, action: alert}
''')

LUA = textwrap.dedent('''\
    local bodies = {}
    local i = 0
    for line in io.lines("%s") do bodies[#bodies + 1] = line end
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    %s
    request = function()
        i = i %% #bodies + 1
        return wrk.format(nil, nil, nil, bodies[i])
    end
''')

CLIENT = textwrap.dedent('''\
    import http.client, json, sys, threading, time
    host, port, conns, seconds, body_file, key = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6]
    bodies = open(body_file).read().splitlines()
    lat, stop = [], time.perf_counter() + seconds
    def work(t):
        c = http.client.HTTPConnection(host, port); i = t
        while time.perf_counter() < stop:
            h = {"Content-Type": "application/json"}
            if key != "-": h["X-API-Key"] = key
            s = time.perf_counter(); c.request("POST", "/v1/predict", bodies[i % len(bodies)], h)
            r = c.getresponse(); r.read(); lat.append(time.perf_counter() - s); i += 1
    ts = [threading.Thread(target=work, args=(t,)) for t in range(conns)]
    t0 = time.perf_counter(); [t.start() for t in ts]; [t.join() for t in ts]
    el = time.perf_counter() - t0
    print(json.dumps({"requests": len(lat), "seconds": el, "lat": lat}))
''')


NOISY = textwrap.dedent('''\
    import http.client, sys, time
    host, port, seconds, body_file, key = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
    body = open(body_file).read()
    c = http.client.HTTPConnection(host, port); n = 0; stop = time.perf_counter() + seconds
    while time.perf_counter() < stop:
        c.request("POST", "/v1/predict", body, {"Content-Type": "application/json", "X-API-Key": key})
        r = c.getresponse(); r.read(); n += 1
    print(n)
''')


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_health(url: str, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"no answer from {url} after {timeout:.0f} s")


def warm_up(port: int, bodies: Path, key: str | None) -> None:
    """A few blocking requests first: the first one pays lazy imports, which wrk would time."""
    headers = {"Content-Type": "application/json", **({"X-API-Key": key} if key else {})}
    for line in bodies.read_text().splitlines()[:5]:
        req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/predict", data=line.encode(), headers=headers)
        with urllib.request.urlopen(req, timeout=120) as resp:
            resp.read()


def drive(port: int, path: str, conns: int, seconds: float, bodies: Path, key: str | None, tmp: Path) -> dict:
    """Run the load generator in a separate process; return requests, req/s, p50, p99."""
    url = f"http://127.0.0.1:{port}{path}"
    wrk = shutil.which("wrk")
    if wrk:
        header = f'wrk.headers["X-API-Key"] = "{key}"' if key else ""
        script = tmp / f"post_{port}.lua"
        script.write_text(LUA % (bodies, header))
        threads = min(conns, 2)
        out = subprocess.run([wrk, "-t", str(threads), "-c", str(conns), "-d", f"{max(1, round(seconds))}s", "--latency",
                              "-s", str(script), url], capture_output=True, text=True, check=True).stdout
        return parse_wrk(out)
    code = tmp / "client.py"
    code.write_text(CLIENT)
    out = subprocess.run([sys.executable, str(code), "127.0.0.1", str(port), str(conns), str(seconds),
                          str(bodies), key or "-"], capture_output=True, text=True, check=True).stdout
    res = json.loads(out)
    lat = np.asarray(res["lat"]) * 1e3
    return {"requests": res["requests"], "requests_per_s": res["requests"] / res["seconds"],
            "p50_ms": float(np.percentile(lat, 50)), "p99_ms": float(np.percentile(lat, 99)),
            "errors": 0, "client": "python"}


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    value, unit = float(m.group(1)), m.group(2)
    return value / 1e3 if unit == "us" else value * 1e3 if unit == "s" else value


def parse_wrk(out: str) -> dict:
    pct = dict(re.findall(r"^\s+(\d+)%\s+(\S+)\s*$", out, re.M))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    if "50" not in pct or "99" not in pct:
        raise SystemExit(f"wrk completed no request in the run ({total} requests): {out[-300:]}")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"requests": total, "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50_ms": _ms(pct["50"]), "p99_ms": _ms(pct["99"]),
            "errors": (int(bad.group(1)) if bad else 0) + (sum(map(int, errs.groups())) if errs else 0),
            "client": "wrk"}


def audit_count(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM audit WHERE path = '/v1/predict'").fetchone()[0])
    finally:
        conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short runs (under 2 minutes)")
    ap.add_argument("--seconds", type=float, default=None, help="seconds per run")
    args = ap.parse_args()
    seconds = args.seconds or (5.0 if args.quick else 20.0)
    if not shutil.which("wrk"):
        log("wrk not found: install it with `apt-get install wrk` (Debian/Ubuntu); "
            "falling back to a Python client in a separate process")
    setup = breast_cancer()
    names = list(setup.feature_names)
    tmp = Path(tempfile.mkdtemp(prefix="mlsiege-load-"))
    X_all = np.vstack([setup.X_train, setup.X_pool, setup.X_test])
    frame = pd.DataFrame(X_all, columns=names)
    model = GradientBoostingClassifier(random_state=0).fit(pd.DataFrame(setup.X_train, columns=names), setup.y_train)
    joblib.dump(model, tmp / "model.joblib")
    infer_schema(frame).to_yaml(tmp / "schema.yaml")
    (tmp / "policy.yaml").write_text(POLICY)
    (tmp / "naive.py").write_text(NAIVE)
    bodies = tmp / "bodies.txt"
    bodies.write_text("\n".join(json.dumps({"rows": [dict(zip(names, map(float, r), strict=True))]})
                                for r in setup.X_test) + "\n")
    big = tmp / "big.json"
    pick = np.random.default_rng(0).integers(0, len(X_all), 1000)
    big.write_text(json.dumps({"rows": [dict(zip(names, map(float, X_all[i]), strict=True)) for i in pick]}))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    nport = free_port()
    procs: list[subprocess.Popen] = []
    try:
        gport, gproc, admin = start_gateway(tmp, "audit.db", 1, env)
        procs.append(gproc)
        nproc = subprocess.Popen([sys.executable, str(tmp / "naive.py"), str(tmp / "model.joblib"),
                                  str(tmp / "naive.db"), str(nport)], stderr=subprocess.DEVNULL, env=env)
        procs.append(nproc)
        key = make_key(gport, admin, "load")
        noisy_key = make_key(gport, admin, "noisy")
        wait_health(f"http://127.0.0.1:{nport}/docs", nproc)
        gdb = tmp / "audit.db"
        for port, k in ((nport, None), (gport, key)):
            warm_up(port, bodies, k)
            drive(port, "/v1/predict", 4, 1.0, bodies, k, tmp)  # warm-up under load
        rows: dict[tuple[str, int], dict] = {}
        for conns in (1, 4, 8):
            # naive, gateway, naive, gateway: half the time each, so drift in the machine's load
            # falls on both; req/s over both halves, the worse half's percentiles
            parts: dict[str, list[dict]] = {"naive": [], "gateway": []}
            before = audit_count(gdb)
            for _ in range(2):
                for mode, port, k in (("naive", nport, None), ("gateway", gport, key)):
                    parts[mode].append(drive(port, "/v1/predict", conns, seconds / 2, bodies, k, tmp))
            for mode in ("naive", "gateway"):
                res = combine(parts[mode], seconds / 2)
                row = result_row(mode, conns, res, seconds)
                if mode == "gateway":
                    audited = audit_count(gdb) - before
                    row["audited"] = audited
                    row["audit_lost"] = max(0, res["requests"] - audited)
                rows[mode, conns] = row
                print(json.dumps(row), flush=True)
                log(f"{mode} c={conns}: {row['requests_per_s']} req/s, p99 {row['p99_ms']} ms")
        # noisy neighbour: another key sends 1000-row batches without pause during a 4-connection run
        (tmp / "noisy.py").write_text(NOISY)
        noisy = subprocess.Popen([sys.executable, str(tmp / "noisy.py"), "127.0.0.1", str(gport), str(seconds + 2),
                                  str(big), noisy_key], stdout=subprocess.PIPE, text=True, env=env)
        time.sleep(1.0)
        res = drive(gport, "/v1/predict", 4, seconds, bodies, key, tmp)
        batches = int(noisy.communicate(timeout=seconds + 60)[0].strip() or 0)
        row = result_row("gateway", 4, res, seconds)
        base = rows["gateway", 4]["p99_ms"]
        row.update(scenario="noisy_neighbour", neighbour_batches=batches, neighbour_rows_per_batch=1000,
                   baseline_p99_ms=base, p99_ratio=round(row["p99_ms"] / base, 2))
        print(json.dumps(row), flush=True)
        log(f"noisy neighbour: p99 {row['p99_ms']} ms vs {base} ms alone ({row['p99_ratio']}x)")
        gproc.terminate()
        gproc.wait(timeout=30)
        # two workers on one database, 8 connections
        wport, wproc, wadmin = start_gateway(tmp, "audit2.db", 2, env)
        procs.append(wproc)
        wkey = make_key(wport, wadmin, "load")
        time.sleep(2.5)  # both workers see the new key
        warm_up(wport, bodies, wkey)
        drive(wport, "/v1/predict", 8, 2.0, bodies, wkey, tmp)
        res = drive(wport, "/v1/predict", 8, seconds, bodies, wkey, tmp)
        row = result_row("gateway", 8, res, seconds)
        one = rows["gateway", 8]["requests_per_s"]
        row.update(scenario="two_workers", workers=2, one_worker_requests_per_s=one,
                   vs_one_worker=round(row["requests_per_s"] / one, 2))
        print(json.dumps(row), flush=True)
        log(f"2 workers c=8: {row['requests_per_s']} req/s ({row['vs_one_worker']}x one worker)")
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def combine(parts: list[dict], seconds: float) -> dict:
    """Runs of ``seconds`` each as one: requests over the total time, the worst run's percentiles."""
    total = sum(p["requests"] for p in parts)
    span = sum(p["requests"] / p["requests_per_s"] if p["requests_per_s"] else seconds for p in parts)
    return {"requests": total, "requests_per_s": total / span, "p50_ms": max(p["p50_ms"] for p in parts),
            "p99_ms": max(p["p99_ms"] for p in parts), "errors": sum(p["errors"] for p in parts),
            "client": parts[0]["client"]}


def result_row(mode: str, conns: int, res: dict, seconds: float) -> dict:
    row = {"mode": mode, "connections": conns, **{k: res[k] for k in ("requests_per_s", "p50_ms", "p99_ms", "requests")},
           "errors": res["errors"], "client": res["client"], "seconds": seconds}
    for f in ("requests_per_s", "p50_ms", "p99_ms"):
        row[f] = round(row[f], 2)
    return row


def start_gateway(tmp: Path, db: str, workers: int, env: dict) -> tuple[int, subprocess.Popen, str]:
    """``mlsiege serve`` with everything on; returns its port, process and admin key."""
    port = free_port()
    cli = [sys.executable, "-c", "from mlsiege.cli.main import main; main()"]
    proc = subprocess.Popen(cli + ["serve", "--target", str(tmp / "model.joblib"), "--schema", str(tmp / "schema.yaml"),
                                   "--policy", str(tmp / "policy.yaml"), "--audit", f"sqlite:///{tmp / db}",
                                   "--port", str(port), "--workers", str(workers), "--init-admin-key"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    admin = proc.stdout.readline().strip().rsplit(" ", 1)[-1]
    wait_health(f"http://127.0.0.1:{port}/v1/health", proc)
    return port, proc, admin


def make_key(port: int, admin: str, name: str) -> str:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/admin/keys", method="POST",
                                 data=json.dumps({"name": name, "roles": ["predict"]}).encode(),
                                 headers={"X-API-Key": admin, "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as resp:
        return json.load(resp)["key"]

if __name__ == "__main__":
    main()
