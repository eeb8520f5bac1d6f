"""``report.json``: a versioned, documented JSON layout every mlsiege report shares.

The top level always holds ``schema_version``, ``generator`` (``mlsiege X.Y.Z``), ``kind``
(``scan``, ``campaign``, ``registration-botnet``...) and ``created`` (UTC, ISO 8601); the rest is
the payload of that kind. See docs/reports.md for the layout of each kind's payload.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlsiege import __version__
from mlsiege.errors import ConfigError, DataValidationError

__all__ = ["RESERVED_KEYS", "SCHEMA_VERSION", "read_json", "write_json"]

#: bumped when a key is renamed or removed (adding keys keeps the version)
SCHEMA_VERSION = "1.0"
RESERVED_KEYS = ("schema_version", "generator", "kind", "created")


def write_json(
    path: str | Path, payload: Mapping[str, Any], kind: str = "scan", *, created: str | None = None
) -> Path:
    """Write ``payload`` with the header keys to ``path`` (atomically); returns the path.

    Findings, results and numpy values inside ``payload`` are converted to JSON (``NaN`` becomes
    ``null``). ``created`` overrides the timestamp (for reproducible files in tests).
    """
    if not kind or not isinstance(kind, str):
        raise ConfigError(f"kind must be a non-empty string, got {kind!r}")
    clash = set(RESERVED_KEYS) & set(payload)
    if clash:
        raise ConfigError(f"payload may not set the header keys {sorted(clash)}")
    from mlsiege.results import to_jsonable  # numpy: imported when a report is written

    document = {
        "schema_version": SCHEMA_VERSION,
        "generator": f"mlsiege {__version__}",
        "kind": kind,
        "created": created or datetime.now(UTC).isoformat(timespec="seconds"),
        **to_jsonable(dict(payload)),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_json(path: str | Path, kind: str | None = None) -> dict[str, Any]:
    """Read a report written by :func:`write_json`; checks the header (and ``kind`` if given)."""
    path = Path(path)
    if path.is_dir():
        path = path / "report.json"
    if not path.exists():
        raise DataValidationError(f"report file not found: {path}")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataValidationError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(document, dict) or "schema_version" not in document:
        raise DataValidationError(f"{path} is not an mlsiege report (no schema_version)")
    major = str(document["schema_version"]).split(".")[0]
    if major != SCHEMA_VERSION.split(".")[0]:
        raise DataValidationError(
            f"{path} has report schema {document['schema_version']}, this mlsiege reads {SCHEMA_VERSION}"
        )
    if kind is not None and document.get("kind") != kind:
        raise DataValidationError(f"{path} is a {document.get('kind')!r} report, expected {kind!r}")
    return document
