"""``mlsiege attack``: run one attack family against a target and write its results.

Each family's command lives in its own module and is registered here.
"""

from __future__ import annotations

import typer

from mlsiege.cli import evasion_cmd, extract_cmd

app = typer.Typer(help="Run one attack against a target and write its results.", no_args_is_help=True)
# registrations (one line per family):
app.command("evasion")(evasion_cmd.evasion)
app.command("extract")(extract_cmd.extract)
