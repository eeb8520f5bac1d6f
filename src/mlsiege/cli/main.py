"""Entry point of the ``mlsiege`` command; sub-commands live one module per topic."""

from __future__ import annotations

import typer

from mlsiege.cli import (
    attack_cmd,
    campaign_cmd,
    demo_cmd,
    gateway_cmd,
    lifecycle_cmd,
    reco_cmd,
    scan_cmd,
    scenario_cmd,
    schema_cmd,
    target_cmd,
)

app = typer.Typer(
    help="mlsiege: red-team deployed ML systems across their lifecycle, with numbers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(schema_cmd.app, name="schema")
app.add_typer(target_cmd.app, name="target")
app.add_typer(attack_cmd.app, name="attack")
app.add_typer(scenario_cmd.app, name="scenario")
# further groups and commands (one line each):
app.add_typer(demo_cmd.app, name="demo")
app.add_typer(reco_cmd.app, name="reco")
app.command("serve")(gateway_cmd.serve)
app.add_typer(gateway_cmd.keys_app_group, name="gateway")
app.command("scan")(scan_cmd.scan)
app.command("report")(scan_cmd.report)
app.add_typer(campaign_cmd.app, name="campaign")
app.add_typer(lifecycle_cmd.app, name="lifecycle")


def _version(value: bool) -> None:
    if value:
        from mlsiege import __version__

        typer.echo(f"mlsiege {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """mlsiege: red-team deployed ML systems across their lifecycle, with numbers."""


def main() -> None:
    app()
