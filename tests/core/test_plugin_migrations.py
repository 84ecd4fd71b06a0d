"""A plugin ships its own Alembic branch; `comptoir db upgrade` applies it with the core's."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select, text

from comptoir.core.db import db
from tests.conftest import as_tenant

NOTES = "tests.fixtures.notes_plugin"


@pytest.fixture
def migrated(app_factory, database):
    """The notes branch applied as the table owner; removed again afterwards."""
    owner = app_factory(PLUGINS=NOTES, **(
        {"DATABASE_URL": database.owner_url} if database.is_postgresql else {}))
    runner = owner.test_cli_runner()
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    yield owner
    with owner.app_context():
        db.session.remove()
    downgraded = runner.invoke(args=["db", "downgrade", "notes@base"])
    assert downgraded.exit_code == 0, downgraded.output


def test_upgrade_applies_every_plugin_branch(migrated):
    from alembic.script import ScriptDirectory
    from flask import current_app

    with migrated.app_context():
        tables = inspect(db.engine).get_table_names()
        current = set(db.session.execute(
            text("SELECT version_num FROM alembic_version")).scalars())
        config = current_app.extensions["migrate"].migrate.get_config()
        script = ScriptDirectory.from_config(config)
        heads = set(script.get_heads())
        # alembic_version leaves out a head that another branch depends on (the core's,
        # when a plugin's migration depends on it): it is applied all the same.
        applied = {rev.revision for rev in script.iterate_revisions(tuple(current), "base")}
    assert "notes_items" in tables
    assert "notes_0001" in heads and "notes_0001" in current and heads <= applied


def test_plugin_tables_are_tenant_scoped(migrated, app_factory, make_tenant):
    from tests.fixtures.notes_plugin import Note

    app = app_factory(PLUGINS=NOTES)
    a, b = make_tenant("alpha"), make_tenant("beta")
    for tenant in (a, b):
        with as_tenant(app, tenant):
            db.session.add(Note(text=f"note of {tenant.slug}"))
            db.session.commit()
    with as_tenant(app, a):
        assert db.session.scalars(select(Note.text)).all() == ["note of alpha"]
        if db.engine.dialect.name == "postgresql":
            raw = db.session.execute(text("SELECT text FROM notes_items")).scalars().all()
            assert raw == ["note of alpha"]
