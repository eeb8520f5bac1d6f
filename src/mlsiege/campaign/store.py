"""Results streamed to disk, one JSON record per line, so a campaign resumes after a stop."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["ResultStore"]


class ResultStore:
    """Append-only JSONL file of task records keyed by ``record["key"]``.

    A line cut short by an interruption is ignored on reading (its task simply runs again).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def records(self) -> Iterator[dict[str, Any]]:
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as fh:
            for line in fh:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a torn last line from an interrupted run
                if isinstance(record, dict) and "key" in record:
                    yield record

    def done(self) -> set[str]:
        """Keys of tasks already finished."""
        return {r["key"] for r in self.records()}

    def append(self, record: dict[str, Any]) -> None:
        """Write one record and flush it to disk before returning."""
        line = json.dumps(record, allow_nan=False) + "\n"
        if self.path.exists() and self.path.stat().st_size:
            with self.path.open("rb") as fh:  # never glue a record onto a torn line
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    line = "\n" + line
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
