"""growth analytics: the next best offer's learned category-transition table and its held-out hit rate
(core/next_offer.py), and what each acquisition channel cost each month (core/channels.py)

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 17:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "offer_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("learned_at", sa.DateTime(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("transitions", sa.Text(), nullable=False),
        sa.Column("evaluation", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offer_models")),
    )
    op.create_table(
        "channel_costs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("entered_by", sa.String(length=64), nullable=False),
        sa.Column("entered_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_costs")),
        sa.UniqueConstraint("channel", "month", name=op.f("uq_channel_costs_channel_month")),
    )


def downgrade() -> None:
    op.drop_table("channel_costs")
    op.drop_table("offer_models")
