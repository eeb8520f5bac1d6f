"""Target SPEC strings as written on the command line.

* ``model.joblib`` / ``model.pkl``: unpickled (with a warning: that runs code) and adapted;
* ``model.onnx``: onnxruntime;
* ``http://...`` / ``https://...``: a JSON endpoint;
* ``package.module:callable``: a Python callable, or a factory returning a fitted estimator.
"""

from __future__ import annotations

import importlib
from typing import Any

from mlsiege.errors import ConfigError

__all__ = ["load_target"]


def load_target(spec: str, *, schema: Any = None, kind: str | None = None, decode: bool | None = None, **options: Any) -> Any:
    """Build a target from a SPEC string (see the module docstring).

    ``schema`` is the feature space of the rows the target will be sent; a model fitted on a
    DataFrame then receives named, decoded columns (``decode``: see
    :func:`~mlsiege.targets.adapters.from_estimator`).
    """
    if not spec:
        raise ConfigError("empty target SPEC")
    lowered = spec.lower()
    if lowered.startswith(("http://", "https://")):
        from mlsiege.targets.http import HTTPTarget

        return HTTPTarget(spec, kind or "classifier", schema=schema, **options)
    if lowered.endswith((".joblib", ".pkl", ".pickle")):
        from mlsiege.targets.adapters import load_joblib

        return load_joblib(spec, schema=schema, kind=kind, decode=decode)
    if lowered.endswith(".onnx"):
        from mlsiege.targets.onnx import load_onnx

        return load_onnx(spec, kind or "classifier", **options)
    if ":" in spec:
        return _from_import(spec, schema=schema, kind=kind, decode=decode)
    raise ConfigError(
        f"cannot tell what kind of target {spec!r} is: use a .joblib/.pkl/.onnx path, "
        "an http(s):// URL, or module:callable"
    )


def _from_import(spec: str, *, schema: Any, kind: str | None, decode: bool | None) -> Any:
    from mlsiege.targets.adapters import from_callable, from_estimator

    module_name, _, attr = spec.partition(":")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot import {spec!r}: {exc}") from exc
    if hasattr(obj, "predict") or hasattr(obj, "score_samples") or hasattr(obj, "decision_function"):
        return from_estimator(obj, schema=schema, kind=kind, decode=decode)
    if callable(obj):
        return from_callable(obj, kind or "classifier")
    raise ConfigError(f"{spec!r} is neither an estimator nor a callable")
