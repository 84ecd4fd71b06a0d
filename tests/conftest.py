"""Fixtures: a migrated database per run, a fresh app per test, tenants on demand.

SQLite always; PostgreSQL when ``COMPTOIR_TEST_DATABASE_URL`` names a database the tests may
own (CI creates a fresh one). On PostgreSQL the schema is migrated as that URL's user (the
owner) and the app under test connects as ``comptoir_test_app``, a role that owns nothing and
cannot bypass row-level security, exactly as production should.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from comptoir import create_app
from comptoir.core.config import normalise_database_url
from comptoir.core.db import db
from comptoir.core.scoping import tenant_context
from comptoir.tenants import service
from comptoir.tenants.models import Tenant

#: Fixtures of real servers the tests start: ``localstripe`` (payments).
pytest_plugins = ["tests.localstripe"]

PG_URL = os.environ.get("COMPTOIR_TEST_DATABASE_URL")
# A developer's own COMPTOIR_* settings (a PLATFORM_DOMAIN, a DATABASE_URL...) must not leak
# into the tests; each test states the settings it needs.
for _name in [n for n in os.environ
              if n.startswith("COMPTOIR_") and not n.startswith("COMPTOIR_TEST_")]:
    del os.environ[_name]
APP_ROLE = "comptoir_test_app"

requires_postgresql = pytest.mark.skipif(
    PG_URL is None,
    reason="needs PostgreSQL (row-level security, concurrent writers); script/test runs it "
    "when COMPTOIR_TEST_DATABASE_URL is set, as CI does",
)


@dataclass(frozen=True)
class TestDatabase:
    __test__ = False

    dialect: str
    owner_url: str
    app_url: str  # what the app under test connects with
    template: Path | None = None  # SQLite: a migrated file copied for each test

    @property
    def is_postgresql(self) -> bool:
        return self.dialect == "postgresql"


def _migrate(url: str, instance: Path) -> None:
    app = create_app({"DATABASE_URL": url, "TESTING": True, "INSTANCE_PATH": str(instance),
                      "JOBS_URL": "immediate"})
    with app.app_context():
        upgrade(revision="heads")
        if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
            from comptoir.core.pgroles import ensure_app_role

            ensure_app_role(db.engine, APP_ROLE)
        db.engine.dispose()


@pytest.fixture(scope="session")
def database(tmp_path_factory: pytest.TempPathFactory) -> TestDatabase:
    instance = tmp_path_factory.mktemp("migrate-instance")
    if PG_URL:
        owner = normalise_database_url(PG_URL)
        _migrate(owner, instance)
        app_url = make_url(owner).set(username=APP_ROLE, password=None)
        return TestDatabase(
            "postgresql", owner, app_url.render_as_string(hide_password=False)
        )
    template = tmp_path_factory.mktemp("db") / "template.sqlite3"
    url = f"sqlite:///{template}"
    _migrate(url, instance)
    return TestDatabase("sqlite", url, url, template)


def _empty_postgresql(owner_url: str) -> None:
    engine = create_engine(owner_url)
    with engine.begin() as conn:
        tables = conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename NOT IN ('alembic_version', 'platform_state')"
        )).scalars().all()
        if tables:
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def app_factory(database: TestDatabase, tmp_path: Path) -> Iterator[Any]:
    """Build apps on this test's database (several apps = several processes' view)."""
    if database.template is not None:
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(database.template, path)
        url = f"sqlite:///{path}"
    else:
        url = database.app_url
    built: list[Flask] = []

    def build(**config: Any) -> Flask:
        settings = {
            "DATABASE_URL": url,
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "WTF_CSRF_ENABLED": False,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            # Jobs enqueued by the code under test run at once, in the test's process;
            # tests of the queue itself ask for another JOBS_URL.
            "JOBS_URL": "immediate",
            **config,
        }
        app = create_app(settings)
        built.append(app)
        return app

    yield build
    for app in built:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    if database.is_postgresql:
        _empty_postgresql(database.owner_url)


@pytest.fixture
def app(app_factory: Any) -> Flask:
    return app_factory()


@pytest.fixture
def client(app: Flask) -> Any:
    return app.test_client()


@pytest.fixture
def make_tenant(app: Flask) -> Any:
    """Create a tenant through the same service the CLI uses; returns its slug and id."""

    def make(slug: str, **fields: Any) -> Tenant:
        kind = fields.pop("kind", "reseller" if fields.get("parent") else "office")
        if kind == "office":
            fields.setdefault("country", "FR")
            fields.setdefault("locale", "fr_FR")
            fields.setdefault("currency", "EUR")
        plugins = fields.pop("plugins", ())
        with app.app_context():
            tenant = service.create_tenant(
                service.TenantSpec(slug=slug, name=fields.pop("name", slug.title()), kind=kind,
                                   **fields)
            )
            for plugin in plugins:
                service.set_plugin_enabled(tenant, plugin, True)
            db.session.commit()
            db.session.refresh(tenant)
            db.session.expunge(tenant)
            return tenant

    return make


@contextmanager
def as_tenant(app: Flask, tenant: Tenant | int) -> Iterator[None]:
    """Run a block in an app context as ``tenant``, as a CLI command or job would."""
    if isinstance(tenant, int):
        tenant_id, office_id = tenant, None
    else:
        tenant_id, office_id = tenant.id, tenant.parent_id
    with app.app_context(), tenant_context(db.session, tenant_id, office_id):
        yield


@pytest.fixture
def tenant_scope(app: Flask) -> Any:
    return lambda tenant: as_tenant(app, tenant)


def translated(app: Flask, locale: str, msgid: str, /, **params: Any) -> str:
    """``msgid`` as a page in ``locale`` shows it, HTML-escaped, from the compiled catalogues.

    Tests compare pages with the catalogue rather than with hand-typed French or German: a
    message that is missing, or not translated, still fails them.
    """
    from flask_babel import force_locale, gettext
    from markupsafe import escape

    with app.test_request_context(), force_locale(locale):
        return str(escape(gettext(msgid, **params)))
