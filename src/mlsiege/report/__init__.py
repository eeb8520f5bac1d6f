"""Reports people act on: findings, a versioned JSON file, a self-contained HTML page.

Import the parts from their modules (``mlsiege.report.findings``, ``mlsiege.report.json_report``,
``mlsiege.report.html``); importing this package pulls in no optional dependency. The HTML
renderer needs the ``report`` extra (plotly). The terminal summary lives in ``mlsiege.cli.summary``
because only the CLI prints.
"""

from mlsiege.report.findings import SEVERITIES, Finding, severity_rank
from mlsiege.report.json_report import SCHEMA_VERSION, read_json, write_json

__all__ = ["SCHEMA_VERSION", "SEVERITIES", "Finding", "read_json", "severity_rank", "write_json"]
