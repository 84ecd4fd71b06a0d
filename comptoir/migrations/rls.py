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
CURRENT_OFFICE = "NULLIF(current_setting('app.office_id', true), '')::integer"
SHARED_POLICY = "office_catalogue_read"


def enable_tenant_rls(table: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY {POLICY} ON {table} "
        f"USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT})"
    )


def enable_office_shared_rls(table: str) -> None:
    """For :class:`~comptoir.core.scoping.OfficeShared` tables: the owner reads and writes,
    the owner's resellers (whose ``app.office_id`` names it) read only."""
    if op.get_bind().dialect.name != "postgresql":
        return
    enable_tenant_rls(table)
    op.execute(
        f"CREATE POLICY {SHARED_POLICY} ON {table} FOR SELECT "
        f"USING (tenant_id = {CURRENT_OFFICE})"
    )


def disable_tenant_rls(table: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP POLICY IF EXISTS {SHARED_POLICY} ON {table}")
    op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
    op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
