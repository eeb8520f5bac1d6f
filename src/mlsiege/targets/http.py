"""HTTP JSON prediction endpoints as targets (httpx; extra ``web``).

The default layout is the one the mlsiege gateway speaks: the request body is
``{"rows": [{"feature": value, ...}, ...]}`` and the answer ``{"predictions": [...]}`` where each
prediction is a label, a score, or an object holding them. Both sides are configurable for other
services. Connection failures and 5xx answers are retried with exponential back-off a bounded
number of times, then reported as one :class:`~mlsiege.errors.TargetUnavailableError`; a 4xx or
an answer of the wrong shape is a :class:`~mlsiege.errors.TargetResponseError`.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from mlsiege.errors import ConfigError, TargetResponseError, TargetUnavailableError
from mlsiege.extras import require

__all__ = ["HTTPTarget"]


class HTTPTarget:
    """A prediction endpoint reached over HTTP with JSON in and JSON out.

    Parameters
    ----------
    url
        The prediction URL (``http://127.0.0.1:8000/v1/predict``).
    kind
        ``"classifier"``, ``"scorer"`` or ``"regressor"``.
    feature_names
        Column names for the ``records`` layout (default: the schema's, else ``x0..xn``).
    schema
        Optional schema: categorical codes are sent as their levels.
    layout
        ``"records"`` (a list of objects) or ``"array"`` (a list of lists).
    input_key, output_key
        JSON keys of the rows in the request and of the predictions in the answer.
    label_key, proba_key, score_key
        When each prediction is an object, the keys of its label, probability list and score.
    headers
        Extra headers (an API key, for instance).
    timeout, retries, backoff
        Seconds per request, extra attempts after a failure, base back-off seconds.
    transport
        An ``httpx`` transport (tests pass ``httpx.MockTransport``).
    """

    def __init__(
        self,
        url: str,
        kind: str = "classifier",
        *,
        feature_names: list[str] | None = None,
        schema: Any = None,
        layout: str = "records",
        input_key: str = "rows",
        output_key: str = "predictions",
        label_key: str = "label",
        proba_key: str = "proba",
        score_key: str = "score",
        classes: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float = 10.0,
        retries: int = 2,
        backoff: float = 0.2,
        transport: Any = None,
    ) -> None:
        httpx = require("httpx", extra="web")
        if kind not in ("classifier", "scorer", "regressor"):
            raise ConfigError(f"kind must be classifier, scorer or regressor, got {kind!r}")
        if layout not in ("records", "array"):
            raise ConfigError(f"layout must be 'records' or 'array', got {layout!r}")
        if retries < 0:
            raise ConfigError(f"retries must be >= 0, got {retries}")
        self.url = url
        self.kind = kind
        self.schema = schema
        self.feature_names = feature_names or (schema.names if schema is not None else None)
        self.layout = layout
        self.input_key, self.output_key = input_key, output_key
        self.label_key, self.proba_key, self.score_key = label_key, proba_key, score_key
        self.classes_ = np.asarray(classes if classes is not None else [0, 1])
        self.retries, self.backoff = retries, backoff
        self._httpx = httpx
        self._client = httpx.Client(timeout=timeout, headers=headers or {}, transport=transport)

    # ----------------------------------------------------------------- wire format
    def _body(self, X: np.ndarray) -> dict[str, Any]:
        X = np.asarray(X)
        if self.schema is not None:
            frame = self.schema.decode(X)
            rows = frame.to_dict(orient="records") if self.layout == "records" else frame.values.tolist()
            return {self.input_key: _jsonable(rows)}
        if self.layout == "array":
            return {self.input_key: X.tolist()}
        names = self.feature_names or [f"x{i}" for i in range(X.shape[1])]
        return {self.input_key: [dict(zip(names, map(_scalar, row), strict=True)) for row in X]}

    def _post(self, X: np.ndarray) -> list[Any]:
        body = self._body(X)
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            try:
                response = self._client.post(self.url, json=body)
            except self._httpx.HTTPError as exc:
                last = exc
            else:
                if response.status_code >= 500:
                    last = TargetUnavailableError(f"{self.url} answered {response.status_code}")
                elif response.status_code >= 400:
                    raise TargetResponseError(
                        f"{self.url} refused the request with {response.status_code}: {response.text[:200]}"
                    )
                else:
                    return self._predictions(response, len(X))
            if attempt < self.retries:
                time.sleep(self.backoff * 2**attempt)
        reason = f"{type(last).__name__}: {last}" if last else "no answer"
        raise TargetUnavailableError(
            f"endpoint {self.url} is unavailable after {self.retries + 1} attempts ({reason})"
        ) from last

    def _predictions(self, response: Any, n: int) -> list[Any]:
        try:
            payload = response.json()
        except ValueError as exc:
            raise TargetResponseError(f"{self.url} did not answer JSON: {response.text[:120]!r}") from exc
        preds = payload.get(self.output_key) if isinstance(payload, dict) else None
        if not isinstance(preds, list) or len(preds) != n:
            got = type(preds).__name__ if not isinstance(preds, list) else f"{len(preds)} items"
            raise TargetResponseError(
                f"{self.url} answered without a list of {n} under {self.output_key!r} (got {got})"
            )
        return preds

    def _field(self, preds: list[Any], key: str) -> list[Any]:
        try:
            return [p[key] if isinstance(p, dict) else p for p in preds]
        except KeyError as exc:
            raise TargetResponseError(f"{self.url}: a prediction lacks the key {key!r}") from exc

    # ----------------------------------------------------------------- capabilities
    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.kind == "scorer":
            raise AttributeError("predict")
        return np.asarray(self._field(self._post(X), self.label_key))

    def score(self, X: np.ndarray) -> np.ndarray:
        if self.kind != "scorer":
            raise AttributeError("score")
        return _numbers(self._field(self._post(X), self.score_key), self.url)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        if self.kind != "classifier":
            raise AttributeError("predict_proba")
        proba = _numbers(self._field(self._post(X), self.proba_key), self.url)
        if proba.ndim != 2:
            raise TargetResponseError(f"{self.url}: probabilities are not one list per row")
        return proba

    def close(self) -> None:
        self._client.close()


def _numbers(values: list[Any], url: str) -> np.ndarray:
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TargetResponseError(f"{url} answered non-numeric values: {values[:3]!r}") from exc


def _scalar(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _jsonable(rows: list[Any]) -> list[Any]:
    if rows and isinstance(rows[0], dict):
        return [{k: _scalar(v) for k, v in r.items()} for r in rows]
    return [[_scalar(v) for v in r] for r in rows]
