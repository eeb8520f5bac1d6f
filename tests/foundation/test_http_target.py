"""HTTP targets against a real server on 127.0.0.1: exact counting, clear errors."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

pytest.importorskip("httpx")

from mlsiege.errors import TargetResponseError, TargetUnavailableError  # noqa: E402
from mlsiege.targets import Budgeted  # noqa: E402
from mlsiege.targets.http import HTTPTarget  # noqa: E402


class _Handler(BaseHTTPRequestHandler):
    rows_seen = 0

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        rows = body["rows"]
        type(self).rows_seen += len(rows)
        if self.path == "/garbage":
            payload = b"<html>not json</html>"
        elif self.path == "/short":
            payload = json.dumps({"predictions": [1]}).encode()
        else:
            preds = [{"label": int(r["a"] > 0), "proba": [0.3, 0.7]} for r in rows]
            payload = json.dumps({"predictions": preds}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Handler.rows_seen = 0
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_http_counts_queries_exactly(server):
    t = Budgeted(HTTPTarget(server + "/predict", feature_names=["a", "b"]), max_queries=7)
    X = np.array([[1.0, 0.0], [-1.0, 0.0], [2.0, 1.0]])
    assert t.predict(X).tolist() == [1, 0, 1]
    assert t.predict_proba(X[:2]).shape == (2, 2)
    assert t.queries_used == 5 and _Handler.rows_seen == 5


def test_dead_endpoint_is_one_line_error():
    t = HTTPTarget(f"http://127.0.0.1:{_free_port()}/predict", retries=1, backoff=0.01, timeout=1.0)
    with pytest.raises(TargetUnavailableError) as info:
        t.predict(np.ones((1, 2)))
    assert "unavailable after 2 attempts" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("path, message", [("/garbage", "did not answer JSON"), ("/short", "list of 2")])
def test_garbage_answers_are_named(server, path, message):
    t = HTTPTarget(server + path, feature_names=["a", "b"])
    with pytest.raises(TargetResponseError, match=message):
        t.predict(np.ones((2, 2)))


def test_mock_transport_array_layout():
    httpx = pytest.importorskip("httpx")

    def handler(request):
        rows = json.loads(request.content)["inputs"]
        return httpx.Response(200, json={"out": [sum(r) for r in rows]})

    t = HTTPTarget("http://model/score", kind="scorer", layout="array", input_key="inputs", output_key="out",
                   transport=httpx.MockTransport(handler))
    assert t.score(np.array([[1.0, 2.0]])).tolist() == [3.0]
