"""Terminal summary of a report with rich: key figures and findings, most severe first.

:func:`render_summary` renders at a fixed width without colour codes, so tests can compare the
text; :func:`print_summary` prints the same to the terminal in colour.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from mlsiege.cli.console import console as default_console
from mlsiege.report.findings import Finding, severity_rank

__all__ = ["print_summary", "render_summary", "summary_renderable"]

_STYLES = {
    "info": "dim",
    "low": "green",
    "medium": "yellow",
    "high": "bold red",
    "critical": "bold white on red",
}


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def summary_renderable(
    title: str, summary: Mapping[str, Any], findings: Iterable[Finding | Mapping[str, Any]]
) -> Group:
    """A rich renderable: a key-figures table and a findings table."""
    figures = Table(title=title, show_header=False, title_justify="left", expand=False)
    figures.add_column("figure", style="bold")
    figures.add_column("value")
    for key, value in summary.items():
        figures.add_row(str(key), _fmt(value))
    rows = [f if isinstance(f, Finding) else Finding.from_dict(f) for f in findings]
    rows.sort(key=lambda f: -severity_rank(f.severity))
    found = Table(title=f"Findings ({len(rows)})", title_justify="left", expand=False)
    found.add_column("severity", no_wrap=True)
    found.add_column("finding")
    found.add_column("ATLAS", no_wrap=True)
    for f in rows:
        found.add_row(
            Text(f.severity, style=_STYLES[f.severity]),
            Text.assemble(f.title, "\n", (f.rule, "dim")),
            "\n".join(f.atlas_techniques),
        )
    return Group(figures, found)


def render_summary(
    title: str,
    summary: Mapping[str, Any],
    findings: Iterable[Finding | Mapping[str, Any]],
    width: int = 100,
) -> str:
    """The summary as plain text at a fixed ``width`` (no colour codes): stable for tests."""
    console = Console(width=width, record=True, color_system=None, force_terminal=False, file=_Null())
    console.print(summary_renderable(title, summary, findings))
    return console.export_text()


def print_summary(
    title: str,
    summary: Mapping[str, Any],
    findings: Iterable[Finding | Mapping[str, Any]],
    console: Console | None = None,
) -> None:
    """Print the summary to the terminal (stdout by default)."""
    (console or default_console).print(summary_renderable(title, summary, findings))


class _Null:
    def write(self, _text: str) -> int:
        return 0

    def flush(self) -> None:
        pass
