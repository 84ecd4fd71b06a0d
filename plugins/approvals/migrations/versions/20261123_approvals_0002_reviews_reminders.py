"""approvals: technical reviews, reminders, review events

Revision ID: approvals_0002
Revises: approvals_0001
Create Date: 2026-11-23 09:00:00.000000

Adds the ``approvals_reviews`` table (a cart or standard configuration submitted for
technical validation), ``reminded_at`` on requests (at most one reminder per period) and
``review_id`` on the audit trail, so a review's events export with the rest.
"""
import sqlalchemy as sa
from alembic import op

from comptoir.migrations.rls import disable_tenant_rls, enable_tenant_rls

revision = 'approvals_0002'
down_revision = 'approvals_0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('approvals_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('requester_id', sa.Integer(), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('configuration_code', sa.String(length=64), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind IN ('cart', 'configuration')", name=op.f('ck_approvals_reviews_kind_known')),
    sa.ForeignKeyConstraint(['tenant_id', 'company_id'], ['companies.tenant_id', 'companies.id'], name=op.f('fk_approvals_reviews_tenant_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requester_id', 'tenant_id'], ['users.id', 'users.tenant_id'], name=op.f('fk_approvals_reviews_requester_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewer_id', 'tenant_id'], ['users.id', 'users.tenant_id'], name=op.f('fk_approvals_reviews_reviewer_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_approvals_reviews_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approvals_reviews')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_approvals_reviews_tenant_id_id'))
    )
    with op.batch_alter_table('approvals_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_approvals_reviews_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_approvals_reviews_reviewer_id'), ['reviewer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_approvals_reviews_tenant_id'), ['tenant_id'], unique=False)

    with op.batch_alter_table('approvals_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('approvals_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_approvals_events_review_id'), ['review_id'], unique=False)

    enable_tenant_rls('approvals_reviews')


def downgrade():
    disable_tenant_rls('approvals_reviews')
    with op.batch_alter_table('approvals_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_approvals_events_review_id'))
        batch_op.drop_column('review_id')

    with op.batch_alter_table('approvals_requests', schema=None) as batch_op:
        batch_op.drop_column('reminded_at')

    with op.batch_alter_table('approvals_reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_approvals_reviews_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_approvals_reviews_reviewer_id'))
        batch_op.drop_index(batch_op.f('ix_approvals_reviews_company_id'))

    op.drop_table('approvals_reviews')
