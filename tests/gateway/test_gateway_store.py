"""The gateway database on SQLite and PostgreSQL: ids from the database, shared blocks with their evidence."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from mlsiege.errors import ConfigError, StoreError
from mlsiege.gateway import AuditLog
from mlsiege.gateway.keys import KeyStore
from mlsiege.gateway.store import BlockStore, open_database, safe_url


def _record(i: int, key: str = "k") -> dict:
    return {"ts": float(i), "key_id": key, "client": "127.0.0.1", "method": "POST", "path": "/v1/predict",
            "status": 200, "rows_n": 1, "first_row": None, "request": f'{{"i": {i}}}', "response": None}


def test_two_writers_on_one_database_get_distinct_ids_in_order(audit_url):
    logs = [AuditLog(audit_url, origin=f"w{j}") for j in range(2)]
    acks: list[tuple[int, str]] = []
    lock = threading.Lock()

    def write(j: int) -> None:
        for i in range(60):
            rec = _record(i, key=f"w{j}")
            rid = logs[j].append(rec).result(30)
            with lock:
                acks.append((rid, rec["request"] + rec["key_id"]))

    threads = [threading.Thread(target=write, args=(j,)) for j in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        stored = {r["id"]: r for r in logs[0].records(limit=1000)}
        assert len(acks) == 120 and len({a for a, _ in acks}) == 120
        # each acknowledged id holds exactly the record that was acknowledged with it
        assert all(stored[rid]["request"] + stored[rid]["key_id"] == what for rid, what in acks)
        assert {r["origin"] for r in stored.values()} == {"w0", "w1"}
    finally:
        for log in logs:
            log.close()


def test_blocks_are_shared_between_processes_with_evidence_and_lifts(audit_url):
    AuditLog(audit_url).close()  # the audit table a lift reads its mark from
    a, b = BlockStore(open_database(audit_url), ttl=0.0), BlockStore(open_database(audit_url), ttl=0.0)
    try:
        assert a.decide("k1", "prada", "block", audit_id=7, detail="too regular", evidence={"w": 0.8})
        assert not a.decide("k1", "prada", "block", audit_id=9, detail="again")  # idempotent, first evidence kept
        assert a.decide("k1", "fingerprint", "alert", audit_id=8)  # an alert blocks nothing
        assert a.decide("k2", "distribution", "degrade", audit_id=8)
        assert b.is_blocked("k1") and b.blocked() == {"k1"} and b.degraded() == {"k2"}
        got = b.decisions()
        assert [(d["key_id"], d["detector"]) for d in got] == [("k1", "prada"), ("k1", "fingerprint"),
                                                              ("k2", "distribution")]
        assert got[0]["evidence"] == {"w": 0.8} and got[0]["audit_id"] == 7
        lifted = b.lift("k1", by="ops")
        assert {d["detector"] for d in lifted} == {"prada", "fingerprint"}
        with pytest.raises(ConfigError, match="no block or degradation stands"):
            b.lift("k1", by="ops")
        assert not a.is_blocked("k1") and a.lifts() == {"k1": 0}
        assert {d["lifted_by"] for d in a.decisions(include_lifted=True) if d["key_id"] == "k1"} == {"ops"}
        assert a.decide("k1", "prada", "block", audit_id=12, detail="re-armed")
        assert b.is_blocked("k1") and b.lifts() == {"k1": 0}  # the forgiven rows stay forgiven
    finally:
        a.db.close()
        b.db.close()


def test_a_cached_block_is_reread_after_its_ttl(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    now = [0.0]
    reader, writer = BlockStore(open_database(url), ttl=1.0, clock=lambda: now[0]), BlockStore(open_database(url))
    try:
        assert not reader.is_blocked("k")
        writer.decide("k", "prada", "block")
        assert not reader.is_blocked("k")  # served from the copy read at t=0
        now[0] = 1.0
        assert reader.is_blocked("k")
    finally:
        reader.db.close()
        writer.db.close()


def test_blocks_of_the_earlier_layout_are_migrated(tmp_path):
    path = tmp_path / "v1.db"
    conn = sqlite3.connect(path)
    conn.execute("""CREATE TABLE blocks (key_id VARCHAR(32) PRIMARY KEY, ts DOUBLE PRECISION NOT NULL, reason TEXT,
        alert_id BIGINT, lifted DOUBLE PRECISION, lifted_by TEXT)""")
    conn.execute("INSERT INTO blocks VALUES ('k', 1.0, 'prada: too regular', NULL, NULL, NULL)")
    conn.commit()
    conn.close()
    store = BlockStore(open_database(f"sqlite:///{path}"))
    try:
        assert store.is_blocked("k") and store.decisions()[0]["detail"] == "prada: too regular"
    finally:
        store.db.close()


def test_keys_made_by_one_process_are_seen_by_another(audit_url):
    one, two = KeyStore(open_database(audit_url)), KeyStore(open_database(audit_url), ttl=0.0)
    try:
        secret, rec = one.create("alice", ["predict"])
        assert two.authenticate(secret).key_id == rec.key_id
        one.revoke(rec.key_id)
        assert two.authenticate(secret) is None
    finally:
        one.db.close()
        two.db.close()


def test_a_failed_write_says_one_line_without_sql_or_parameters(audit_url):
    db = open_database(audit_url)
    try:
        db.execute("INSERT INTO api_keys (key_id, name, key_hash, roles, output, created, revoked) "
                   "VALUES ('k1', 'n', 'secret-hash-1', 'predict', NULL, 0, NULL)")
        with pytest.raises(StoreError) as err:
            db.execute("INSERT INTO api_keys (key_id, name, key_hash, roles, output, created, revoked) "
                       "VALUES (:k, 'other tenant row', :h, 'predict', NULL, 0, NULL)",
                       {"k": "k1", "h": "secret-hash-2"})
        text = str(err.value)
        assert "\n" not in text and "INSERT" not in text and "secret-hash-2" not in text
        assert "other tenant row" not in text
    finally:
        db.close()


def test_an_old_sqlite_log_is_migrated_and_keeps_its_ids(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("""CREATE TABLE audit (id BIGINT PRIMARY KEY, ts DOUBLE PRECISION NOT NULL, key_id VARCHAR(32),
        client TEXT, method VARCHAR(8) NOT NULL, path TEXT NOT NULL, status INTEGER NOT NULL,
        rows_n INTEGER NOT NULL, first_row BIGINT, request TEXT, response TEXT)""")
    conn.execute("INSERT INTO audit VALUES (7, 1.0, 'k', NULL, 'GET', '/x', 200, 0, NULL, NULL, NULL)")
    conn.commit()
    conn.close()
    log = AuditLog(f"sqlite:///{path}")
    try:
        assert log.append(_record(1)).result(10) == 8
        assert [r["id"] for r in log.records()] == [7, 8]
    finally:
        log.close()


def test_an_unreachable_postgres_is_one_line():
    pytest.importorskip("psycopg")
    with pytest.raises(StoreError) as err:
        open_database("postgresql://mlsiege:hunter2@127.0.0.1:1/none?connect_timeout=2")
    text = str(err.value)
    assert "\n" not in text and "hunter2" not in text and "127.0.0.1" in text
    assert safe_url("postgresql://u:pw@h/db") == "postgresql://u:***@h/db"


def test_a_failing_audit_write_answers_503_with_an_error_id_and_no_sql(audit_url, caplog):
    import httpx
    from gateway_helpers import ServerThread, row, tiny_model, tiny_schema

    from mlsiege.gateway import create_app
    from mlsiege.targets import from_estimator

    model, _ = tiny_model()
    schema = tiny_schema()
    app = create_app(from_estimator(model, schema=schema), schema, audit=audit_url)
    key, _ = app.state.gateway.keys.create("tenant-a")
    with ServerThread(app) as server, httpx.Client(base_url=server.url) as c:
        assert c.post("/v1/predict", json={"rows": [row()]}, headers={"X-API-Key": key}).status_code == 200
        breaker = open_database(audit_url)
        breaker.execute("DROP TABLE audit")  # every later write fails inside the database
        breaker.close()
        r = c.post("/v1/predict", json={"rows": [row(0.123456, 0.4)]}, headers={"X-API-Key": key})
    assert r.status_code == 503
    body = r.json()
    assert set(body) == {"detail", "error_id"} and len(body["error_id"]) == 16
    assert body["detail"] == "the audit log is unavailable; the request was not served"
    for leak in ("INSERT", "no such table", "does not exist", "0.123456", "tenant", key[:12]):
        assert leak not in r.text
    assert body["error_id"] in caplog.text  # the details are in the server log, under that id


def test_cli_says_one_line_for_an_unreachable_database_and_a_bad_policy(tmp_path):
    from gateway_helpers import save_model
    from typer.testing import CliRunner

    from mlsiege.cli.main import app

    model, schema = save_model(tmp_path)
    runner = CliRunner()
    pytest.importorskip("psycopg")
    r = runner.invoke(app, ["serve", "--target", model, "--schema", schema,
                            "--audit", "postgresql://u:pw@127.0.0.1:1/x?connect_timeout=2"])
    assert r.exit_code == 2 and "cannot reach the audit database" in r.output and "Traceback" not in r.output
    (tmp_path / "p.yaml").write_text("limits: {max_rows: many}\n")
    r = runner.invoke(app, ["serve", "--target", model, "--schema", schema, "--policy", str(tmp_path / "p.yaml"),
                            "--audit", f"sqlite:///{tmp_path / 'a.db'}"])
    assert r.exit_code == 2 and "max_rows must be an integer, got 'many'" in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_detection_across_processes_sees_one_stream(audit_url):
    import time

    import httpx
    from gateway_helpers import ServerThread, row, tiny_model, tiny_schema

    from mlsiege.gateway import create_app
    from mlsiege.targets import from_estimator

    model, _ = tiny_model()
    schema = tiny_schema()
    apps = [create_app(from_estimator(model, schema=schema), schema, audit=audit_url) for _ in range(2)]
    key, rec = apps[0].state.gateway.keys.create("walker")
    with ServerThread(apps[0]) as s0, ServerThread(apps[1]) as s1, httpx.Client(timeout=20) as c:
        last = 0
        for i in range(8):  # a boundary walk whose rows alternate between the two processes
            url = (s0, s1)[i % 2].url
            r = c.post(url + "/v1/predict", json={"rows": [row(0.3 + 1e-5 * i, 0.4)]}, headers={"X-API-Key": key})
            assert r.status_code == 200
            last = int(r.headers["X-Audit-Id"])
        services = [a.state.gateway.detection for a in apps]
        end = time.time() + 20
        while time.time() < end and not any(d.leader and d.cursor >= last for d in services):
            time.sleep(0.05)
        leaders = [d for d in services if d.leader]
        seen = leaders[0].monitor.seen if leaders else None
        alerts = c.get(s0.url + "/v1/alerts", headers={"X-API-Key": apps[0].state.gateway.keys.create(
            "ops", ["admin"])[0]}).json()["alerts"]
    assert len(leaders) == 1 and seen == 8  # one process ran the detectors, over every row of both
    mine = [a for a in alerts if a["key_id"] == rec.key_id]
    assert mine and len({(a["detector"]) for a in mine}) == len(mine)  # one alert per detector, not one per process


def test_the_same_alert_from_two_processes_is_kept_once(audit_url):
    import time

    logs = [AuditLog(audit_url, origin=f"w{j}") for j in range(2)]
    alert = {"key_id": "k", "detector": "fingerprint", "query": 3, "score": 20.0, "related": "[]",
             "action": "alert", "detail": "x"}
    try:
        futs = [log.alert({**alert, "ts": time.time()}) for _ in range(5) for log in logs]
        ids = {f.result(30) for f in futs}
        other = logs[0].alert({**alert, "detector": "prada", "ts": time.time()}).result(30)
        assert len(ids) == 1 and other not in ids
        assert len(logs[1].alerts()) == 2
    finally:
        for log in logs:
            log.close()
