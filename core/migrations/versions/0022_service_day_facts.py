"""service_day_facts: the Service page's additive figures per day and dimension value (core/service_facts.py), so
a year's breakdowns read thousands of rows instead of every SLA outcome; built on the next start (core.store)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 06:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_day_facts",
        sa.Column("measure", sa.String(16), nullable=False),
        sa.Column("metric", sa.String(16), nullable=False),
        sa.Column("dim", sa.String(12), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("value", sa.String(64), nullable=False),
        sa.Column("a", sa.Integer(), nullable=False),
        sa.Column("b", sa.Integer(), nullable=False),
        sa.Column("s", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("measure", "metric", "dim", "day", "value", name=op.f("pk_service_day_facts")),
    )


def downgrade() -> None:
    op.drop_table("service_day_facts")
