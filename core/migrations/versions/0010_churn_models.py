"""churn models (trained pipelines with their metrics) and each active customer's latest score

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 23:50:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "churn_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("trained_at", sa.DateTime(), nullable=False),
        sa.Column("trained_by", sa.String(length=64), nullable=False),
        sa.Column("horizon_days", sa.Integer(), nullable=False),
        sa.Column("first_snapshot", sa.Date(), nullable=False),
        sa.Column("test_snapshot", sa.Date(), nullable=False),
        sa.Column("chosen", sa.String(length=32), nullable=False),
        sa.Column("grade", sa.String(length=1), nullable=False),
        sa.Column("features", sa.Text(), nullable=False),
        sa.Column("metrics", sa.Text(), nullable=False),
        sa.Column("pipeline", sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_churn_models")),
        sa.UniqueConstraint("version", name=op.f("uq_churn_models_version")),
    )
    op.create_table(
        "churn_scores",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("risk", sa.Float(), nullable=False),
        sa.Column("percentile", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_churn_scores_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_churn_scores")),
    )
    op.create_index("ix_churn_scores_risk", "churn_scores", ["risk"])


def downgrade() -> None:
    op.drop_index("ix_churn_scores_risk", table_name="churn_scores")
    op.drop_table("churn_scores")
    op.drop_table("churn_models")
