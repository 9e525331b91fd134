"""PostgreSQL for the tests: the server named by IGTOKEN_TEST_DATABASE_URL, a fresh database per use."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from igtoken.vault.engine import normalize_url

PG_URL = os.environ.get("IGTOKEN_TEST_DATABASE_URL")
PG_SKIP = "IGTOKEN_TEST_DATABASE_URL is not set; PostgreSQL tests run where it is (CI sets it)"


@contextmanager
def fresh_pg_database() -> Iterator[str]:
    """A brand-new, randomly named PostgreSQL database, dropped afterwards (parallel runs never meet)."""
    if not PG_URL:
        pytest.skip(PG_SKIP)
    base = normalize_url(PG_URL)
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    name = f"igtoken_test_{secrets.token_hex(6)}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
