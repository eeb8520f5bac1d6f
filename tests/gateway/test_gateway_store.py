"""The gateway database on SQLite and PostgreSQL: ids from the database, shared blocks and state."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from mlsiege.errors import StoreError
from mlsiege.gateway import AuditLog
from mlsiege.gateway.keys import KeyStore
from mlsiege.gateway.store import SharedState, open_database, safe_url


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


def test_blocks_and_state_are_shared_between_processes(audit_url):
    a, b = SharedState(open_database(audit_url), ttl=0.0), SharedState(open_database(audit_url), ttl=0.0)
    try:
        a.block("k1", reason="prada: too regular")
        a.block("k1", reason="again")  # idempotent
        assert b.is_blocked("k1") and b.blocked() == {"k1"}
        assert b.lift("k1", by="ops") and not b.lift("k1", by="ops")
        assert not a.is_blocked("k1")
        assert a.blocks(include_lifted=True)[0]["lifted_by"] == "ops"
        a.block("k1", reason="re-armed")
        assert b.is_blocked("k1")
        assert b.load_state("monitor") is None
        a.save_state("monitor", b"\x00state", cursor=41)
        a.save_state("monitor", b"\x00state2", cursor=42)
        data, cursor, _ = b.load_state("monitor")
        assert (data, cursor) == (b"\x00state2", 42)
    finally:
        a.db.close()
        b.db.close()


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
