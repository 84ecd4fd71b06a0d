"""Operations: health check, logs naming the tenant, settings, schema = migrations."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from comptoir.core import config as settings
from comptoir.core.db import db

ROOT = Path(__file__).resolve().parent.parent


def test_healthz_reports_database_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_unreachable_database(app_factory, tmp_path):
    app = app_factory(DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "failing", "database": "unreachable"}


@pytest.fixture
def log_stream():
    handler = next(h for h in logging.getLogger("comptoir").handlers if getattr(h, "comptoir", 0))
    stream = io.StringIO()
    old = handler.setStream(stream)
    yield handler, stream
    handler.setStream(old)


def test_every_log_line_names_the_tenant(app, client, make_tenant, log_stream):
    make_tenant("fr")

    @app.get("/s-test/log")  # a view that logs, reached under a tenant's prefix
    def logs() -> str:
        logging.getLogger("comptoir.test").warning("hello from a view")
        return "ok"

    client.get("/s/fr/s-test/log")
    client.get("/s-test/log")
    lines = log_stream[1].getvalue().splitlines()
    assert "[fr] comptoir.test: hello from a view" in lines[0]
    assert "[-] comptoir.test: hello from a view" in lines[1]


def test_json_log_format(app_factory, make_tenant, log_stream):
    from pythonjsonlogger.json import JsonFormatter

    from comptoir.core.logging import JSON_FIELDS

    handler, stream = log_stream
    previous = handler.formatter
    handler.setFormatter(JsonFormatter(JSON_FIELDS))
    try:
        app = app_factory()
        make_tenant("de", country="DE", locale="de_DE")

        @app.get("/s-test/log")
        def logs() -> str:
            logging.getLogger("comptoir.test").info("bonjour")
            return "ok"

        app.test_client().get("/s/de/s-test/log")
    finally:
        handler.setFormatter(previous)
    record = json.loads(stream.getvalue().splitlines()[-1])
    assert (record["tenant"], record["message"], record["levelname"]) == ("de", "bonjour", "INFO")


def test_settings_come_from_environment_with_defaults():
    values = settings.from_environment({"COMPTOIR_PLATFORM_DOMAIN": "shop.example",
                                        "COMPTOIR_TENANT_CACHE_SIZE": "50",
                                        "COMPTOIR_DISABLE_ENTRY_POINTS": "yes"})
    assert values["PLATFORM_DOMAIN"] == "shop.example"
    assert values["TENANT_CACHE_SIZE"] == 50
    assert values["DISABLE_ENTRY_POINTS"] is True
    assert values["LOG_FORMAT"] == "text"  # the documented default


def test_bad_setting_names_the_variable():
    with pytest.raises(ValueError, match="COMPTOIR_TENANT_CACHE_SIZE must be a whole number"):
        settings.from_environment({"COMPTOIR_TENANT_CACHE_SIZE": "lots"})


def test_postgresql_urls_use_psycopg3():
    assert settings.normalise_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert settings.normalise_database_url("sqlite:///x") == "sqlite:///x"


def test_readme_documents_every_setting():
    readme = (ROOT / "README.md").read_text()
    missing = [s.name for s in settings.SETTINGS if f"`COMPTOIR_{s.name}`" not in readme]
    assert missing == []


def test_migrations_match_the_models(app):
    """The schema comes from migrations; a model changed without one fails here."""
    def core_only(obj, name, type_, reflected, compare_to):  # noqa: ANN001
        # The test suite's own fixture plugins bring tables the core's migrations do not.
        return not (type_ == "table" and name.startswith("notes_"))

    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": core_only})
        diff = compare_metadata(context, db.metadata)
    assert diff == []
