"""Shared bits of the gateway tests: a tiny model, its schema, and a server on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import joblib
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from mlsiege.schema import Feature, Schema

NAMES = ["a", "b", "c", "color"]


def tiny_schema() -> Schema:
    return Schema(
        [Feature("a", "real", 0.0, 1.0), Feature("b", "real", 0.0, 1.0), Feature("c", "integer", 0, 10),
         Feature("color", "categorical", levels=("red", "green", "blue"))],
        ["a + b <= 1.8"],
    )


def tiny_model(seed: int = 0):
    rng = np.random.default_rng(seed)
    n = 200
    frame = pd.DataFrame({"a": rng.uniform(0, 0.9, n), "b": rng.uniform(0, 0.9, n),
                          "c": rng.integers(0, 11, n), "color": rng.choice(["red", "green", "blue"], n)})
    y = ((frame.a + frame.b + (frame.color == "red") * 0.3) > 0.9).astype(int)
    pre = ColumnTransformer([("cat", OneHotEncoder(), ["color"])], remainder="passthrough")
    return make_pipeline(pre, LogisticRegression()).fit(frame, y), frame


def row(a: float = 0.3, b: float = 0.4, c: int = 2, color: str = "red") -> dict:
    return {"a": a, "b": b, "c": c, "color": color}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerThread:
    """Run an ASGI app with uvicorn in a thread of the test process."""

    def __init__(self, app, **options) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error",
                                                    access_log=False, **options))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        for _ in range(200):
            try:
                httpx.get(self.url + "/v1/health", timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("test server did not start")

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def save_model(tmp_path) -> tuple[str, str]:
    model, _ = tiny_model()
    joblib.dump(model, tmp_path / "m.joblib")
    tiny_schema().to_yaml(tmp_path / "s.yaml")
    return str(tmp_path / "m.joblib"), str(tmp_path / "s.yaml")
