"""Reading user files for the CLI with errors that name the file.

Tables go through :func:`mlsiege.datasets.tables.read_table` (the one table reader); schemas
through :func:`mlsiege.schema.read_schema`.
"""

from __future__ import annotations

from mlsiege.datasets.tables import read_table
from mlsiege.schema.schema import read_schema

__all__ = ["read_table", "read_schema"]
