"""Callback tasks: customers the help desk calls back, and what came of the call.

Created by staff and by plugins (the newsletters plugin's browse abandonment); each lives in
the customer's shop, so a reseller sees its own customers' callbacks.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 03:08:26.932787

"""
import sqlalchemy as sa
from alembic import op

from comptoir.migrations.rls import disable_tenant_rls, enable_tenant_rls


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('callback_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('about', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=120), nullable=True),
    sa.Column('created_by', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_by', sa.String(length=254), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_callback_tasks_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callback_tasks')),
    sa.UniqueConstraint('tenant_id', 'dedupe_key', name=op.f('uq_callback_tasks_tenant_id_dedupe_key'))
    )
    with op.batch_alter_table('callback_tasks', schema=None) as batch_op:
        batch_op.create_index('ix_callback_tasks_status', ['tenant_id', 'status', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_callback_tasks_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_callback_tasks_user_id'), ['user_id'], unique=False)
    enable_tenant_rls('callback_tasks')


def downgrade():
    disable_tenant_rls('callback_tasks')
    with op.batch_alter_table('callback_tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callback_tasks_user_id'))
        batch_op.drop_index(batch_op.f('ix_callback_tasks_tenant_id'))
        batch_op.drop_index('ix_callback_tasks_status')

    op.drop_table('callback_tasks')
