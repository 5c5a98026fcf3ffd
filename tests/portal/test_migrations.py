"""Alembic migrations: one head, in step with the models, reversible; SQLite and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import Flask

from portal import create_app, migrate
from portal.models import Base


def test_single_head() -> None:
    heads = ScriptDirectory.from_config(migrate.alembic_config()).get_heads()
    assert len(heads) == 1, heads


def test_models_and_migrations_agree(app: Flask) -> None:
    migrate.check(app)  # raises when autogenerate would produce a migration


@pytest.fixture
def scratch_app(
    tmp_path: Path, base_settings: dict[str, object], instance_dir: Path
) -> Iterator[Flask]:
    """An app on a database of its own, so migrating down does not disturb other tests."""
    url = os.environ.get("PORTAL_TEST_DATABASE_URL")
    schema = "migration_cycle"
    if url:
        engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        engine.dispose()
        sep = "&" if "?" in url else "?"
        scratch_url = f"{url}{sep}options=-csearch_path%3D{schema}"
    else:
        scratch_url = f"sqlite:///{tmp_path / 'cycle.db'}"
    app = create_app({**base_settings, "database_url": scratch_url}, instance_path=instance_dir)
    yield app
    from portal.extensions import db

    with app.app_context():
        db.engine.dispose()
    if url:
        engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        engine.dispose()


def test_upgrade_downgrade_upgrade(scratch_app: Flask) -> None:
    from portal.extensions import db

    migrate.upgrade(scratch_app)
    with scratch_app.app_context():
        tables = set(sa.inspect(db.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    migrate.downgrade(scratch_app, "base")
    with scratch_app.app_context():
        assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(scratch_app)
    migrate.upgrade(scratch_app)  # running it again changes nothing
    with scratch_app.app_context():
        assert set(Base.metadata.tables) <= set(sa.inspect(db.engine).get_table_names())


def test_members_disabled_before_disabled_at_count_from_the_upgrade(scratch_app: Flask) -> None:
    """The retention of a disabled member's secrets runs from ``disabled_at``: members
    disabled before that column existed get the moment of the upgrade, active ones none."""
    from portal.extensions import db

    migrate.upgrade(scratch_app, "5b8e2f0c9a41")
    with scratch_app.app_context(), db.engine.begin() as conn:
        for email, active in (("weg@firm.example", False), ("er@firm.example", True)):
            conn.execute(
                sa.text(
                    "INSERT INTO staff_members (email, display_name, role, password_hash,"
                    " must_change_password, failed_attempts, active, created_at)"
                    " VALUES (:email, 'X', 'agent', 'h', false, 0, :active, CURRENT_TIMESTAMP)"
                ),
                {"email": email, "active": active},
            )
    migrate.upgrade(scratch_app)
    with scratch_app.app_context(), db.engine.connect() as conn:
        rows = dict(conn.execute(sa.text("SELECT email, disabled_at FROM staff_members")).all())
    assert rows["weg@firm.example"] is not None
    assert rows["er@firm.example"] is None
