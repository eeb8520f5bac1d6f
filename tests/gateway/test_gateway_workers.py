"""``mlsiege serve --workers 2`` on SQLite and PostgreSQL: kill -9 of a worker and a rolling restart lose
nothing acknowledged, and every answer is audited once under its own id."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

pytest.importorskip("fastapi")

from gateway_helpers import free_port, row, save_model  # noqa: E402

from mlsiege.gateway import AuditLog  # noqa: E402

pytestmark = pytest.mark.slow


def _workers(pid: int) -> set[int]:
    """Worker processes of a uvicorn supervisor (its spawned children, not the resource tracker)."""
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:  # threads and children come and go while we read
            for child in (task / "children").read_text().split():
                cmd = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
                if b"resource_tracker" not in cmd:
                    found.add(int(child))
        except OSError:
            continue
    return found


class Stream:
    """Clients sending predictions until stopped; remembers every acknowledged audit id."""

    def __init__(self, url: str, key: str, clients: int = 3) -> None:
        self.url, self.key = url, key
        self.acked: list[int] = []
        self.statuses: list[int] = []
        self.dropped = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client, args=(i,)) for i in range(clients)]

    def _client(self, i: int) -> None:
        n = 0
        c = httpx.Client(timeout=10)
        while not self._stop.is_set():
            n += 1
            try:
                r = c.post(self.url + "/v1/predict", json={"rows": [row(0.01 * (n % 90), 0.1 * i)]},
                           headers={"X-API-Key": self.key})
            except httpx.HTTPError:  # the worker went away mid-request: not acknowledged
                with self._lock:
                    self.dropped += 1
                c.close()
                c = httpx.Client(timeout=10)
                time.sleep(0.02)
                continue
            with self._lock:
                self.statuses.append(r.status_code)
                if r.status_code == 200:
                    self.acked.append(int(r.headers["X-Audit-Id"]))
        c.close()

    def __enter__(self) -> Stream:
        for t in self._threads:
            t.start()
        return self

    def wait_acks(self, n: int, timeout: float = 60) -> None:
        end = time.time() + timeout
        start = len(self.acked)
        while len(self.acked) < start + n and time.time() < end:
            time.sleep(0.02)
        assert len(self.acked) >= start + n, f"only {len(self.acked) - start} of {n} answers in {timeout} s"

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=20)


@pytest.fixture
def two_workers(tmp_path, audit_url):
    model, schema = save_model(tmp_path)
    port = free_port()
    cmd = [sys.executable, "-c", "from mlsiege.cli.main import main; main()", "serve", "--target", model,
           "--schema", schema, "--audit", audit_url, "--port", str(port), "--workers", "2", "--init-admin-key"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        admin = proc.stdout.readline().strip().rsplit(" ", 1)[-1]
        assert admin.startswith("mls_")
        end = time.time() + 120
        while time.time() < end and len(_workers(proc.pid)) < 2:
            time.sleep(0.1)
        while time.time() < end:
            try:
                httpx.get(url + "/v1/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        key = httpx.post(url + "/v1/admin/keys", json={"name": "stream"}, headers={"X-API-Key": admin}).json()["key"]
        yield proc, url, key, audit_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _check_audited(audit_url: str, stream: Stream) -> None:
    assert all(s < 500 for s in stream.statuses), sorted(set(stream.statuses))
    assert len(stream.acked) == len(set(stream.acked)), "two answers carried the same audit id"
    log = AuditLog(audit_url)
    try:
        stored = {r["id"]: r for r in log.records(limit=100_000)}
    finally:
        log.close()
    missing = [a for a in stream.acked if a not in stored]
    assert not missing, f"{len(missing)} of {len(stream.acked)} acknowledged requests missing from the audit log"
    assert all(stored[a]["status"] == 200 and stored[a]["response"] for a in stream.acked)


def test_kill_9_of_a_worker_and_a_rolling_restart_lose_nothing_acknowledged(two_workers):
    proc, url, key, audit_url = two_workers
    with Stream(url, key) as stream:
        stream.wait_acks(30)
        victim = min(_workers(proc.pid))
        os.kill(victim, signal.SIGKILL)  # mid-stream: requests are in flight on it
        stream.wait_acks(30)  # the other worker (and the replacement) keep answering
        end = time.time() + 120
        while time.time() < end and (victim in _workers(proc.pid) or len(_workers(proc.pid)) < 2):
            time.sleep(0.1)  # until the supervisor has reaped it and started its replacement
        before = _workers(proc.pid)
        assert victim not in before and len(before) == 2, "the killed worker was not replaced"
        at_hup = len(stream.acked)
        os.kill(proc.pid, signal.SIGHUP)  # uvicorn: replace the workers one at a time
        while time.time() < end and (_workers(proc.pid) & before or len(_workers(proc.pid)) < 2):
            time.sleep(0.1)
        assert not _workers(proc.pid) & before, "the workers were not replaced"
        during = len(stream.acked) - at_hup
        stream.wait_acks(30)
    _check_audited(audit_url, stream)
    assert during > 0  # answers kept coming while the workers were replaced
