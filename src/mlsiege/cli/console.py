"""Shared terminal output and error handling for the CLI (the only place that prints)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

from mlsiege.errors import MlsiegeError

__all__ = ["console", "err_console", "fail", "progress_bar", "single_threaded", "user_errors"]

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


def progress_bar(quiet: bool = False):
    """A rich progress bar on stderr (rows done / total, elapsed, time left); silent when ``quiet``."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TimeRemainingColumn(), console=err_console, transient=False, disable=quiet)


def single_threaded():
    """Run a per-row attack with one native thread per library (OpenMP, BLAS).

    An attack asks the model about a few rows at a time; a tree ensemble's parallel predict
    (scikit-learn's HistGradientBoosting, LightGBM, XGBoost: OpenMP) then spends more on waking its
    threads than on the rows, and on a busy machine far more: a 2-row HopSkipJump run on a
    HistGradientBoosting pipeline took 270 s with the default threads against 34 s with one
    (2 cores, load ~18). threadpoolctl ships with scikit-learn.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)
