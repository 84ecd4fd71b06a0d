"""Platform admins, plugin failures, and tenant suspension.

``platform_admins`` and ``plugin_errors`` are platform tables (no tenant, no row-level
security); ``tenants`` gains ``status`` ('active' | 'suspended'), ``suspended_at`` and
``suspension_reason``: suspending takes a storefront offline and deletes nothing.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 10:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'platform_admins',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('password_hash', sa.String(length=255), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('failed_logins', sa.Integer(), nullable=False),
        sa.Column('failures_since', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_platform_admins')),
        sa.UniqueConstraint('email', name=op.f('uq_platform_admins_email')),
    )
    op.create_table(
        'plugin_errors',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=True),
        sa.Column('plugin', sa.String(length=64), nullable=False),
        sa.Column('hook', sa.String(length=64), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('first_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_message', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'],
                                name=op.f('fk_plugin_errors_tenant_id_tenants'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_plugin_errors')),
        sa.UniqueConstraint('tenant_id', 'plugin', 'hook',
                            name=op.f('uq_plugin_errors_tenant_id_plugin_hook')),
    )
    with op.batch_alter_table('plugin_errors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plugin_errors_tenant_id'), ['tenant_id'],
                              unique=False)
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=20), nullable=False,
                                      server_default='active'))
        batch_op.add_column(sa.Column('suspended_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('suspension_reason', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.drop_column('suspension_reason')
        batch_op.drop_column('suspended_at')
        batch_op.drop_column('status')
    with op.batch_alter_table('plugin_errors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plugin_errors_tenant_id'))
    op.drop_table('plugin_errors')
    op.drop_table('platform_admins')
