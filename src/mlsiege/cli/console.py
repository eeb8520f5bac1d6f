"""Shared terminal output and error handling for the CLI (the only place that prints)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

from mlsiege.errors import MlsiegeError

__all__ = ["console", "err_console", "fail", "user_errors"]

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

#: exit codes: 0 ok, 1 a check failed (invalid rows, findings at --fail-on), 2 bad input/usage
EXIT_FINDINGS = 1
EXIT_BAD_INPUT = 2


def fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    """Print one line to stderr and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn mlsiege errors and unreadable files into one-line messages, never a traceback."""
    try:
        yield
    except MlsiegeError as exc:
        raise fail(str(exc)) from None
    except FileNotFoundError as exc:
        raise fail(f"file not found: {exc.filename or exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read input: {exc}") from None
