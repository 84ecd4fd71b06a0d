"""Row-level security for tenant tables, for use inside migrations (core and plugins).

On PostgreSQL every table with ``tenant_id`` gets RLS enabled *and forced* (so even a role
owning the table obeys it) and one policy: a row is visible and writable only when its
``tenant_id`` equals the transaction's ``app.tenant_id`` setting, which the app sets after
each BEGIN. With no tenant set, nothing is visible. On other databases this does nothing;
there the ORM scoping is the only lock.
"""

from __future__ import annotations

from alembic import op

POLICY = "tenant_isolation"
CURRENT_TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::integer"


def enable_tenant_rls(table: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY {POLICY} ON {table} "
        f"USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT})"
    )


def disable_tenant_rls(table: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
    op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
