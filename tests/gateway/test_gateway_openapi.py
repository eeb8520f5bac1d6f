"""The OpenAPI description matches the server: schemathesis' conformance checks on every operation,
with valid and invalid data; ``docs: key`` hides the description from callers without a key."""

from __future__ import annotations

import httpx
import pytest

pytest.importorskip("fastapi")
schemathesis = pytest.importorskip("schemathesis")

from gateway_helpers import ServerThread, tiny_model  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mlsiege.gateway import create_app, load_policy  # noqa: E402
from mlsiege.schema import Feature, Schema  # noqa: E402
from mlsiege.targets import from_estimator  # noqa: E402

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_rejection, positive_data_acceptance]


def _schema() -> Schema:  # no relation between features: every row the description allows is valid
    return Schema([Feature("a", "real", 0.0, 1.0), Feature("b", "real", 0.0, 1.0), Feature("c", "integer", 0, 10),
                   Feature("color", "categorical", levels=("red", "green", "blue"))])


def test_schemathesis_conformance(tmp_path):
    model, _ = tiny_model()
    schema = _schema()
    app = create_app(from_estimator(model, schema=schema), schema, audit=f"sqlite:///{tmp_path / 'a.db'}",
                     policy=load_policy({"limits": {"max_rows": 5}}))
    key, _ = app.state.gateway.keys.create("both", ["predict", "admin"])
    with ServerThread(app) as server:
        spec = httpx.get(server.url + "/openapi.json").json()
        api = schemathesis.openapi.from_dict(spec)
        ops = [r.ok() for r in api.get_all_operations()]
        assert len(ops) == 9  # the two blocks operations (list, lift) included
        cases = st.one_of([op.as_strategy(mode, headers={"X-API-Key": key}) for op in ops
                           for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)])

        @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), database=None,
                  derandomize=True)
        @given(case=cases)
        def conforms(case):
            case.call_and_validate(base_url=server.url, checks=CHECKS)

        conforms()


def test_docs_can_require_a_key(tmp_path):
    model, _ = tiny_model()
    schema = _schema()
    app = create_app(from_estimator(model, schema=schema), schema, audit=f"sqlite:///{tmp_path / 'a.db'}",
                     policy=load_policy({"docs": "key"}))
    key, _ = app.state.gateway.keys.create("reader", ["predict"])
    with ServerThread(app) as server, httpx.Client(base_url=server.url) as c:
        assert c.get("/openapi.json").status_code == 401
        assert c.get("/docs").status_code == 404
        spec = c.get("/openapi.json", headers={"X-API-Key": key})
        assert spec.status_code == 200 and "/v1/predict" in spec.json()["paths"]
        body = spec.json()["paths"]["/v1/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert body["additionalProperties"] is False
        delete = spec.json()["paths"]["/v1/admin/keys/{key_id}"]["delete"]["responses"]
        assert "404" in delete
