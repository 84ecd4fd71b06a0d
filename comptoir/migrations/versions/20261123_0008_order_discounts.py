"""Order discounts: what promotions took off each line, and which promotions they were.

``order_lines.discount`` (excluding VAT) comes off ``line_net``, so VAT, refunds of returns
and commissions all follow the discounted price; ``orders.discounts`` names the causes.
Existing rows get no discount.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 06:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('discount', sa.Numeric(precision=12, scale=2),
                                      nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('discount_label', sa.String(length=200),
                                      nullable=False, server_default=''))
        batch_op.create_check_constraint('discount_not_negative', 'discount >= 0')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('discounts', sa.JSON(), nullable=False,
                                      server_default='[]'))


def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('discounts')
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_constraint('discount_not_negative', type_='check')
        batch_op.drop_column('discount_label')
        batch_op.drop_column('discount')
