"""sessions can be revoked: users.sessions_valid_after

A session (a browser's signed cookie, or a live page session) that began before this instant no longer
signs in. Sign-out, a password change or reset, a role change and deactivation move it to "now".

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 18:20:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('sessions_valid_after', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.drop_column('sessions_valid_after')
