"""ONNX models as targets (onnxruntime; extra ``onnx``).

ONNX is the safe way to hand a model to a red team: loading it runs no code from the file,
unlike a pickle. Models converted by skl2onnx answer a label output and, for classifiers, a
probability output (a tensor, or a list of ``{class: prob}`` maps with ZipMap).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mlsiege.errors import ConfigError, TargetError, TargetResponseError
from mlsiege.extras import require

__all__ = ["OnnxTarget", "load_onnx"]


class OnnxTarget:
    """A model served by onnxruntime from an ``.onnx`` file.

    ``kind="classifier"`` reads the first output as labels and the second, when present, as
    probabilities; ``kind="scorer"`` reads the output named ``score_output`` (default: the last)
    with ``sign`` applied so that higher = more anomalous.
    """

    def __init__(self, path: str | Path, kind: str = "classifier", *, sign: float = 1.0, score_output: str | None = None) -> None:
        ort = require("onnxruntime", extra="onnx")
        path = Path(path)
        if not path.exists():
            raise ConfigError(f"ONNX file not found: {path}")
        try:
            self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise TargetError(f"onnxruntime could not load {path}: {exc}") from exc
        self.kind = kind
        self.sign = sign
        self.input_name = self.session.get_inputs()[0].name
        self.outputs = [o.name for o in self.session.get_outputs()]
        self.score_output = score_output or self.outputs[-1]
        self.classes_ = np.array([0, 1])

    def _run(self, X: np.ndarray) -> list[Any]:
        return self.session.run(None, {self.input_name: np.asarray(X, dtype=np.float32)})

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.kind == "scorer":
            raise AttributeError("predict")
        return np.asarray(self._run(X)[0]).ravel()

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        if self.kind != "classifier" or len(self.outputs) < 2:
            raise AttributeError("predict_proba")
        proba = self._run(X)[1]
        if isinstance(proba, list):  # ZipMap: one {class: prob} dict per row
            keys = sorted(proba[0]) if proba else []
            self.classes_ = np.asarray(keys)
            proba = [[row[k] for k in keys] for row in proba]
        out = np.asarray(proba, dtype=float)
        if out.ndim != 2:
            raise TargetResponseError(f"ONNX probability output has shape {out.shape}, expected 2-D")
        return out

    def score(self, X: np.ndarray) -> np.ndarray:
        if self.kind != "scorer":
            raise AttributeError("score")
        out = self._run(X)[self.outputs.index(self.score_output)]
        return self.sign * np.asarray(out, dtype=float).ravel()


def load_onnx(path: str | Path, kind: str = "classifier", **kwargs: Any) -> OnnxTarget:
    """Load an ONNX model as a target; no code from the file is executed."""
    return OnnxTarget(path, kind, **kwargs)
