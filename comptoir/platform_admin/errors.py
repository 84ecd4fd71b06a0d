"""Recording isolated plugin failures per tenant, for the platform dashboard.

The plugin host shields every request-time hook (a plugin that raises is logged and skipped)
and tells its failure listeners; :func:`record` is one. It writes on a connection of its own
(``db.engine.begin()``), not in the request's session: the request may roll back (an error
page rolls back whatever it flushed) and the trace must stay. It must never fail the
request either, so the host calls it inside a ``try``; on SQLite it waits at most
:data:`SQLITE_WAIT_MS` for a writer holding the database rather than the usual five seconds.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import has_app_context
from sqlalchemy import insert, update

from comptoir.core import scoping
from comptoir.core.db import db
from comptoir.platform_admin.models import PluginFailure

#: The last message is kept this long at most (a traceback belongs in the logs).
MESSAGE_MAX = 500
SQLITE_WAIT_MS = 250
SQLITE_DEFAULT_WAIT_MS = 5000


def record(plugin: str, hook: str, exc: BaseException) -> None:
    """Count one failure of ``plugin`` in ``hook`` for the current tenant (or none)."""
    if not has_app_context():
        return
    tenant_id = scoping.current_tenant_id()
    message = f"{type(exc).__name__}: {exc}"[:MESSAGE_MAX]
    now = datetime.now(UTC)
    table = PluginFailure.__table__
    same_tenant = (table.c.tenant_id.is_(None) if tenant_id is None
                   else table.c.tenant_id == tenant_id)
    with db.engine.begin() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_WAIT_MS}")
        try:
            done = conn.execute(
                update(table)
                .where(same_tenant, table.c.plugin == plugin, table.c.hook == hook)
                .values(count=table.c.count + 1, last_at=now, last_message=message)
            ).rowcount
            if not done:
                conn.execute(insert(table).values(
                    tenant_id=tenant_id, plugin=plugin, hook=hook, count=1, first_at=now,
                    last_at=now, last_message=message))
        finally:
            if sqlite:
                conn.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_DEFAULT_WAIT_MS}")
