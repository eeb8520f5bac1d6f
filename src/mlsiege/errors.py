"""Every error mlsiege raises, in one place.

The hierarchy (each class also subclasses the built-in a caller would naturally catch)::

    MlsiegeError
    ├── ConfigError            (ValueError)      a component was configured with bad values
    ├── SchemaError            (ValueError)      a schema definition is wrong (names the feature)
    ├── DataValidationError    (ValueError)      data does not fit its schema (names rows/columns)
    ├── UnknownAtlasIdError    (KeyError)        an ATLAS ID that is not in the catalog
    ├── MissingExtraError      (ImportError)     an optional dependency is not installed
    ├── CapabilityError        (AttributeError)  a target does not offer the query asked of it
    ├── QueryBudgetExceeded    (RuntimeError)    the attacker's query budget ran out
    ├── StoreError             (RuntimeError)    the gateway's database is unreachable or failed
    └── TargetError            (RuntimeError)    the model under test misbehaved
        ├── TargetUnavailableError               an endpoint is down, refuses or times out
        ├── TargetResponseError                  the target answered something unusable
        └── TargetRaisedError                    the wrapped model raised an exception

Errors carry what was expected and what was given. Third-party exceptions are converted at the
adapter boundary with ``raise ... from exc`` so a user sees one line naming the problem; the
original stays in ``__cause__`` for debugging.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CapabilityError",
    "ConfigError",
    "DataValidationError",
    "MissingExtraError",
    "MlsiegeError",
    "QueryBudgetExceeded",
    "SchemaError",
    "StoreError",
    "TargetError",
    "TargetRaisedError",
    "TargetResponseError",
    "TargetUnavailableError",
    "UnknownAtlasIdError",
]


class MlsiegeError(Exception):
    """Base class of every error raised on purpose by mlsiege."""


class ConfigError(MlsiegeError, ValueError):
    """A component's configuration holds a value it cannot work with."""


class SchemaError(MlsiegeError, ValueError):
    """A schema definition is inconsistent; the message names the feature or constraint."""

    def __init__(self, message: str, *, feature: str | None = None) -> None:
        self.feature = feature
        super().__init__(f"feature {feature!r}: {message}" if feature else message)


class DataValidationError(MlsiegeError, ValueError):
    """Data does not fit its schema or expected layout.

    ``rows`` holds the offending row positions (at most a few are named in the message) and
    ``columns`` the offending column names, so a caller can report or drop them.
    """

    def __init__(
        self, message: str, *, rows: list[int] | None = None, columns: list[str] | None = None
    ) -> None:
        self.rows = list(rows or [])
        self.columns = list(columns or [])
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows[:5])
            more = f" (+{len(self.rows) - 5} more)" if len(self.rows) > 5 else ""
            message = f"{message} [rows {shown}{more}]"
        super().__init__(message)


class UnknownAtlasIdError(MlsiegeError, KeyError):
    """An ATLAS technique, tactic or mitigation ID that the bundled catalog does not hold."""

    def __str__(self) -> str:  # KeyError quotes its argument; we want a plain sentence
        return str(self.args[0]) if self.args else "unknown ATLAS id"


class MissingExtraError(MlsiegeError, ImportError):
    """An optional dependency is missing; the message is a one-line install hint."""

    def __init__(self, package: str, extra: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(
            f"{package} is not installed; install it with: pip install 'mlsiege[{extra}]'"
        )


class CapabilityError(MlsiegeError, AttributeError):
    """The target does not expose the query asked of it (e.g. scores from a label-only API)."""


class QueryBudgetExceeded(MlsiegeError, RuntimeError):
    """The query budget is spent.

    ``partial`` holds the answers for the rows that were still within budget (possibly empty),
    ``sent`` how many rows of the refused batch were answered, so nothing paid for is lost.
    """

    def __init__(self, budget: int, used: int, requested: int, partial: Any = None) -> None:
        self.budget = budget
        self.used = used
        self.requested = requested
        self.partial = partial
        self.sent = 0 if partial is None else len(partial)
        super().__init__(
            f"query budget of {budget} rows exhausted: {used} used, a batch of {requested} asked, "
            f"{self.sent} answered"
        )


class StoreError(MlsiegeError, RuntimeError):
    """The gateway's database is unreachable or a statement failed (one line, no SQL, no parameters)."""


class TargetError(MlsiegeError, RuntimeError):
    """The model under test could not answer as expected."""


class TargetUnavailableError(TargetError):
    """The target is unreachable: connection refused, timed out, or failing with 5xx."""


class TargetResponseError(TargetError):
    """The target answered, but not with something mlsiege can use (wrong shape, not JSON...)."""


class TargetRaisedError(TargetError):
    """The wrapped model raised while predicting; the original exception is ``__cause__``."""
