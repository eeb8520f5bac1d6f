"""Optional dependencies: import them with a one-line install hint when they are missing.

The core needs only numpy, scipy, pandas, scikit-learn, pyyaml, typer and rich. Web serving,
ONNX, PyOD, implicit, Ray, pandera, OpenLineage and plotting live behind extras; every module that
needs one calls :func:`require` at the point of use so ``import mlsiege`` never pulls them in.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from mlsiege.errors import MissingExtraError

__all__ = ["require"]


def require(module: str, extra: str, package: str | None = None) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` naming the extra that provides it.

    Examples
    --------
    >>> np = require("numpy", extra="core")
    >>> np.__name__
    'numpy'
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(package or module.split(".")[0], extra) from exc
