"""The gateway as a client sees it: a real server on 127.0.0.1, started and stopped here."""

from __future__ import annotations

import json
import time

import httpx
import numpy as np
import pytest

pytest.importorskip("fastapi")

from gateway_helpers import ServerThread, row, tiny_model, tiny_schema  # noqa: E402

from mlsiege.gateway import create_app, export_jsonl, load_policy  # noqa: E402
from mlsiege.targets import from_estimator  # noqa: E402
from mlsiege.targets.http import HTTPTarget  # noqa: E402

POLICY = """
output: {mode: scores}
roles:
  predict: {output: {mode: scores}}
keys:
  coarse: {output: {mode: rounded, decimals: 1}}
detection:
  action: alert
limits:
  max_rows: 50
  max_body_bytes: 20000
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gw")
    model, _ = tiny_model()
    schema = tiny_schema()
    app = create_app(from_estimator(model, schema=schema), schema, policy=load_policy(POLICY),
                     audit=f"sqlite:///{tmp / 'audit.db'}")
    gw = app.state.gateway
    admin, _ = gw.keys.create("root", ["admin"])
    with ServerThread(app) as server:
        client = httpx.Client(base_url=server.url, timeout=20)
        yield {"client": client, "admin": admin, "gw": gw, "url": server.url, "db": f"sqlite:///{tmp / 'audit.db'}",
               "tmp": tmp}
        client.close()


def make_key(s, name: str, roles=("predict",), output=None) -> tuple[str, str]:
    body = {"name": name, "roles": list(roles)}
    if output:
        body["output"] = output
    r = s["client"].post("/v1/admin/keys", json=body, headers={"X-API-Key": s["admin"]})
    assert r.status_code == 201, r.text
    return r.json()["id"], r.json()["key"]


def predict(s, key, rows, **kw):
    headers = {"X-API-Key": key} if key else {}
    return s["client"].post("/v1/predict", json={"rows": rows}, headers=headers, **kw)


def test_health_needs_no_key_and_everything_else_does(served):
    c = served["client"]
    assert c.get("/v1/health").json()["status"] == "ok"
    assert c.post("/v1/predict", json={"rows": [row()]}).status_code == 401
    r = c.post("/v1/predict", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 401  # authentication before the body is read
    assert c.post("/v1/predict", json={"rows": [row()]}, headers={"X-API-Key": "mls_nope"}).status_code == 401
    assert c.get("/v1/alerts").status_code == 401
    assert c.get("/v1/admin/keys").status_code == 401


def test_roles_give_403(served):
    _, user = make_key(served, "user")
    c = served["client"]
    assert c.get("/v1/admin/keys", headers={"X-API-Key": user}).status_code == 403
    assert c.get("/v1/alerts", headers={"Authorization": f"Bearer {user}"}).status_code == 403
    assert predict(served, served["admin"], [row()]).status_code == 403
    assert predict(served, user, [row()]).status_code == 200


def test_bad_input_gets_4xx_naming_the_problem(served):
    _, key = make_key(served, "sloppy")
    c = served["client"]
    r = c.post("/v1/predict", content=b"{not json", headers={"X-API-Key": key})
    assert r.status_code == 400 and "malformed JSON" in r.json()["detail"]
    r = predict(served, key, [{**row(), "a": "x"}])
    assert r.status_code == 422 and "'a'" in r.json()["detail"]
    r = predict(served, key, [{"a": 0.1}])
    assert r.status_code == 422 and "missing feature" in r.json()["detail"]
    r = predict(served, key, [row(a=1.5)])
    assert r.status_code == 422 and "bounds:a" in r.json()["detail"]
    r = predict(served, key, [row(color="purple")])
    assert r.status_code == 422 and "color" in r.json()["detail"]
    r = predict(served, key, [row(a=0.95, b=0.95)])
    assert r.status_code == 422 and "a + b <= 1.8" in r.json()["detail"]
    r = predict(served, key, [row()] * 51)
    assert r.status_code == 422 and "51 rows exceed the limit of 50" in r.json()["detail"]
    r = c.post("/v1/predict", content=b"x" * 30000, headers={"X-API-Key": key})
    assert r.status_code == 413
    assert c.post("/v1/predict", json=[1, 2], headers={"X-API-Key": key}).status_code == 422


def test_output_policies_per_key_and_name(served):
    rows = [row(0.1, 0.2), row(0.6, 0.7, color="blue")]
    _, scores = make_key(served, "scorer")
    _, labels = make_key(served, "labeller", output={"mode": "labels"})
    _, topk = make_key(served, "top", output={"mode": "topk", "k": 1})
    _, coarse = make_key(served, "coarse")  # rounded by the policy's keys section
    model, _ = tiny_model()
    full = predict(served, scores, rows).json()["predictions"]
    assert set(full[0]) == {"label", "proba"} and len(full[0]["proba"]) == 2
    expected = model.predict_proba(__import__("pandas").DataFrame(rows))
    np.testing.assert_allclose([p["proba"] for p in full], expected, atol=1e-9)
    assert predict(served, labels, rows).json()["predictions"] == [{"label": p["label"]} for p in full]
    top = predict(served, topk, rows).json()["predictions"]
    assert all(sorted(p["proba"])[0] == 0.0 for p in top)
    rounded = predict(served, coarse, rows).json()["predictions"]
    assert all(p == round(p, 1) for r in rounded for p in r["proba"])


def test_http_target_can_attack_the_gateway(served):
    _, key = make_key(served, "client")
    schema = tiny_schema()
    target = HTTPTarget(served["url"] + "/v1/predict", schema=schema, headers={"X-API-Key": key})
    X = schema.encode(__import__("pandas").DataFrame([row(), row(0.7, 0.8, 5, "green")]))
    assert target.predict(X).shape == (2,)
    assert target.predict_proba(X).shape == (2, 2)
    target.close()


def test_audit_records_every_answer_and_exports(served, tmp_path):
    key_id, key = make_key(served, "audited")
    acks = [int(predict(served, key, [row(0.1 * i, 0.2)]).headers["X-Audit-Id"]) for i in range(3)]
    r = served["client"].get(f"/v1/admin/audit?key_id={key_id}", headers={"X-API-Key": served["admin"]})
    records = r.json()["records"]
    assert [rec["id"] for rec in records] == acks
    assert all(rec["status"] == 200 and json.loads(rec["response"])["predictions"] for rec in records)
    n = export_jsonl(served["db"], tmp_path / "audit.jsonl")
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    assert n == len(lines) >= 3 and {json.loads(line)["id"] for line in lines} >= set(acks)
    secrets = [line for line in lines if "mls_" in line]
    assert not secrets  # created keys are never written to the audit log


def test_revoked_key_is_refused(served):
    key_id, key = make_key(served, "leaver")
    assert predict(served, key, [row()]).status_code == 200
    r = served["client"].delete(f"/v1/admin/keys/{key_id}", headers={"X-API-Key": served["admin"]})
    assert r.json()["revoked"]["revoked"] is not None
    assert predict(served, key, [row()]).status_code == 401
    assert served["client"].delete("/v1/admin/keys/nope", headers={"X-API-Key": served["admin"]}).status_code == 404


def wait_for(fn, timeout: float = 10.0):
    """Detection follows the audit feed a little behind the answers: poll for its outcome."""
    end = time.monotonic() + timeout
    while True:
        got = fn()
        if got or time.monotonic() > end:
            return got
        time.sleep(0.05)


def test_probing_is_alerted(served):
    key_id, key = make_key(served, "prober")
    for i in range(6):  # a boundary walk: nearly the same row again and again
        assert predict(served, key, [row(0.45 + 1e-5 * i, 0.41)]).status_code == 200

    def mine():
        alerts = served["client"].get("/v1/alerts", headers={"X-API-Key": served["admin"]}).json()["alerts"]
        return [a for a in alerts if a["key_id"] == key_id]
    found = wait_for(mine)
    assert found and found[0]["detector"] == "fingerprint" and found[0]["action"] == "alert"
    assert "near-duplicates" in found[0]["detail"]


@pytest.mark.parametrize("action", ["block", "degrade"])
def test_detection_actions_block_or_degrade(tmp_path, action):
    model, _ = tiny_model()
    schema = tiny_schema()
    policy = load_policy({"detection": {"action": action, "degrade_to": {"mode": "labels"}}})
    app = create_app(from_estimator(model, schema=schema), schema, policy=policy,
                     audit=f"sqlite:///{tmp_path / 'a.db'}")
    key, rec = app.state.gateway.keys.create("bot")
    admin, _ = app.state.gateway.keys.create("root", ["admin"])
    with ServerThread(app) as server, httpx.Client(base_url=server.url) as c:
        answers = [c.post("/v1/predict", json={"rows": [row(0.2 + 1e-5 * i, 0.3)]}, headers={"X-API-Key": key})
                   for i in range(6)]
        blocks = wait_for(lambda: c.get("/v1/admin/blocks", headers={"X-API-Key": admin}).json()["blocks"])
        late = c.post("/v1/predict", json={"rows": [row(0.7, 0.1)]}, headers={"X-API-Key": key})
        if action == "block":
            lifted = c.delete(f"/v1/admin/blocks/{rec.key_id}", headers={"X-API-Key": admin})
            again = c.post("/v1/predict", json={"rows": [row(0.7, 0.1)]}, headers={"X-API-Key": key})
            assert lifted.status_code == 200 and lifted.json()["lifted"][0]["key_id"] == rec.key_id
            assert again.status_code == 200
            assert c.delete(f"/v1/admin/blocks/{rec.key_id}", headers={"X-API-Key": admin}).status_code == 404
    assert answers[0].status_code == 200 and "proba" in answers[0].json()["predictions"][0]
    assert blocks and blocks[0]["key_id"] == rec.key_id and blocks[0]["action"] == action
    assert blocks[0]["evidence"]["near_duplicates"] >= 2  # the decision states its evidence
    if action == "block":
        assert late.status_code == 403
    else:
        assert late.status_code == 200
        assert set(late.json()["predictions"][0]) == {"label"}


def test_rate_limits_and_quotas_answer_429(tmp_path):
    model, _ = tiny_model()
    schema = tiny_schema()
    policy = load_policy({"limits": {"per_key": {"rate": 0.5, "burst": 2},
                                     "per_prefix": {"quota": 6, "window": 3600}},
                          "detection": {"enabled": False}})
    app = create_app(from_estimator(model, schema=schema), schema, policy=policy,
                     audit=f"sqlite:///{tmp_path / 'a.db'}")
    k1, _ = app.state.gateway.keys.create("one")
    k2, _ = app.state.gateway.keys.create("two")
    with ServerThread(app) as server, httpx.Client(base_url=server.url) as c:
        codes = [c.post("/v1/predict", json={"rows": [row()]}, headers={"X-API-Key": k1}) for _ in range(3)]
        assert [r.status_code for r in codes] == [200, 200, 429]
        assert int(codes[-1].headers["Retry-After"]) >= 1
        # the network prefix shares a quota of 6 rows: key two gets 2 requests of 2 rows, then 429
        got = [c.post("/v1/predict", json={"rows": [row(), row()]}, headers={"X-API-Key": k2}).status_code
               for _ in range(3)]
        assert got == [200, 200, 429]


def test_cli_manages_keys(tmp_path):
    from typer.testing import CliRunner

    from mlsiege.cli.main import app

    db = f"sqlite:///{tmp_path / 'k.db'}"
    runner = CliRunner()
    made = runner.invoke(app, ["gateway", "keys", "create", "--name", "ops", "--role", "admin", "--audit", db])
    assert made.exit_code == 0 and made.stdout.strip().startswith("mls_")
    listed = runner.invoke(app, ["gateway", "keys", "list", "--json", "--audit", db])
    key_id = json.loads(listed.stdout.splitlines()[0])["id"]
    assert runner.invoke(app, ["gateway", "keys", "revoke", key_id, "--audit", db]).exit_code == 0
    bad = runner.invoke(app, ["gateway", "keys", "revoke", "nope", "--audit", db])
    assert bad.exit_code == 2
    assert runner.invoke(app, ["gateway", "keys", "create", "--name", "x", "--role", "root", "--audit", db]).exit_code == 2


@pytest.mark.parametrize("trusted", [None, "127.0.0.1"])
def test_x_forwarded_for_is_believed_only_from_trusted_proxies(tmp_path, trusted):
    from mlsiege.gateway.server import uvicorn_options

    model, _ = tiny_model()
    schema = tiny_schema()
    policy = load_policy({"limits": {"per_prefix": {"quota": 3, "window": 3600}}, "detection": {"enabled": False}})
    app = create_app(from_estimator(model, schema=schema), schema, policy=policy,
                     audit=f"sqlite:///{tmp_path / 'a.db'}")
    key, rec = app.state.gateway.keys.create("k")
    with ServerThread(app, **uvicorn_options(trusted)) as server, httpx.Client(base_url=server.url) as c:
        got = [c.post("/v1/predict", json={"rows": [row()]},
                      headers={"X-API-Key": key, "X-Forwarded-For": f"203.0.{i}.7"}).status_code for i in range(6)]
        clients = {r["client"] for r in app.state.gateway.audit.records(key_id=rec.key_id)}
    if trusted is None:  # a rotating header neither dodges the per-network quota nor enters the audit log
        assert got == [200, 200, 200, 429, 429, 429] and clients == {"127.0.0.1"}
    else:
        assert got == [200] * 6 and clients == {f"203.0.{i}.7" for i in range(6)}


def _caught_up(gw, last: int) -> bool:
    """Whether this gateway's detection leads and has read the audit log up to ``last``."""
    return gw.detection.leader and gw.detection.cursor >= last


def test_blocks_and_detector_state_survive_a_restart(tmp_path):
    model, _ = tiny_model()
    schema = tiny_schema()
    policy = load_policy({"detection": {"action": "block"}})
    audit = f"sqlite:///{tmp_path / 'a.db'}"
    app = create_app(from_estimator(model, schema=schema), schema, policy=policy, audit=audit)
    gw = app.state.gateway
    bot, bot_rec = gw.keys.create("bot")
    user, _ = gw.keys.create("user")
    with ServerThread(app) as server, httpx.Client(base_url=server.url) as c:
        got = [c.post("/v1/predict", json={"rows": [row(0.2 + 1e-5 * i, 0.3)]}, headers={"X-API-Key": bot}).status_code
               for i in range(6)]
        last = int(c.post("/v1/predict", json={"rows": [row(0.7, 0.1, 3, "blue")]},
                          headers={"X-API-Key": user}).headers["X-Audit-Id"])
        assert wait_for(lambda: _caught_up(gw, last))
        late = c.post("/v1/predict", json={"rows": [row(0.5, 0.5)]}, headers={"X-API-Key": bot}).status_code
    answered = got.count(200)
    assert late == 403 and gw.detection.monitor.seen == answered + 1
    gw.close()
    again = create_app(from_estimator(model, schema=schema), schema, policy=policy, audit=audit)
    gw2 = again.state.gateway
    try:
        assert wait_for(lambda: _caught_up(gw2, last))
        assert gw2.detection.monitor.seen == answered + 1  # the detectors' state is rebuilt from the log
        with ServerThread(again) as server, httpx.Client(base_url=server.url) as c:
            assert c.post("/v1/predict", json={"rows": [row()]}, headers={"X-API-Key": bot}).status_code == 403
            assert c.post("/v1/predict", json={"rows": [row()]}, headers={"X-API-Key": user}).status_code == 200
            lifted = gw2.lift(bot_rec.key_id, by="test")
            assert lifted and {d["action"] for d in lifted} == {"block"} and lifted[0]["evidence"]
            r = c.post("/v1/predict", json={"rows": [row(0.9, 0.1)]}, headers={"X-API-Key": bot})
            assert r.status_code == 200
            assert wait_for(lambda: _caught_up(gw2, int(r.headers["X-Audit-Id"])))
            # the lifted key's earlier rows are forgiven: no new decision without new evidence
            assert c.post("/v1/predict", json={"rows": [row(0.1, 0.9)]}, headers={"X-API-Key": bot}).status_code == 200
            assert gw2.blocks.decisions() == []
    finally:
        gw2.close()


def test_a_failing_model_answers_503_with_an_error_id(tmp_path):
    from mlsiege.targets import from_callable

    def broken(X):
        raise ValueError(f"cannot score row {X[0].tolist()}")

    schema = tiny_schema()
    app = create_app(from_callable(broken), schema, audit=f"sqlite:///{tmp_path / 'a.db'}")
    key, _ = app.state.gateway.keys.create("k")
    with ServerThread(app) as server, httpx.Client(base_url=server.url) as c:
        r = c.post("/v1/predict", json={"rows": [row(0.777, 0.1)]}, headers={"X-API-Key": key})
    assert r.status_code == 503 and set(r.json()) == {"detail", "error_id"}
    assert "0.777" not in r.text and "ValueError" not in r.text
