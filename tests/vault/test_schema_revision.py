"""The cheap schema-revision check that lets a current vault open without loading Alembic."""

from __future__ import annotations

from pathlib import Path

import pytest

from igtoken.vault import downgrade, upgrade
from igtoken.vault.engine import create_vault_engine
from igtoken.vault.migrate import HEAD_REVISION, head_revision, is_at_head

from .conftest import BACKENDS, fresh_database


def test_head_revision_constant_matches_the_scripts() -> None:
    """HEAD_REVISION is the head Alembic computes from the packaged scripts (bump it with each migration)."""
    assert head_revision() == HEAD_REVISION


@pytest.mark.parametrize("backend", BACKENDS)
def test_is_at_head_follows_the_schema(backend: str, tmp_path: Path) -> None:
    """is_at_head says False before migrating and after a downgrade, True only at the head revision."""
    with fresh_database(backend, tmp_path) as url:
        engine = create_vault_engine(url)
        try:
            assert not is_at_head(engine)
            upgrade(engine)
            assert is_at_head(engine)
            downgrade(engine)
            assert not is_at_head(engine)
        finally:
            engine.dispose()
