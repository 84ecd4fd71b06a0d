"""Company single sign-on: each company's OpenID provider and the e-mail domains it claims.

Domains are unique per tenant (one company speaks for a domain in a shop) and used only once
the shop's admin approved them.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23 10:00:00

"""
import sqlalchemy as sa
from alembic import op

from comptoir.migrations.rls import disable_tenant_rls, enable_tenant_rls

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('company_sso',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('issuer', sa.String(length=500), nullable=False),
    sa.Column('client_id', sa.String(length=255), nullable=False),
    sa.Column('client_secret', sa.Text(), nullable=False),
    sa.Column('default_role', sa.String(length=20), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'company_id'], ['companies.tenant_id', 'companies.id'], name=op.f('fk_company_sso_tenant_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_company_sso_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_company_sso')),
    sa.UniqueConstraint('tenant_id', 'company_id', name=op.f('uq_company_sso_tenant_id_company_id')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_company_sso_tenant_id_id'))
    )
    with op.batch_alter_table('company_sso', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_company_sso_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_company_sso_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('company_sso_domains',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sso_id', sa.Integer(), nullable=False),
    sa.Column('domain', sa.String(length=253), nullable=False),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_by', sa.String(length=254), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'sso_id'], ['company_sso.tenant_id', 'company_sso.id'], name=op.f('fk_company_sso_domains_tenant_id_company_sso'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_company_sso_domains_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_company_sso_domains')),
    sa.UniqueConstraint('tenant_id', 'domain', name=op.f('uq_company_sso_domains_tenant_id_domain'))
    )
    with op.batch_alter_table('company_sso_domains', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_company_sso_domains_sso_id'), ['sso_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_company_sso_domains_tenant_id'), ['tenant_id'], unique=False)
    enable_tenant_rls('company_sso')
    enable_tenant_rls('company_sso_domains')


def downgrade():
    disable_tenant_rls('company_sso_domains')
    disable_tenant_rls('company_sso')
    op.drop_table('company_sso_domains')
    op.drop_table('company_sso')
