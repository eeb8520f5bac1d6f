"""Files of a per-row run that survive an interruption: rows written as they finish, resumable.

A run directory holds ``run.json`` (the options that define the run), ``points.csv`` (one line per
finished row, appended and flushed as each finishes) and ``adversarial.csv`` (the decoded row of
each success, appended likewise). ``--resume`` reads them back, refuses when an option that defines
the run changed, and attacks only the rows not yet in ``points.csv``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlsiege.errors import ConfigError
from mlsiege.schema import Schema

__all__ = ["RunFiles"]


class RunFiles:
    """``run.json``, ``points.csv`` and ``adversarial.csv`` of one run directory."""

    def __init__(self, out: Path, columns: list[str], schema: Schema, X: np.ndarray) -> None:
        self.out = Path(out)
        self.columns = columns
        self.schema, self.X = schema, X
        self.points = self.out / "points.csv"
        self.adversarial = self.out / "adversarial.csv"
        self.run = self.out / "run.json"

    def start(self, options: Mapping[str, Any], resume: bool) -> set[int]:
        """Begin (or resume) the run; returns the point ids already finished."""
        self.out.mkdir(parents=True, exist_ok=True)
        if not resume:
            for path in (self.points, self.adversarial, self.out / "summary.json"):
                path.unlink(missing_ok=True)
            self.run.write_text(json.dumps(dict(options), indent=2, default=str))
            return set()
        if not self.run.exists():
            raise ConfigError(f"--resume: {self.out} holds no earlier run (no run.json); run without --resume")
        before = json.loads(self.run.read_text())
        changed = [k for k in options if json.loads(json.dumps(options[k], default=str)) != before.get(k)]
        if changed:
            k = changed[0]
            raise ConfigError(f"--resume: the earlier run in {self.out} used {k}={before.get(k)!r}, not {options[k]!r}; "
                              "rerun with the same options, or without --resume to start over")
        return set(self.finished()["point"].astype(int).tolist()) if self.points.exists() else set()

    def finished(self) -> pd.DataFrame:
        """Every finished row so far (an empty table with the columns when none)."""
        if not self.points.exists() or self.points.stat().st_size == 0:
            return pd.DataFrame(columns=self.columns)
        table = pd.read_csv(self.points)
        return table.drop_duplicates("point", keep="last").sort_values("point").reset_index(drop=True)

    def append(self, record: Mapping[str, Any]) -> None:
        """Write one finished row (and its adversarial row on success), flushed at once."""
        self._line(self.points, self.columns, [_cell(record.get(c)) for c in self.columns])
        adv = np.asarray(record.get("adversarial", []), dtype=float)
        if record.get("success") and adv.size and np.all(np.isfinite(adv)):
            decoded = self.schema.decode(adv[None, :])
            self._line(self.adversarial, ["point", *decoded.columns],
                       [int(record["point"]), *[_cell(v) for v in decoded.iloc[0].tolist()]])

    @staticmethod
    def _line(path: Path, header: list[str], values: list[Any]) -> None:
        new = not path.exists() or path.stat().st_size == 0
        # one write per line, flushed: an interruption leaves whole lines only
        buf = io.StringIO()
        writer = csv.writer(buf)
        if new:
            writer.writerow(header)
        writer.writerow(values)
        with path.open("a", newline="") as fh:
            fh.write(buf.getvalue())
            fh.flush()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return ""
    return value
