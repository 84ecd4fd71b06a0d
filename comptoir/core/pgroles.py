"""The PostgreSQL login the app runs as: data rights, no ownership, no way around RLS.

Row-level security binds a role only if it is not a superuser, has no BYPASSRLS and (unless
FORCE is on, which our migrations also set) does not own the table. Migrations run as the
owner; the app connects as the role made here.
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.engine import Engine

ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def ensure_app_role(engine: Engine, role: str) -> None:
    """Create ``role`` if missing and grant it data rights on every table, now and later."""
    if not ROLE_NAME.match(role):
        raise ValueError(f"'{role}' is not a plain role name (a-z, 0-9, _)")
    with engine.begin() as conn:
        existing = conn.execute(
            text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :r"), {"r": role}
        ).first()
        if existing is None:
            conn.execute(text(
                f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE'
            ))
        elif existing.rolsuper or existing.rolbypassrls:
            raise ValueError(f"role '{role}' is a superuser or bypasses RLS; pick another")
        owned = conn.execute(
            text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
                 "AND tableowner = :r"), {"r": role}
        ).scalar()
        if owned:
            raise ValueError(f"role '{role}' owns tables; the app's role must own none")
        database = conn.execute(text("SELECT current_database()")).scalar()
        for statement in (
            f'GRANT CONNECT ON DATABASE "{database}" TO "{role}"',
            f'GRANT USAGE ON SCHEMA public TO "{role}"',
            f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"',
            f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"',
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public "
            f'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "{role}"',
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public "
            f'GRANT USAGE, SELECT ON SEQUENCES TO "{role}"',
        ):
            conn.execute(text(statement))
        if conn.execute(text("SELECT to_regclass('public.alembic_version')")).scalar():
            # The schema's history is the migrations' business, not the app's.
            conn.execute(text(f'REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM "{role}"'))
