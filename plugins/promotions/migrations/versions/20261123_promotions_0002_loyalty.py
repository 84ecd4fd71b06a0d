"""promotions: loyalty points (accounts, append-only ledger, lots, draws) and sponsorship

Revision ID: promotions_0002
Revises: promotions_0001
Create Date: 2026-11-23 06:33:33

Every table belongs to the shop where the customer has their account (tenant row-level
security): points and sponsorships are never shared with an office or its resellers.
``promotions_points_accounts.balance`` has ``CHECK (balance >= 0)``: the database itself
refuses a negative balance, whatever a concurrent checkout does.
"""
import sqlalchemy as sa
from alembic import op

from comptoir.migrations.rls import disable_tenant_rls, enable_tenant_rls

# revision identifiers, used by Alembic.
revision = 'promotions_0002'
down_revision = 'promotions_0001'
branch_labels = None
depends_on = None

TABLES = ('promotions_invite_codes', 'promotions_points_accounts', 'promotions_sponsorships',
          'promotions_points_ledger', 'promotions_points_lots', 'promotions_points_draws')


def upgrade():
    op.create_table('promotions_invite_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'user_id'], ['users.tenant_id', 'users.id'], name=op.f('fk_promotions_invite_codes_tenant_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_promotions_invite_codes_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promotions_invite_codes')),
    sa.UniqueConstraint('tenant_id', 'code', name=op.f('uq_promotions_invite_codes_tenant_id_code')),
    sa.UniqueConstraint('tenant_id', 'user_id', name=op.f('uq_promotions_invite_codes_tenant_id_user_id'))
    )
    with op.batch_alter_table('promotions_invite_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_promotions_invite_codes_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('promotions_points_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('balance', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('balance >= 0', name=op.f('ck_promotions_points_accounts_balance_not_negative')),
    sa.ForeignKeyConstraint(['tenant_id', 'user_id'], ['users.tenant_id', 'users.id'], name=op.f('fk_promotions_points_accounts_tenant_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_promotions_points_accounts_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promotions_points_accounts')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_promotions_points_accounts_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'user_id', name=op.f('uq_promotions_points_accounts_tenant_id_user_id'))
    )
    with op.batch_alter_table('promotions_points_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_promotions_points_accounts_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('promotions_sponsorships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sponsor_id', sa.Integer(), nullable=False),
    sa.Column('friend_id', sa.Integer(), nullable=True),
    sa.Column('friend_email', sa.String(length=254), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('offer_order_id', sa.Integer(), nullable=True),
    sa.Column('rewarded_order_id', sa.Integer(), nullable=True),
    sa.Column('rewarded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reward_points', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'rewarded')", name=op.f('ck_promotions_sponsorships_known_status')),
    sa.CheckConstraint('friend_id IS NULL OR friend_id <> sponsor_id', name=op.f('ck_promotions_sponsorships_not_self')),
    sa.ForeignKeyConstraint(['tenant_id', 'friend_id'], ['users.tenant_id', 'users.id'], name='fk_promotions_sponsorships_friend', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'sponsor_id'], ['users.tenant_id', 'users.id'], name='fk_promotions_sponsorships_sponsor', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_promotions_sponsorships_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promotions_sponsorships')),
    sa.UniqueConstraint('tenant_id', 'friend_email', name=op.f('uq_promotions_sponsorships_tenant_id_friend_email')),
    sa.UniqueConstraint('tenant_id', 'friend_id', name=op.f('uq_promotions_sponsorships_tenant_id_friend_id'))
    )
    with op.batch_alter_table('promotions_sponsorships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_promotions_sponsorships_sponsor_id'), ['sponsor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_promotions_sponsorships_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('promotions_points_ledger',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('basis', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('shortfall', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=80), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('actor', sa.String(length=254), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind IN ('earn', 'spend', 'reverse', 'expire', 'reward', 'adjust')", name=op.f('ck_promotions_points_ledger_known_kind')),
    sa.CheckConstraint('shortfall >= 0', name=op.f('ck_promotions_points_ledger_shortfall_not_negative')),
    sa.ForeignKeyConstraint(['tenant_id', 'account_id'], ['promotions_points_accounts.tenant_id', 'promotions_points_accounts.id'], name=op.f('fk_promotions_points_ledger_tenant_id_promotions_points_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'order_id'], ['orders.tenant_id', 'orders.id'], name=op.f('fk_promotions_points_ledger_tenant_id_orders')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_promotions_points_ledger_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promotions_points_ledger')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_promotions_points_ledger_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'ref', name=op.f('uq_promotions_points_ledger_tenant_id_ref'))
    )
    with op.batch_alter_table('promotions_points_ledger', schema=None) as batch_op:
        batch_op.create_index('ix_promotions_points_ledger_account', ['tenant_id', 'account_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_promotions_points_ledger_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_promotions_points_ledger_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('promotions_points_lots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('remaining', sa.Integer(), nullable=False),
    sa.Column('earned_on', sa.Date(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('points > 0', name=op.f('ck_promotions_points_lots_points_positive')),
    sa.CheckConstraint('remaining >= 0 AND remaining <= points', name=op.f('ck_promotions_points_lots_remaining_in_range')),
    sa.ForeignKeyConstraint(['tenant_id', 'account_id'], ['promotions_points_accounts.tenant_id', 'promotions_points_accounts.id'], name=op.f('fk_promotions_points_lots_tenant_id_promotions_points_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'entry_id'], ['promotions_points_ledger.tenant_id', 'promotions_points_ledger.id'], name=op.f('fk_promotions_points_lots_tenant_id_promotions_points_ledger'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_promotions_points_lots_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promotions_points_lots')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_promotions_points_lots_tenant_id_id'))
    )
    with op.batch_alter_table('promotions_points_lots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_promotions_points_lots_expires_on'), ['expires_on'], unique=False)
        batch_op.create_index('ix_promotions_points_lots_open', ['tenant_id', 'account_id', 'remaining', 'expires_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_promotions_points_lots_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('promotions_points_draws',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('points <> 0', name=op.f('ck_promotions_points_draws_points_not_zero')),
    sa.ForeignKeyConstraint(['tenant_id', 'entry_id'], ['promotions_points_ledger.tenant_id', 'promotions_points_ledger.id'], name=op.f('fk_promotions_points_draws_tenant_id_promotions_points_ledger'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'lot_id'], ['promotions_points_lots.tenant_id', 'promotions_points_lots.id'], name=op.f('fk_promotions_points_draws_tenant_id_promotions_points_lots'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_promotions_points_draws_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promotions_points_draws'))
    )
    with op.batch_alter_table('promotions_points_draws', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_promotions_points_draws_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_promotions_points_draws_lot_id'), ['lot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_promotions_points_draws_tenant_id'), ['tenant_id'], unique=False)

    for table in TABLES:
        enable_tenant_rls(table)


def downgrade():
    for table in TABLES:
        disable_tenant_rls(table)
    with op.batch_alter_table('promotions_points_draws', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_promotions_points_draws_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_promotions_points_draws_lot_id'))
        batch_op.drop_index(batch_op.f('ix_promotions_points_draws_entry_id'))

    op.drop_table('promotions_points_draws')
    with op.batch_alter_table('promotions_points_lots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_promotions_points_lots_tenant_id'))
        batch_op.drop_index('ix_promotions_points_lots_open')
        batch_op.drop_index(batch_op.f('ix_promotions_points_lots_expires_on'))

    op.drop_table('promotions_points_lots')
    with op.batch_alter_table('promotions_points_ledger', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_promotions_points_ledger_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_promotions_points_ledger_order_id'))
        batch_op.drop_index('ix_promotions_points_ledger_account')

    op.drop_table('promotions_points_ledger')
    with op.batch_alter_table('promotions_sponsorships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_promotions_sponsorships_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_promotions_sponsorships_sponsor_id'))

    op.drop_table('promotions_sponsorships')
    with op.batch_alter_table('promotions_points_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_promotions_points_accounts_tenant_id'))

    op.drop_table('promotions_points_accounts')
    with op.batch_alter_table('promotions_invite_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_promotions_invite_codes_tenant_id'))

    op.drop_table('promotions_invite_codes')
