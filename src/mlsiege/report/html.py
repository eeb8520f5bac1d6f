"""A self-contained, single-file HTML report that reads offline.

Sections appear in the order they are added: key figures, tables, plotly figures, findings and
text. plotly.js is inlined once in the page (no CDN, no network), so ``report.html`` can be mailed
or archived as is. Needs the ``report`` extra (plotly).

Examples
--------
>>> import pandas as pd
>>> rep = HtmlReport("Scan of model.joblib", subtitle="budget 2000")
>>> rep.add_summary({"findings": 3, "highest severity": "high"})
>>> rep.add_table("Attacks", pd.DataFrame({"attack": ["a"], "success": [0.5]}))
>>> "Attacks" in rep.to_html(include_plotlyjs=False)
True
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from mlsiege import __version__
from mlsiege.errors import ConfigError
from mlsiege.extras import require
from mlsiege.report.findings import SEVERITIES, Finding, severity_rank

__all__ = ["HtmlReport", "SEVERITY_COLOURS"]

SEVERITY_COLOURS = {
    "info": "#5b6b7a",
    "low": "#2f7d32",
    "medium": "#b8860b",
    "high": "#d9480f",
    "critical": "#a61e4d",
}

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2733;background:#f6f7f9}
header{background:#1d2733;color:#fff;padding:18px 32px}header h1{margin:0;font-size:1.5em}
header p{margin:4px 0 0;color:#c9d1da}main{padding:8px 32px 32px;max-width:1200px}
section{background:#fff;border:1px solid #dde2e8;border-radius:6px;margin:16px 0;padding:12px 18px}
h2{font-size:1.15em;margin:4px 0 10px}table{border-collapse:collapse;font-size:.9em;width:100%}
th,td{border-bottom:1px solid #e5e8ec;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f0f2f5}.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{border:1px solid #dde2e8;border-radius:6px;padding:8px 14px;min-width:120px}
.card .v{font-size:1.3em;font-weight:600}.card .k{color:#5b6b7a;font-size:.85em}
.sev{color:#fff;border-radius:4px;padding:1px 7px;font-size:.85em;font-weight:600}
pre{background:#f0f2f5;padding:10px;overflow-x:auto;font-size:.85em}
footer{color:#5b6b7a;font-size:.8em;padding:0 32px 24px}
"""


@dataclass(frozen=True)
class _Section:
    kind: str
    title: str
    body: Any


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


class HtmlReport:
    """Collects sections, then writes one HTML file.

    Parameters
    ----------
    title
        Page title.
    subtitle
        A line under the title (target, data, budget...).
    """

    def __init__(self, title: str, subtitle: str = "") -> None:
        if not str(title).strip():
            raise ConfigError("an HTML report needs a title")
        self.title = str(title)
        self.subtitle = str(subtitle)
        self._sections: list[_Section] = []

    @property
    def n_figures(self) -> int:
        return sum(s.kind == "figure" for s in self._sections)

    def add_summary(self, mapping: Mapping[str, Any], title: str = "Summary") -> None:
        """Key figures as cards (``{"findings": 4, "evasion success": 0.92}``)."""
        self._sections.append(_Section("summary", title, dict(mapping)))

    def add_table(self, title: str, frame: pd.DataFrame, max_rows: int = 200) -> None:
        """A pandas DataFrame as a table (the first ``max_rows`` rows)."""
        if not isinstance(frame, pd.DataFrame):
            raise ConfigError(f"add_table needs a pandas DataFrame, got {type(frame).__name__}")
        self._sections.append(_Section("table", title, (frame.head(max_rows), len(frame))))

    def add_figure(self, title: str, figure: Any) -> None:
        """A plotly figure (a ``plotly.graph_objects.Figure`` or its dict form)."""
        go = require("plotly.graph_objects", "report", package="plotly")
        if isinstance(figure, Mapping):
            figure = go.Figure(figure)
        if not isinstance(figure, go.Figure):
            raise ConfigError(f"add_figure needs a plotly Figure, got {type(figure).__name__}")
        self._sections.append(_Section("figure", title, figure))

    def add_findings(self, findings: Iterable[Finding | Mapping[str, Any]], title: str = "Findings") -> None:
        """A findings table, most severe first (Finding objects or their dicts)."""
        rows = [f if isinstance(f, Finding) else Finding.from_dict(f) for f in findings]
        rows.sort(key=lambda f: -severity_rank(f.severity))
        self._sections.append(_Section("findings", title, rows))

    def add_text(self, title: str, text: str, preformatted: bool = False) -> None:
        """A paragraph (blank lines split paragraphs) or, with ``preformatted``, a code block."""
        self._sections.append(_Section("pre" if preformatted else "text", title, str(text)))

    # -- rendering -------------------------------------------------------------------------
    def _render(self, section: _Section, index: int) -> str:
        head = f"<h2>{_esc(section.title)}</h2>"
        if section.kind == "summary":
            cards = "".join(
                f'<div class="card"><div class="v">{_esc(_fmt(v))}</div><div class="k">{_esc(k)}</div></div>'
                for k, v in section.body.items()
            )
            return f'{head}<div class="cards">{cards}</div>'
        if section.kind == "table":
            frame, total = section.body
            note = f"<p>first {len(frame)} of {total} rows</p>" if total > len(frame) else ""
            table = frame.to_html(index=False, border=0, escape=True, float_format=lambda x: f"{x:.4g}")
            return head + table + note
        if section.kind == "figure":
            body = section.body.to_html(
                full_html=False, include_plotlyjs=False, div_id=f"mlsiege-fig-{index}",
                config={"displaylogo": False, "responsive": True},
            )
            return head + body
        if section.kind == "findings":
            return head + _findings_table(section.body)
        if section.kind == "pre":
            return f"{head}<pre>{_esc(section.body)}</pre>"
        paragraphs = "".join(f"<p>{_esc(p)}</p>" for p in section.body.split("\n\n") if p.strip())
        return head + paragraphs

    def to_html(self, *, include_plotlyjs: bool = True) -> str:
        """The whole page as a string (plotly.js inlined once when there are figures)."""
        script = ""
        if include_plotlyjs and self.n_figures:
            offline = require("plotly.offline", "report", package="plotly")
            script = f'<script type="text/javascript">{offline.get_plotlyjs()}</script>'
        body = "\n".join(
            f"<section>{self._render(s, i)}</section>" for i, s in enumerate(self._sections)
        )
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        return (
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            f"<title>{_esc(self.title)}</title><style>{_CSS}</style>{script}</head><body>"
            f"<header><h1>{_esc(self.title)}</h1><p>{_esc(self.subtitle)}</p></header>"
            f"<main>{body}</main><footer>generated by mlsiege {__version__} on {stamp}; "
            "self-contained, no network needed</footer></body></html>\n"
        )

    def write(self, path: str | Path) -> Path:
        """Write the page to ``path`` (parents created); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_html(), encoding="utf-8")
        return path


def _findings_table(findings: list[Finding]) -> str:
    if not findings:
        return "<p>No findings.</p>"
    rows = []
    for f in findings:
        colour = SEVERITY_COLOURS[f.severity]
        evidence = "<br>".join(f"{_esc(k)}: {_esc(_fmt(v))}" for k, v in f.evidence.items())
        mitigations = "<br>".join(f"{_esc(m)}: {_esc(c)}" for m, c in f.controls.items())
        rows.append(
            f'<tr><td><span class="sev" style="background:{colour}">{_esc(f.severity)}</span></td>'
            f"<td><b>{_esc(f.title)}</b><br><small>{_esc(f.rule)}</small></td>"
            f"<td>{evidence}</td><td>{_esc(', '.join(f.atlas_techniques))}</td>"
            f"<td>{mitigations}</td></tr>"
        )
    head = "<tr><th>severity</th><th>finding (rule)</th><th>evidence</th><th>ATLAS techniques</th><th>mitigations (mlsiege control)</th></tr>"
    counts = ", ".join(
        f"{sum(f.severity == s for f in findings)} {s}" for s in reversed(SEVERITIES)
        if any(f.severity == s for f in findings)
    )
    return f"<p>{_esc(counts)}</p><table>{head}{''.join(rows)}</table>"
