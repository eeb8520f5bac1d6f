"""kill -9 during a stream of requests: every acknowledged request is in the audit log."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest

pytest.importorskip("fastapi")

from gateway_helpers import free_port, row, save_model  # noqa: E402

from mlsiege.gateway import AuditLog  # noqa: E402


def test_kill_9_loses_no_acknowledged_request(tmp_path):
    model, schema = save_model(tmp_path)
    db = tmp_path / "audit.db"
    port = free_port()
    cmd = [sys.executable, "-c", "from mlsiege.cli.main import main; main()", "serve", "--target", model,
           "--schema", schema, "--audit", f"sqlite:///{db}", "--port", str(port), "--init-admin-key"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        admin = proc.stdout.readline().strip().rsplit(" ", 1)[-1]
        assert admin.startswith("mls_")
        url = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                httpx.get(url + "/v1/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        key = httpx.post(url + "/v1/admin/keys", json={"name": "stream"}, headers={"X-API-Key": admin}).json()["key"]
        acked: list[int] = []
        lock = threading.Lock()
        stop = threading.Event()

        def client(i: int) -> None:
            with httpx.Client(timeout=5) as c:
                n = 0
                while not stop.is_set():
                    n += 1
                    try:
                        r = c.post(url + "/v1/predict", json={"rows": [row(0.01 * (n % 90), 0.1 * i)]},
                                   headers={"X-API-Key": key})
                    except httpx.HTTPError:
                        return  # the server died mid-request: not acknowledged
                    if r.status_code == 200:
                        with lock:
                            acked.append(int(r.headers["X-Audit-Id"]))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        deadline = time.time() + 30
        while len(acked) < 60 and time.time() < deadline:
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)  # mid-stream: requests are in flight
        proc.wait(timeout=10)
        stop.set()
        for t in threads:
            t.join(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert len(acked) >= 20
    # restart the audit log exactly as the server does at start-up, then look for every ack
    log = AuditLog(f"sqlite:///{db}")
    try:
        stored = {r["id"]: r for r in log.records(limit=100_000)}
        missing = [a for a in acked if a not in stored]
        assert not missing, f"{len(missing)} acknowledged requests lost"
        assert all(stored[a]["status"] == 200 and stored[a]["response"] for a in acked)
        assert log.append({"ts": 0.0, "key_id": None, "client": None, "method": "GET", "path": "/x", "status": 200,
                           "rows_n": 0, "first_row": None, "request": None, "response": None}).result(10) > max(acked)
    finally:
        log.close()
