"""Migrations go up, down and up again on both databases, and match the models exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from igtoken.core.exceptions import StorageError
from igtoken.vault import Vault, downgrade, upgrade
from igtoken.vault.engine import create_vault_engine
from igtoken.vault.migrate import current_revision, ensure_current, head_revision
from igtoken.vault.models import Base

from .conftest import BACKENDS, fresh_database, make_keyring


def _tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_up_down_up(backend: str, tmp_path: Path) -> None:
    """upgrade creates every table, downgrade removes them all, upgrade works again."""
    with fresh_database(backend, tmp_path) as url:
        engine = create_vault_engine(url)
        try:
            assert current_revision(engine) is None
            upgrade(engine)
            assert _tables(engine) == set(Base.metadata.tables)
            assert current_revision(engine) == head_revision()
            downgrade(engine)
            assert _tables(engine) == set()
            assert current_revision(engine) is None
            upgrade(engine)
            assert _tables(engine) == set(Base.metadata.tables)
            ensure_current(engine)
        finally:
            engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_models_match_migrations(backend: str, tmp_path: Path) -> None:
    """Autogenerate finds nothing to change between the migrated schema and the models."""
    with fresh_database(backend, tmp_path) as url:
        engine = create_vault_engine(url)
        try:
            upgrade(engine)
            with engine.connect() as conn:
                ctx = MigrationContext.configure(conn, opts={"compare_type": True})
                diff = compare_metadata(ctx, Base.metadata)
            assert diff == []
            indexes = {i["name"]: i for i in sa.inspect(engine).get_indexes("tokens")}
            assert indexes["uq_tokens_current"]["unique"]
        finally:
            engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_configured_database_must_be_upgraded(backend: str, tmp_path: Path) -> None:
    """Opening a configured database that was never migrated says to run `igtoken db upgrade`."""
    with fresh_database(backend, tmp_path) as url:
        with pytest.raises(StorageError, match="igtoken db upgrade"):
            Vault.open(url, make_keyring())
        vault = Vault.open(url, make_keyring(), auto_upgrade=True)
        vault.close()
        Vault.open(url, make_keyring()).close()
