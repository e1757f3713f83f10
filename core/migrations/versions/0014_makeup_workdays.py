"""make-up working days (调休) beside holidays in a business-hours calendar

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 06:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sla_holidays") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=8), nullable=False, server_default="holiday"))
        batch.add_column(sa.Column("intervals", sa.String(length=200), nullable=True))


def downgrade() -> None:
    op.execute("DELETE FROM sla_holidays WHERE kind = 'workday'")
    with op.batch_alter_table("sla_holidays") as batch:
        batch.drop_column("intervals")
        batch.drop_column("kind")
