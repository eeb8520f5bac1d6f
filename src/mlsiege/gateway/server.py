"""Load a target, a schema and a policy, and serve the gateway with uvicorn (one or more workers).

With ``workers > 1`` uvicorn's supervisor forks that many processes sharing the listening socket;
each builds its own app (model, detectors) from the same settings, and they agree through the
database: ids, keys, blocks, alerts (see :mod:`mlsiege.gateway.store`). ``SIGHUP`` to the
supervisor replaces the workers one at a time, each replacement serving before the old one is
retired (a rolling restart); a worker that dies (``kill -9``) is replaced.

``X-Forwarded-For`` is read only from the peers listed in ``forwarded_allow_ips`` (default: none),
so a client cannot write its own address into the audit log or dodge the per-network limit.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any

from mlsiege.errors import ConfigError
from mlsiege.extras import require
from mlsiege.gateway.app import create_app
from mlsiege.gateway.policy import load_policy

__all__ = ["app_from_env", "build_app", "run", "uvicorn_options"]

#: environment variable carrying the settings of :func:`build_app` to each worker process
SETTINGS_ENV = "MLSIEGE_GATEWAY_SETTINGS"


def build_app(target: str, schema: str | Path, *, policy: str | Path | None = None,
              audit: str = "sqlite:///audit.db", kind: str | None = None, threads: int = 2,
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
    pol = load_policy(policy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the CLI already said that unpickling runs code
        model = load_target(target, schema=sch, kind=kind)
    ref = load_reference(reference, sch) if reference is not None else None
    return create_app(model, sch, policy=pol, audit=audit, threads=threads, reference=ref)


def app_from_env() -> Any:
    """The app of one worker process, from the settings :func:`run` put in ``SETTINGS_ENV``."""
    settings = json.loads(os.environ[SETTINGS_ENV])
    app = build_app(**settings)
    _freeze()
    return app


def _freeze() -> None:
    # model calls and detection run on threads: hand the GIL over every millisecond (default 5)
    # so the event loop and a small request's thread are not kept waiting behind a large batch
    sys.setswitchinterval(0.001)
    # the model, pandas and scikit-learn are loaded: move them out of the collector's sight so
    # full collections stay short (they otherwise show up as 10-30 ms latency spikes)
    gc.collect()
    gc.freeze()


def run(app: Any, host: str = "127.0.0.1", port: int = 8000, *, workers: int = 1,
        settings: dict[str, Any] | None = None, forwarded_allow_ips: str | None = None,
        log_level: str = "warning") -> None:
    """Serve ``app`` until interrupted.

    Parameters
    ----------
    app
        The app (used when ``workers == 1``).
    workers
        Number of processes; above 1 each rebuilds the app from ``settings`` (the keyword
        arguments of :func:`build_app`).
    forwarded_allow_ips
        Comma-separated addresses or networks of trusted proxies whose ``X-Forwarded-For`` is
        believed (``*``: any). ``None`` trusts no one: the peer's address is the client's.
    """
    uvicorn = require("uvicorn", extra="web")
    if workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    common = {"host": host, "port": port, "log_level": log_level, "access_log": False,
              "timeout_graceful_shutdown": 5, "timeout_worker_healthcheck": 60,
              **uvicorn_options(forwarded_allow_ips)}
    if workers == 1:
        _freeze()
        uvicorn.run(app, workers=1, **common)
        return
    if settings is None:
        raise ConfigError("several workers need the settings to rebuild the app in each")
    os.environ[SETTINGS_ENV] = json.dumps({k: (str(v) if isinstance(v, Path) else v) for k, v in settings.items()})
    uvicorn.run("mlsiege.gateway.server:app_from_env", factory=True, workers=workers, **common)


def uvicorn_options(forwarded_allow_ips: str | None = None) -> dict[str, Any]:
    """uvicorn settings of the gateway: the fast loop and parser, and whom to believe about clients.

    ``X-Forwarded-For`` is read only when ``forwarded_allow_ips`` names the trusted proxies;
    by default (``None``) it is ignored, whatever the peer (uvicorn alone trusts 127.0.0.1).
    """
    return {"loop": "uvloop" if _has("uvloop") else "asyncio", "http": "httptools" if _has("httptools") else "h11",
            "proxy_headers": bool(forwarded_allow_ips), "forwarded_allow_ips": forwarded_allow_ips or ""}


def _has(module: str) -> bool:
    try:
        require(module, extra="web")
    except ImportError:
        return False
    return True
