"""Alembic environment: the portal's own database settings and models."""

from __future__ import annotations

from alembic import context
from flask import has_app_context

from portal.models import Base


def _engine():  # type: ignore[no-untyped-def]
    if has_app_context():
        from portal.extensions import db

        return db.engine
    from portal import create_app  # running `alembic` directly

    app = create_app()
    with app.app_context():
        from portal.extensions import db

        return db.engine


def run_migrations_online() -> None:
    engine = _engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            # SQLite cannot ALTER most things; batch mode rebuilds tables instead.
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run against a database")
run_migrations_online()
