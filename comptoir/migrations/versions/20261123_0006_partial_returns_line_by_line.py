"""Partial returns: the lines and quantities a return sends back.

A return request now names the goods lines it sends back and how many units of each
(``order_return_lines``, pointing at the request and the order line through composite keys,
so a return can only name lines of its own tenant). Requests made before keep no lines and
still mean "the whole order". A partly returned shipment keeps one reservation row per
status (``shipped`` for what the customer kept, ``returned`` for what came back), hence the
reservations' unique key gains the status.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 00:42:02.848835

"""
import sqlalchemy as sa
from alembic import op

from comptoir.migrations.rls import disable_tenant_rls, enable_tenant_rls

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    # The composite foreign keys below need these keys first (PostgreSQL checks it).
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_order_lines_tenant_id_id'), ['tenant_id', 'id'])

    with op.batch_alter_table('order_returns', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_order_returns_tenant_id_id'), ['tenant_id', 'id'])

    op.create_table('order_return_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('return_id', sa.Integer(), nullable=False),
    sa.Column('order_line_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_order_return_lines_quantity_positive')),
    sa.ForeignKeyConstraint(['tenant_id', 'order_line_id'], ['order_lines.tenant_id', 'order_lines.id'], name=op.f('fk_order_return_lines_tenant_id_order_lines'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'return_id'], ['order_returns.tenant_id', 'order_returns.id'], name=op.f('fk_order_return_lines_tenant_id_order_returns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_order_return_lines_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_return_lines')),
    sa.UniqueConstraint('tenant_id', 'return_id', 'order_line_id', name=op.f('uq_order_return_lines_tenant_id_return_id_order_line_id'))
    )
    with op.batch_alter_table('order_return_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_return_lines_order_line_id'), ['order_line_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_return_lines_return_id'), ['return_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_return_lines_tenant_id'), ['tenant_id'], unique=False)
    enable_tenant_rls('order_return_lines')

    with op.batch_alter_table('stock_reservations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_stock_reservations_tenant_id_reference_level_id'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_stock_reservations_tenant_id_reference_level_id_status'), ['tenant_id', 'reference', 'level_id', 'status'])


def downgrade():
    # A partly returned shipment has two rows per level (shipped, returned): the old key
    # (order, level) allows one, so the returned rows go (the shelves already count the
    # units that came back; only that piece of history is lost).
    op.execute(
        "DELETE FROM stock_reservations WHERE status = 'returned' AND EXISTS ("
        "SELECT 1 FROM stock_reservations AS kept WHERE kept.tenant_id = "
        "stock_reservations.tenant_id AND kept.reference = stock_reservations.reference "
        "AND kept.level_id = stock_reservations.level_id AND kept.status <> 'returned')"
    )
    with op.batch_alter_table('stock_reservations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_stock_reservations_tenant_id_reference_level_id_status'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_stock_reservations_tenant_id_reference_level_id'), ['tenant_id', 'reference', 'level_id'])

    disable_tenant_rls('order_return_lines')
    with op.batch_alter_table('order_return_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_return_lines_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_order_return_lines_return_id'))
        batch_op.drop_index(batch_op.f('ix_order_return_lines_order_line_id'))

    op.drop_table('order_return_lines')

    with op.batch_alter_table('order_returns', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_order_returns_tenant_id_id'), type_='unique')

    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_order_lines_tenant_id_id'), type_='unique')
