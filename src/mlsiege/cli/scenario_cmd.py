"""``mlsiege scenario run NAME``: the flagship scenarios, one module each, registered here."""

from __future__ import annotations

import typer

from mlsiege.cli import feed_cmd, registration_cmd

app = typer.Typer(help="Run a flagship scenario end to end.", no_args_is_help=True)
run_app = typer.Typer(help="Run a scenario by name.", no_args_is_help=True)
app.add_typer(run_app, name="run")
# registrations (one line per scenario), e.g. run_app.command("feed-injection")(feed_cmd.feed_injection):
run_app.command("feed-injection")(feed_cmd.feed_injection)
run_app.command("registration-botnet")(registration_cmd.registration_botnet)
