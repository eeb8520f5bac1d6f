"""The one reader of a user's tabular files (CSV or Parquet), with one error behaviour.

Every command and component that reads rows of tabular data from a file calls :func:`read_table`,
so a missing, unreadable, garbled or empty file always gives the same one-line
:class:`~mlsiege.errors.DataValidationError` naming the file and the problem (the CLI prints it
and exits with code 2). The format follows the file's suffix: ``.parquet``/``.pq`` is Parquet,
anything else is read as CSV with a header row.

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "rows.csv").write_text("a,b\\n1,2\\n3,4\\n")
>>> read_table(folder / "rows.csv").shape
(2, 2)
>>> read_table(folder / "missing.csv")
Traceback (most recent call last):
...
mlsiege.errors.DataValidationError: data file not found: .../missing.csv
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mlsiege.errors import DataValidationError

if TYPE_CHECKING:  # pandas is imported when a file is read, not when this module is
    import pandas as pd

__all__ = ["PARQUET_SUFFIXES", "read_table"]

PARQUET_SUFFIXES = (".parquet", ".pq")


def read_table(
    path: str | Path, *, columns: Sequence[str] | None = None, allow_empty: bool = False, what: str = "data file",
) -> pd.DataFrame:
    """Read a CSV or Parquet file into a DataFrame.

    Parameters
    ----------
    path : str or Path
        The file; ``.parquet``/``.pq`` files are read as Parquet, others as CSV with a header.
    columns : sequence of str, optional
        Columns the file must hold; a missing one is named in the error.
    allow_empty : bool
        Accept a file with a header and no rows (default: that is an error).
    what : str
        How the error messages name the file (``"data file"``, ``"pool file"``...).

    Raises
    ------
    DataValidationError
        One line naming the file and the problem: not found, not a file, unreadable, not
        parseable, no rows, missing columns.
    """
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise DataValidationError(f"{what} not found: {path}")
    if not path.is_file():
        raise DataValidationError(f"{what} {path} is not a file")
    try:
        if path.suffix.lower() in PARQUET_SUFFIXES:
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path)
    except ImportError as exc:  # pandas found no Parquet engine
        raise DataValidationError(f"cannot read {path}: reading Parquet needs pyarrow (pip install pyarrow)") from exc
    except pd.errors.EmptyDataError as exc:
        raise DataValidationError(f"{path} is empty (no header, no rows)") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataValidationError(f"cannot parse {path}: {first}") from exc
    if frame.empty and not allow_empty:
        raise DataValidationError(f"{path} holds no rows")
    missing = [c for c in (columns or ()) if c not in frame.columns]
    if missing:
        shown = ", ".join(map(str, list(frame.columns)[:8]))
        raise DataValidationError(f"{path} lacks the columns {missing[:5]} (it has: {shown})", columns=missing)
    return frame
