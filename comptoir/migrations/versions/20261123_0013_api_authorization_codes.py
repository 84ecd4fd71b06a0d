"""API authorization-code grant: redirect URIs and public clients, codes, user-bound tokens.

Clients gain registered redirect URIs and a "public" flag (no secret, PKCE only). Authorization
codes are a new tenant table (digests only, with row-level security like ``api_tokens``).
Tokens record the tenant admin who authorized them, the code they descend from and the digest
of their refresh token; all three are empty for client-credentials tokens.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23 17:00:00

"""
import sqlalchemy as sa
from alembic import op

from comptoir.migrations.rls import disable_tenant_rls, enable_tenant_rls

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('api_clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.add_column(sa.Column('redirect_uris', sa.Text(), server_default='',
                                      nullable=False))

    op.create_table(
        'api_authorization_codes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code_digest', sa.String(length=64), nullable=False),
        sa.Column('client_pk', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('redirect_uri', sa.Text(), nullable=False),
        sa.Column('scope', sa.Text(), nullable=False),
        sa.Column('code_challenge', sa.String(length=128), nullable=False),
        sa.Column('code_challenge_method', sa.String(length=10), nullable=False),
        sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'],
                                name=op.f('fk_api_authorization_codes_tenant_id_tenants'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['tenant_id', 'client_pk'],
                                ['api_clients.tenant_id', 'api_clients.id'],
                                name=op.f('fk_api_authorization_codes_tenant_id_api_clients'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['tenant_id', 'user_id'], ['users.tenant_id', 'users.id'],
                                name=op.f('fk_api_authorization_codes_tenant_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_authorization_codes')),
        sa.UniqueConstraint('tenant_id', 'code_digest',
                            name=op.f('uq_api_authorization_codes_tenant_id_code_digest')),
        sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_api_authorization_codes_tenant_id_id')),
    )
    with op.batch_alter_table('api_authorization_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_authorization_codes_tenant_id'), ['tenant_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_api_authorization_codes_client_pk'), ['client_pk'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_api_authorization_codes_user_id'), ['user_id'],
                              unique=False)

    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('code_pk', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('refresh_digest', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_api_tokens_code_pk'), ['code_pk'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_api_tokens_tenant_id_refresh_digest'),
                                          ['tenant_id', 'refresh_digest'])
        batch_op.create_foreign_key(batch_op.f('fk_api_tokens_tenant_id_users'), 'users',
                                    ['tenant_id', 'user_id'], ['tenant_id', 'id'],
                                    ondelete='CASCADE')
        batch_op.create_foreign_key(batch_op.f('fk_api_tokens_tenant_id_api_authorization_codes'),
                                    'api_authorization_codes', ['tenant_id', 'code_pk'],
                                    ['tenant_id', 'id'], ondelete='CASCADE')
    enable_tenant_rls('api_authorization_codes')


def downgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_api_tokens_tenant_id_api_authorization_codes'),
                                 type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_api_tokens_tenant_id_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_api_tokens_tenant_id_refresh_digest'),
                                 type_='unique')
        batch_op.drop_index(batch_op.f('ix_api_tokens_code_pk'))
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))
        batch_op.drop_column('refresh_digest')
        batch_op.drop_column('code_pk')
        batch_op.drop_column('user_id')
    disable_tenant_rls('api_authorization_codes')
    with op.batch_alter_table('api_authorization_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_authorization_codes_user_id'))
        batch_op.drop_index(batch_op.f('ix_api_authorization_codes_client_pk'))
        batch_op.drop_index(batch_op.f('ix_api_authorization_codes_tenant_id'))
    op.drop_table('api_authorization_codes')
    with op.batch_alter_table('api_clients', schema=None) as batch_op:
        batch_op.drop_column('redirect_uris')
        batch_op.drop_column('public')
