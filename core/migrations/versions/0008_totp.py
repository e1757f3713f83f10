"""two-step sign-in: users.totp_secret (encrypted like contact details)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 18:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('totp_secret_enc', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.drop_column('totp_secret_enc')
