"""Fixtures shared by the whole suite.

One environment variable, ``PORTAL_TEST_DATABASE_URL``, points the suite at a real PostgreSQL
database; without it every run uses a fresh SQLite file. The schema is built once per session
by running the Alembic migrations (so they are tested too) and every table is emptied after each
test, which also works for tests whose server runs in another thread or process.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from portal import PROJECT_ROOT, create_app
from portal.i18n import compile_catalogues
from simulators import SimulatorGroup, start_all

TEST_DB_ENV = "PORTAL_TEST_DATABASE_URL"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The database the suite runs against, with an empty schema."""
    url = os.environ.get(TEST_DB_ENV)
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An instance folder with the demo firm's policy and demo files."""
    path = tmp_path_factory.mktemp("instance")
    shutil.copyfile(PROJECT_ROOT / "instance" / "policy.example.toml", path / "policy.toml")
    demo = PROJECT_ROOT / "instance" / "demo"
    if demo.is_dir():
        shutil.copytree(demo, path / "demo")
    return path


@pytest.fixture(scope="session")
def base_settings(database_url: str) -> dict[str, object]:
    """Settings every test app starts from."""
    return {
        "environment": "test",
        "database_url": database_url,
        "secret_key": secrets.token_urlsafe(48),
        "secure_cookies": False,
    }


@pytest.fixture(scope="session")
def _migrated(base_settings: dict[str, object], instance_dir: Path) -> None:
    """Compile catalogues and build the schema once, through the migrations."""
    from portal import migrate
    from portal.extensions import db

    compile_catalogues()
    app = create_app(dict(base_settings), instance_path=instance_dir)
    migrate.upgrade(app)
    with app.app_context():
        db.engine.dispose()  # no pooled connection may outlive this app


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    """Override in a test module to change settings for its app."""
    return {}


@pytest.fixture
def app(
    _migrated: None,
    base_settings: dict[str, object],
    settings_overrides: dict[str, object],
    instance_dir: Path,
) -> Iterator[Flask]:
    """A fresh application on the migrated database; every table is emptied afterwards."""
    app = create_app({**base_settings, **settings_overrides}, instance_path=instance_dir)
    yield app
    _empty_tables(app)


@pytest.fixture
def make_app() -> Iterator[Callable[..., Flask]]:
    """Build further applications (other settings, same database) inside a test.

    Their connection pools are closed when the test ends: a pooled connection left to the
    garbage collector is a ResourceWarning, which fails the run on PostgreSQL.
    """
    from portal.extensions import db

    made: list[Flask] = []

    def make(settings: dict[str, object], instance_path: Path) -> Flask:
        made.append(create_app(settings, instance_path=instance_path))
        return made[-1]

    yield make
    for other in made:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def _empty_tables(app: Flask) -> None:
    from portal.extensions import db
    from portal.models import Base

    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
        db.engine.dispose()


#: The demo policy's sources and the vendor simulator each one is pointed at.
SIMULATED_SOURCES = {
    "webshop": "woocommerce",
    "invoicing": "moneybird",
    "helpdesk": "zammad",
    "customer-service": "freshdesk",
    "payments": "mollie",
}


@pytest.fixture(scope="module")
def simulators() -> Iterator[SimulatorGroup]:
    """All five vendor simulators, on real HTTP ports, for the tests of one module."""
    group = start_all()
    yield group
    group.stop()


@pytest.fixture
def simulated_connectors(simulators: SimulatorGroup) -> Iterator[dict[str, dict[str, object]]]:
    """The ``connectors`` setting that points every source of the demo policy at its
    simulator. Faults a test switched on are switched off afterwards."""
    connectors: dict[str, dict[str, object]] = {}
    for key, vendor in SIMULATED_SOURCES.items():
        handle = simulators[vendor]
        section: dict[str, object] = {"base_url": handle.base_url, **handle.credentials}
        section.pop("username", None)  # Zammad's simulator also offers Basic auth
        section.pop("password", None)
        connectors[key] = section
    yield connectors
    for vendor in SIMULATED_SOURCES.values():
        simulators[vendor].clear_fault()
