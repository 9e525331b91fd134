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


@pytest.mark.parametrize("backend", BACKENDS)
def test_0008_drops_the_events_at_index_and_keeps_the_events(backend: str, tmp_path: Path) -> None:
    """0008 drops ix_events_at (each token read paid for it) and down again recreates it; rows stay."""
    with fresh_database(backend, tmp_path) as url:
        engine = create_vault_engine(url)
        try:
            upgrade(engine, "0007")
            assert "ix_events_at" in {i["name"] for i in sa.inspect(engine).get_indexes("events")}
            with engine.begin() as conn:
                conn.execute(
                    sa.text("INSERT INTO events (at, type, data) VALUES (:at, 'token_read', :data)"),
                    {"at": "2026-12-01 10:00:00.000000", "data": "{}"},
                )
            upgrade(engine, "0008")
            names = {i["name"] for i in sa.inspect(engine).get_indexes("events")}
            assert names == {"ix_events_account_id_id", "ix_events_type_id"}
            downgrade(engine, "0007")
            assert "ix_events_at" in {i["name"] for i in sa.inspect(engine).get_indexes("events")}
            upgrade(engine)
            with engine.connect() as conn:
                assert conn.execute(sa.text("SELECT count(*) FROM events")).scalar() == 1
        finally:
            engine.dispose()


def test_events_since_with_a_type_is_served_by_the_type_index(tmp_path: Path) -> None:
    """The one query filtering on ``at`` (the permission audit) names a type: ix_events_type_id serves it."""
    from datetime import UTC, datetime

    from igtoken.vault.models import Event

    url = f"sqlite:///{tmp_path / 'vault.db'}"
    upgrade(url)
    engine = create_vault_engine(url)
    try:
        stmt = (
            sa.select(Event)
            .where(Event.type.in_(["permissions_unused"]), Event.at >= datetime(2026, 1, 1, tzinfo=UTC))
            .order_by(Event.id)
            .limit(1000)
        )
        compiled = stmt.compile(engine, compile_kwargs={"literal_binds": True})
        with engine.connect() as conn:
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
        assert "ix_events_type_id" in plan, plan
    finally:
        engine.dispose()
