"""Load a target, a schema and a policy, and serve the gateway with uvicorn (one worker).

One worker process keeps the detectors' state, rate limits and audit ids exact; speed comes from
an asynchronous server (uvloop, httptools), micro-batched prediction and group-committed audit
writes rather than from more processes.
"""

from __future__ import annotations

import gc
import warnings
from pathlib import Path
from typing import Any

from mlsiege.errors import ConfigError
from mlsiege.extras import require
from mlsiege.gateway.app import create_app
from mlsiege.gateway.policy import load_policy

__all__ = ["build_app", "run"]


def build_app(target: str, schema: str | Path, *, policy: str | Path | None = None,
              audit: str = "sqlite:///audit.db", kind: str | None = None,
              reference: str | Path | None = None) -> Any:
    """The app for a target SPEC (``model.joblib``, ``module:callable``...), schema YAML and policy.

    ``reference``: a CSV/Parquet file of real rows (e.g. the training data) for detection.
    """
    from mlsiege.gateway.detection import load_reference
    from mlsiege.schema import Schema
    from mlsiege.targets import load_target

    if not Path(schema).is_file():
        raise ConfigError(f"schema file not found: {schema}")
    if policy is not None and not Path(policy).is_file():
        raise ConfigError(f"policy file not found: {policy}")
    sch = Schema.from_yaml(Path(schema))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the CLI already said that unpickling runs code
        model = load_target(target, schema=sch, kind=kind)
    ref = load_reference(reference, sch) if reference is not None else None
    return create_app(model, sch, policy=load_policy(policy), audit=audit, reference=ref)


def run(app: Any, host: str = "127.0.0.1", port: int = 8000, *, log_level: str = "warning") -> None:
    """Serve ``app`` until interrupted."""
    uvicorn = require("uvicorn", extra="web")
    # the model, pandas and scikit-learn are loaded: move them out of the collector's sight so
    # full collections stay short (they otherwise show up as 10-30 ms latency spikes)
    gc.collect()
    gc.freeze()
    loop = "uvloop" if _has("uvloop") else "asyncio"
    http = "httptools" if _has("httptools") else "h11"
    uvicorn.run(app, host=host, port=port, loop=loop, http=http, log_level=log_level,
                access_log=False, workers=1, timeout_graceful_shutdown=5)


def _has(module: str) -> bool:
    try:
        require(module, extra="web")
    except ImportError:
        return False
    return True
