"""Accounts and login security: users can be deactivated, and their e-mail verified.

``users.active`` (true for every existing user): an inactive user cannot log in and their
open sessions end. ``users.email_verified_at``: when the user proved the address is theirs
(a verification link, an accepted invitation); existing users start unverified.

Passwords need no schema change: argon2id hashes fit ``password_hash`` (256 characters),
and werkzeug hashes are replaced at each user's next log-in.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 10:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
        batch_op.add_column(sa.Column('email_verified_at', sa.DateTime(timezone=True),
                                      nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('email_verified_at')
        batch_op.drop_column('active')
