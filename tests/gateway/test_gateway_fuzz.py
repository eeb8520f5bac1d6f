"""Property-based fuzzing of the OpenAPI-described endpoints: client input never gets a 5xx."""

from __future__ import annotations

import httpx
import pytest

pytest.importorskip("fastapi")
from gateway_helpers import ServerThread, tiny_model, tiny_schema  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from mlsiege.gateway import create_app, load_policy  # noqa: E402
from mlsiege.targets import from_estimator  # noqa: E402

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
_value = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-5, 20), st.none(),
                   st.booleans(), st.sampled_from(["red", "green", "blue", "x", ""]))
_row = st.fixed_dictionaries({}, optional={n: _value for n in ("a", "b", "c", "color", "zz")})
_body = st.one_of(
    _json.map(lambda v: __import__("json").dumps(v).encode()),
    st.lists(_row, max_size=4).map(lambda rows: __import__("json").dumps({"rows": rows}).encode()),
    st.binary(max_size=40),
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz")
    model, _ = tiny_model()
    schema = tiny_schema()
    app = create_app(from_estimator(model, schema=schema), schema, audit=f"sqlite:///{tmp / 'a.db'}",
                     policy=load_policy({"limits": {"max_body_bytes": 4096, "max_rows": 3}}))
    admin, _ = app.state.gateway.keys.create("root", ["admin"])
    user, _ = app.state.gateway.keys.create("user", ["predict"])
    with ServerThread(app) as s, httpx.Client(base_url=s.url, timeout=20) as c:
        spec = c.get("/openapi.json").json()
        yield c, spec, {"admin": admin, "user": user}


def _operations(spec):
    return [(path, method) for path, item in sorted(spec["paths"].items()) for method in sorted(item)]


def test_openapi_documents_every_endpoint(server):
    _, spec, _ = server
    ops = _operations(spec)
    assert ("/v1/predict", "post") in ops and ("/v1/health", "get") in ops and ("/v1/alerts", "get") in ops
    assert {"/v1/admin/keys", "/v1/admin/keys/{key_id}", "/v1/admin/audit"} <= set(spec["paths"])
    body = spec["paths"]["/v1/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["rows"]["items"]["required"] == ["a", "b", "c", "color"]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_no_client_input_gets_a_5xx(server, data):
    client, spec, keys = server
    path, method = data.draw(st.sampled_from(_operations(spec)))
    who = data.draw(st.sampled_from([None, "admin", "user", "bogus"]))
    headers = {} if who is None else {"X-API-Key": keys.get(who, "mls_bogus")}
    url = path.replace("{key_id}", data.draw(st.text("abcdef0123456789%/.", max_size=14)) or "x")
    params = data.draw(st.dictionaries(st.sampled_from(["after", "limit", "key_id", "junk"]),
                                       st.one_of(st.integers(-5, 20000).map(str), st.text(max_size=5)), max_size=3))
    body = data.draw(_body) if method in ("post", "put", "patch") else None
    if path == "/v1/admin/keys" and method == "post" and who == "admin":
        body = body if data.draw(st.booleans()) else __import__("json").dumps(data.draw(st.fixed_dictionaries(
            {}, optional={"name": st.text(max_size=5), "roles": st.lists(st.text(max_size=7), max_size=2),
                          "output": _json}))).encode()
    r = client.request(method.upper(), url, params=params, content=body, headers=headers)
    assert r.status_code < 500, (method, url, params, body, r.status_code, r.text)
