"""promotions: promotions, coupons, batches, redemptions, usage counters, code claims

Revision ID: promotions_0001
Revises:
Create Date: 2026-11-23 06:27:36

The plugin's own branch, rooted on nothing and depending on the core's 0008 (order
discounts: the newest core revision when it was written; the tables refer to ``tenants``
and ``orders``). Promotions, coupons and batches are shared with the office's resellers
(read only); redemptions, usage counters and code claims belong to the shop that booked the
order. ``promotions_code_claims.coupon_id`` is unique across tenants on purpose: a
single-use code is used once whichever shop it is typed in.
"""
import sqlalchemy as sa
from alembic import op

from comptoir.migrations.rls import disable_tenant_rls, enable_office_shared_rls, enable_tenant_rls

# revision identifiers, used by Alembic.
revision = 'promotions_0001'
down_revision = None
branch_labels = ('promotions',)
depends_on = '0008'

TENANT_TABLES = ('promotions_usage', 'promotions_code_claims', 'promotions_redemptions')
SHARED_TABLES = ('promotions_promotions', 'promotions_batches', 'promotions_coupons')


def upgrade():
    op.create_table('promotions_promotions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('value', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('scope', sa.String(length=20), nullable=False),
    sa.Column('scope_value', sa.String(length=500), nullable=False),
    sa.Column('buy_quantity', sa.Integer(), nullable=False),
    sa.Column('get_quantity', sa.Integer(), nullable=False),
    sa.Column('gift_sku', sa.String(length=64), nullable=False),
    sa.Column('min_amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('first_order_only', sa.Boolean(), nullable=False),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('audience', sa.String(length=20), nullable=False),
    sa.Column('audience_company_id', sa.Integer(), nullable=True),
    sa.Column('audience_value', sa.Text(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=True),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('max_uses', sa.Integer(), nullable=True),
    sa.Column('max_uses_per_customer', sa.Integer(), nullable=True),
    sa.Column('combinable', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('max_uses IS NULL OR max_uses >= 1', name=op.f('ck_promotions_promotions_max_uses_positive')),
    sa.CheckConstraint('max_uses_per_customer IS NULL OR max_uses_per_customer >= 1', name=op.f('ck_promotions_promotions_max_uses_per_customer_positive')),
    sa.CheckConstraint('min_amount >= 0', name=op.f('ck_promotions_promotions_min_amount_not_negative')),
    sa.CheckConstraint('value >= 0', name=op.f('ck_promotions_promotions_value_not_negative')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_promotions_promotions_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promotions_promotions')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_promotions_promotions_tenant_id_id'))
    )
    with op.batch_alter_table('promotions_promotions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_promotions_promotions_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('promotions_usage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('promotion_id', sa.Integer(), nullable=False),
    sa.Column('customer', sa.String(length=254), nullable=False),
    sa.Column('used', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('used >= 0', name=op.f('ck_promotions_usage_used_not_negative')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_promotions_usage_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promotions_usage')),
    sa.UniqueConstraint('tenant_id', 'promotion_id', 'customer', name=op.f('uq_promotions_usage_tenant_id_promotion_id_customer'))
    )
    with op.batch_alter_table('promotions_usage', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_promotions_usage_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('promotions_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('promotion_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('affiliate_code', sa.String(length=32), nullable=False),
    sa.Column('created_by', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'promotion_id'], ['promotions_promotions.tenant_id', 'promotions_promotions.id'], name=op.f('fk_promotions_batches_tenant_id_promotions_promotions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_promotions_batches_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promotions_batches')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_promotions_batches_tenant_id_id'))
    )
    with op.batch_alter_table('promotions_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_promotions_batches_promotion_id'), ['promotion_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_promotions_batches_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('promotions_coupons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('promotion_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('single_use', sa.Boolean(), nullable=False),
    sa.Column('affiliate_code', sa.String(length=32), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'batch_id'], ['promotions_batches.tenant_id', 'promotions_batches.id'], name=op.f('fk_promotions_coupons_tenant_id_promotions_batches'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'promotion_id'], ['promotions_promotions.tenant_id', 'promotions_promotions.id'], name=op.f('fk_promotions_coupons_tenant_id_promotions_promotions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_promotions_coupons_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promotions_coupons')),
    sa.UniqueConstraint('tenant_id', 'code', name=op.f('uq_promotions_coupons_tenant_id_code')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_promotions_coupons_tenant_id_id'))
    )
    with op.batch_alter_table('promotions_coupons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_promotions_coupons_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_promotions_coupons_promotion_id'), ['promotion_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_promotions_coupons_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('promotions_code_claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('coupon_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'order_id'], ['orders.tenant_id', 'orders.id'], name=op.f('fk_promotions_code_claims_tenant_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_promotions_code_claims_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promotions_code_claims')),
    sa.UniqueConstraint('coupon_id', name=op.f('uq_promotions_code_claims_coupon_id'))
    )
    with op.batch_alter_table('promotions_code_claims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_promotions_code_claims_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_promotions_code_claims_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('promotions_redemptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('promotion_id', sa.Integer(), nullable=False),
    sa.Column('coupon_id', sa.Integer(), nullable=True),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('affiliate_code', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'order_id'], ['orders.tenant_id', 'orders.id'], name=op.f('fk_promotions_redemptions_tenant_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_promotions_redemptions_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promotions_redemptions')),
    sa.UniqueConstraint('tenant_id', 'order_id', 'promotion_id', name=op.f('uq_promotions_redemptions_tenant_id_order_id_promotion_id'))
    )
    with op.batch_alter_table('promotions_redemptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_promotions_redemptions_order_id'), ['order_id'], unique=False)
        batch_op.create_index('ix_promotions_redemptions_promotion', ['tenant_id', 'promotion_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_promotions_redemptions_tenant_id'), ['tenant_id'], unique=False)

    for table in TENANT_TABLES:
        enable_tenant_rls(table)
    for table in SHARED_TABLES:
        enable_office_shared_rls(table)


def downgrade():
    for table in TENANT_TABLES + SHARED_TABLES:
        disable_tenant_rls(table)
    with op.batch_alter_table('promotions_redemptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_promotions_redemptions_tenant_id'))
        batch_op.drop_index('ix_promotions_redemptions_promotion')
        batch_op.drop_index(batch_op.f('ix_promotions_redemptions_order_id'))

    op.drop_table('promotions_redemptions')
    with op.batch_alter_table('promotions_code_claims', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_promotions_code_claims_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_promotions_code_claims_order_id'))

    op.drop_table('promotions_code_claims')
    with op.batch_alter_table('promotions_coupons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_promotions_coupons_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_promotions_coupons_promotion_id'))
        batch_op.drop_index(batch_op.f('ix_promotions_coupons_batch_id'))

    op.drop_table('promotions_coupons')
    with op.batch_alter_table('promotions_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_promotions_batches_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_promotions_batches_promotion_id'))

    op.drop_table('promotions_batches')
    with op.batch_alter_table('promotions_usage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_promotions_usage_tenant_id'))

    op.drop_table('promotions_usage')
    with op.batch_alter_table('promotions_promotions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_promotions_promotions_tenant_id'))

    op.drop_table('promotions_promotions')
