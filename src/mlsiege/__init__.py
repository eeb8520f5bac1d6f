"""mlsiege: red-team deployed machine-learning systems across their whole lifecycle.

See ``docs/architecture.md`` for the package map. The public entry points live in the
sub-packages (``mlsiege.targets``, ``mlsiege.schema``, ``mlsiege.attacks.*`` ...); importing this
package pulls in nothing heavy.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mlsiege")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
