"""Reports people act on: findings, a versioned JSON file, a self-contained HTML page.

Import the parts from their modules (``mlsiege.report.findings``, ``mlsiege.report.json_report``,
``mlsiege.report.html``); importing this package pulls in no optional dependency. The HTML
renderer needs the ``report`` extra (plotly). The terminal summary lives in ``mlsiege.cli.summary``
because only the CLI prints.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SCHEMA_VERSION", "SEVERITIES", "Finding", "read_json", "severity_rank", "write_json"]


def __getattr__(name: str) -> Any:
    """The names above, imported from their modules on first use (the CLI's start-up stays light)."""
    if name in ("SEVERITIES", "Finding", "severity_rank"):
        from mlsiege.report import findings

        return getattr(findings, name)
    if name in ("SCHEMA_VERSION", "read_json", "write_json"):
        from mlsiege.report import json_report

        return getattr(json_report, name)
    raise AttributeError(f"module 'mlsiege.report' has no attribute {name!r}")
