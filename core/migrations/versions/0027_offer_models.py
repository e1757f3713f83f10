"""next best offer: the learned category-transition table and its held-out hit rate (core/next_offer.py)

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


def downgrade() -> None:
    op.drop_table("offer_models")
