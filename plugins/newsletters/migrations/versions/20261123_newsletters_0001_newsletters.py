"""newsletters: subscribers, the consent ledger, suppressions, campaigns, deliveries, views

Revision ID: newsletters_0001
Revises:
Create Date: 2026-11-23 03:20:00

The plugin's own branch, rooted on nothing and depending on the core's 0007 (callback tasks,
which browse abandonment creates): installing or removing the plugin never edits the core's
history.
"""
import sqlalchemy as sa
from alembic import op

from comptoir.migrations.rls import disable_tenant_rls, enable_tenant_rls

# revision identifiers, used by Alembic.
revision = 'newsletters_0001'
down_revision = None
branch_labels = ('newsletters',)
depends_on = '0007'

TABLES = ('newsletters_subscribers', 'newsletters_consent_events', 'newsletters_suppressions',
          'newsletters_campaigns', 'newsletters_campaign_translations',
          'newsletters_deliveries', 'newsletters_product_views')


def upgrade():
    op.create_table('newsletters_campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('theme', sa.String(length=40), nullable=False),
    sa.Column('segment', sa.Text(), nullable=False),
    sa.Column('include_resellers', sa.Boolean(), nullable=False),
    sa.Column('fallback_locale', sa.String(length=10), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_newsletters_campaigns_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_newsletters_campaigns')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_newsletters_campaigns_tenant_id_id'))
    )
    with op.batch_alter_table('newsletters_campaigns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_newsletters_campaigns_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('newsletters_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=160), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('trigger', sa.String(length=40), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('subscriber_tenant_id', sa.Integer(), nullable=True),
    sa.Column('subscriber_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('message_id', sa.String(length=250), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('clicked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('bounced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_newsletters_deliveries_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_newsletters_deliveries')),
    sa.UniqueConstraint('tenant_id', 'dedupe_key', name=op.f('uq_newsletters_deliveries_tenant_id_dedupe_key')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_newsletters_deliveries_tenant_id_id'))
    )
    with op.batch_alter_table('newsletters_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_newsletters_deliveries_campaign', ['tenant_id', 'campaign_id', 'status'], unique=False)
        batch_op.create_index('ix_newsletters_deliveries_email', ['tenant_id', 'email', 'sent_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_newsletters_deliveries_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('newsletters_product_views',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('viewed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_newsletters_product_views_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_newsletters_product_views'))
    )
    with op.batch_alter_table('newsletters_product_views', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_newsletters_product_views_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_newsletters_views_user', ['tenant_id', 'user_id', 'viewed_at'], unique=False)

    op.create_table('newsletters_subscribers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('channels', sa.JSON(), nullable=False),
    sa.Column('frequency', sa.String(length=10), nullable=False),
    sa.Column('themes', sa.JSON(), nullable=False),
    sa.Column('tracking', sa.Boolean(), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=False),
    sa.Column('birthday', sa.Date(), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('unsubscribed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_newsletters_subscribers_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_newsletters_subscribers')),
    sa.UniqueConstraint('tenant_id', 'email', name=op.f('uq_newsletters_subscribers_tenant_id_email')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_newsletters_subscribers_tenant_id_id'))
    )
    with op.batch_alter_table('newsletters_subscribers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_newsletters_subscribers_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_newsletters_subscribers_user_id'), ['user_id'], unique=False)

    op.create_table('newsletters_suppressions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_newsletters_suppressions_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_newsletters_suppressions')),
    sa.UniqueConstraint('tenant_id', 'email', name=op.f('uq_newsletters_suppressions_tenant_id_email'))
    )
    with op.batch_alter_table('newsletters_suppressions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_newsletters_suppressions_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('newsletters_campaign_translations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'campaign_id'], ['newsletters_campaigns.tenant_id', 'newsletters_campaigns.id'], name=op.f('fk_newsletters_campaign_translations_tenant_id_newsletters_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_newsletters_campaign_translations_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_newsletters_campaign_translations')),
    sa.UniqueConstraint('tenant_id', 'campaign_id', 'locale', name=op.f('uq_newsletters_campaign_translations_tenant_id_campaign_id_locale'))
    )
    with op.batch_alter_table('newsletters_campaign_translations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_newsletters_campaign_translations_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_newsletters_campaign_translations_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('newsletters_consent_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscriber_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('wording_version', sa.String(length=16), nullable=False),
    sa.Column('wording', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=False),
    sa.Column('user_agent', sa.String(length=300), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'subscriber_id'], ['newsletters_subscribers.tenant_id', 'newsletters_subscribers.id'], name=op.f('fk_newsletters_consent_events_tenant_id_newsletters_subscribers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_newsletters_consent_events_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_newsletters_consent_events'))
    )
    with op.batch_alter_table('newsletters_consent_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_newsletters_consent_events_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_newsletters_consent_subscriber', ['tenant_id', 'subscriber_id'], unique=False)
    for table in TABLES:
        enable_tenant_rls(table)


def downgrade():
    for table in TABLES:
        disable_tenant_rls(table)
    with op.batch_alter_table('newsletters_consent_events', schema=None) as batch_op:
        batch_op.drop_index('ix_newsletters_consent_subscriber')
        batch_op.drop_index(batch_op.f('ix_newsletters_consent_events_tenant_id'))

    op.drop_table('newsletters_consent_events')
    with op.batch_alter_table('newsletters_campaign_translations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_newsletters_campaign_translations_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_newsletters_campaign_translations_campaign_id'))

    op.drop_table('newsletters_campaign_translations')
    with op.batch_alter_table('newsletters_suppressions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_newsletters_suppressions_tenant_id'))

    op.drop_table('newsletters_suppressions')
    with op.batch_alter_table('newsletters_subscribers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_newsletters_subscribers_user_id'))
        batch_op.drop_index(batch_op.f('ix_newsletters_subscribers_tenant_id'))

    op.drop_table('newsletters_subscribers')
    with op.batch_alter_table('newsletters_product_views', schema=None) as batch_op:
        batch_op.drop_index('ix_newsletters_views_user')
        batch_op.drop_index(batch_op.f('ix_newsletters_product_views_tenant_id'))

    op.drop_table('newsletters_product_views')
    with op.batch_alter_table('newsletters_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_newsletters_deliveries_tenant_id'))
        batch_op.drop_index('ix_newsletters_deliveries_email')
        batch_op.drop_index('ix_newsletters_deliveries_campaign')

    op.drop_table('newsletters_deliveries')
    with op.batch_alter_table('newsletters_campaigns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_newsletters_campaigns_tenant_id'))

    op.drop_table('newsletters_campaigns')
