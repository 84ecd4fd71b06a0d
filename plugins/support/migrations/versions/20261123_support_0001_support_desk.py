"""support: tickets with their history and files, reply templates, FAQ, surveys

Revision ID: support_0001
Revises:
Create Date: 2026-11-23 06:11:00

The plugin's own branch, rooted on nothing and depending on the core's 0007 (the newest core
revision when it was written; the tables refer to ``tenants`` only).
"""
import sqlalchemy as sa
from alembic import op

from comptoir.migrations.rls import disable_tenant_rls, enable_office_shared_rls, enable_tenant_rls

# revision identifiers, used by Alembic.
revision = 'support_0001'
down_revision = None
branch_labels = ('support',)
depends_on = '0007'

TENANT_TABLES = ('support_tickets', 'support_messages', 'support_attachments',
                 'support_surveys')
SHARED_TABLES = ('support_reply_templates', 'support_faq')


def upgrade():
    op.create_table('support_faq',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('question', sa.String(length=300), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('keywords', sa.String(length=300), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('published', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_support_faq_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_support_faq'))
    )
    with op.batch_alter_table('support_faq', schema=None) as batch_op:
        batch_op.create_index('ix_support_faq_locale', ['tenant_id', 'locale', 'position'], unique=False)
        batch_op.create_index(batch_op.f('ix_support_faq_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('support_reply_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=254), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_support_reply_templates_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_support_reply_templates')),
    sa.UniqueConstraint('tenant_id', 'name', 'locale', name=op.f('uq_support_reply_templates_tenant_id_name_locale'))
    )
    with op.batch_alter_table('support_reply_templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_support_reply_templates_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('support_surveys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('order_number', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_support_surveys_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_support_surveys')),
    sa.UniqueConstraint('tenant_id', 'order_id', name=op.f('uq_support_surveys_tenant_id_order_id'))
    )
    with op.batch_alter_table('support_surveys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_support_surveys_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('support_tickets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('product_sku', sa.String(length=64), nullable=True),
    sa.Column('product_name', sa.String(length=200), nullable=False),
    sa.Column('order_number', sa.Integer(), nullable=True),
    sa.Column('assignee', sa.String(length=254), nullable=False),
    sa.Column('needs_review', sa.Boolean(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('waiting_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('warned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('first_answer_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_support_tickets_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_support_tickets')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_support_tickets_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'number', name=op.f('uq_support_tickets_tenant_id_number'))
    )
    with op.batch_alter_table('support_tickets', schema=None) as batch_op:
        batch_op.create_index('ix_support_tickets_customer', ['tenant_id', 'email'], unique=False)
        batch_op.create_index('ix_support_tickets_queue', ['tenant_id', 'status', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_support_tickets_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_support_tickets_user_id'), ['user_id'], unique=False)

    op.create_table('support_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('author', sa.String(length=254), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('via', sa.String(length=20), nullable=False),
    sa.Column('email_message_id', sa.String(length=250), nullable=True),
    sa.Column('answered_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('in_time', sa.Boolean(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'ticket_id'], ['support_tickets.tenant_id', 'support_tickets.id'], name=op.f('fk_support_messages_tenant_id_support_tickets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_support_messages_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_support_messages')),
    sa.UniqueConstraint('tenant_id', 'email_message_id', name=op.f('uq_support_messages_tenant_id_email_message_id')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_support_messages_tenant_id_id'))
    )
    with op.batch_alter_table('support_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_support_messages_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_support_messages_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('support_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'message_id'], ['support_messages.tenant_id', 'support_messages.id'], name=op.f('fk_support_attachments_tenant_id_support_messages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_support_attachments_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_support_attachments'))
    )
    with op.batch_alter_table('support_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_support_attachments_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_support_attachments_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_support_attachments_ticket_id'), ['ticket_id'], unique=False)


    for table in TENANT_TABLES:
        enable_tenant_rls(table)
    for table in SHARED_TABLES:
        enable_office_shared_rls(table)


def downgrade():
    for table in TENANT_TABLES + SHARED_TABLES:
        disable_tenant_rls(table)
    with op.batch_alter_table('support_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_support_attachments_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_support_attachments_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_support_attachments_message_id'))

    op.drop_table('support_attachments')
    with op.batch_alter_table('support_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_support_messages_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_support_messages_tenant_id'))

    op.drop_table('support_messages')
    with op.batch_alter_table('support_tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_support_tickets_user_id'))
        batch_op.drop_index(batch_op.f('ix_support_tickets_tenant_id'))
        batch_op.drop_index('ix_support_tickets_queue')
        batch_op.drop_index('ix_support_tickets_customer')

    op.drop_table('support_tickets')
    with op.batch_alter_table('support_surveys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_support_surveys_tenant_id'))

    op.drop_table('support_surveys')
    with op.batch_alter_table('support_reply_templates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_support_reply_templates_tenant_id'))

    op.drop_table('support_reply_templates')
    with op.batch_alter_table('support_faq', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_support_faq_tenant_id'))
        batch_op.drop_index('ix_support_faq_locale')

    op.drop_table('support_faq')
