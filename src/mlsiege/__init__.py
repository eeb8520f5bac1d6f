"""mlsiege: red-team deployed machine-learning systems across their whole lifecycle.

See ``docs/architecture.md`` for the package map. The public entry points live in the
sub-packages (``mlsiege.targets``, ``mlsiege.schema``, ``mlsiege.attacks.*`` ...); importing this
package pulls in nothing heavy (``__version__`` is read from the installed metadata on first use).
"""

from __future__ import annotations

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("mlsiege")
        except PackageNotFoundError:  # running from a source tree that was never installed
            value = "0.0.0"
        globals()["__version__"] = value
        return value
    raise AttributeError(f"module 'mlsiege' has no attribute {name!r}")
