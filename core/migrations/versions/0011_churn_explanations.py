"""churn explanations: each score's band and drivers; each model's scoring profile (band averages, global
importance, the latest period's check)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 01:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("churn_scores") as batch:
        batch.add_column(sa.Column("band", sa.String(length=8), nullable=False, server_default="low"))
        batch.add_column(sa.Column("drivers", sa.Text(), nullable=True))
    with op.batch_alter_table("churn_models") as batch:
        batch.add_column(sa.Column("profile", sa.Text(), nullable=True))
    op.create_index("ix_churn_scores_band", "churn_scores", ["band"])


def downgrade() -> None:
    op.drop_index("ix_churn_scores_band", table_name="churn_scores")
    with op.batch_alter_table("churn_models") as batch:
        batch.drop_column("profile")
    with op.batch_alter_table("churn_scores") as batch:
        batch.drop_column("drivers")
        batch.drop_column("band")
