"""API clients and tokens: OAuth2 clients registered per tenant, tokens stored as digests.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 10:00:00

"""
import sqlalchemy as sa
from alembic import op

from comptoir.migrations.rls import disable_tenant_rls, enable_tenant_rls

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'api_clients',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('client_id', sa.String(length=64), nullable=False),
        sa.Column('secret_digest', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('scopes', sa.Text(), nullable=False),
        sa.Column('created_by', sa.String(length=254), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'],
                                name=op.f('fk_api_clients_tenant_id_tenants'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_clients')),
        sa.UniqueConstraint('tenant_id', 'client_id',
                            name=op.f('uq_api_clients_tenant_id_client_id')),
        sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_api_clients_tenant_id_id')),
    )
    with op.batch_alter_table('api_clients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_clients_tenant_id'), ['tenant_id'], unique=False)
    op.create_table(
        'api_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('client_pk', sa.Integer(), nullable=False),
        sa.Column('token_digest', sa.String(length=64), nullable=False),
        sa.Column('scope', sa.Text(), nullable=False),
        sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_in', sa.Integer(), nullable=False),
        sa.Column('revoked', sa.Boolean(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'],
                                name=op.f('fk_api_tokens_tenant_id_tenants'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['tenant_id', 'client_pk'],
                                ['api_clients.tenant_id', 'api_clients.id'],
                                name=op.f('fk_api_tokens_tenant_id_api_clients'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
        sa.UniqueConstraint('tenant_id', 'token_digest',
                            name=op.f('uq_api_tokens_tenant_id_token_digest')),
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_api_tokens_client_pk'), ['client_pk'], unique=False)
    enable_tenant_rls('api_clients')
    enable_tenant_rls('api_tokens')


def downgrade():
    disable_tenant_rls('api_tokens')
    disable_tenant_rls('api_clients')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_client_pk'))
        batch_op.drop_index(batch_op.f('ix_api_tokens_tenant_id'))
    op.drop_table('api_tokens')
    with op.batch_alter_table('api_clients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_clients_tenant_id'))
    op.drop_table('api_clients')
