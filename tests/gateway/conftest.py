"""The gateway's database backends: SQLite always, PostgreSQL when a server is given.

``MLSIEGE_TEST_POSTGRES_URL`` names a PostgreSQL database (``.ci/run`` starts a server and sets
it). Each test gets a fresh database created on that server. Without the variable the PostgreSQL
cases are skipped with the reason, except under ``CI=true``, where a missing server fails them.
"""

from __future__ import annotations

import os
import uuid

import pytest

PG_ENV = "MLSIEGE_TEST_POSTGRES_URL"


def _fresh_postgres(base: str):
    """Create a database of its own on the server of ``base``; yield its URL; drop it."""
    psycopg = pytest.importorskip("psycopg")
    plain = base.replace("postgresql+psycopg://", "postgresql://", 1)
    name = f"mlsiege_t_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(plain, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        pytest.fail(f"PostgreSQL at {PG_ENV} is not usable: {str(exc).splitlines()[0]}")
    head, _, _ = plain.rpartition("/")
    try:
        yield f"postgresql+psycopg://{head.split('://', 1)[1]}/{name}"
    finally:
        with psycopg.connect(plain, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def audit_url(request, tmp_path):
    """A fresh gateway database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'audit.db'}"
        return
    base = os.environ.get(PG_ENV)
    if not base:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {PG_ENV} is not set: .ci/run must start PostgreSQL")
        pytest.skip(f"no PostgreSQL server: set {PG_ENV}=postgresql://user@host:port/db to run these")
    yield from _fresh_postgres(base)
