"""customer values: health, RFM, predicted lifetime value and the model-based value tier; tier history per
quarter; each churn model's health calibration; interactions' date index covers customer and channel

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 05:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customer_values",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("health", sa.Integer(), nullable=False),
        sa.Column("health_band", sa.String(length=8), nullable=False),
        sa.Column("health_parts", sa.Text(), nullable=False),
        sa.Column("r_score", sa.Integer(), nullable=False),
        sa.Column("f_score", sa.Integer(), nullable=False),
        sa.Column("m_score", sa.Integer(), nullable=False),
        sa.Column("rfm_segment", sa.String(length=24), nullable=False),
        sa.Column("revenue_total", sa.Float(), nullable=False),
        sa.Column("expected_orders", sa.Float(), nullable=False),
        sa.Column("p_alive", sa.Float(), nullable=False),
        sa.Column("expected_value", sa.Float(), nullable=False),
        sa.Column("clv_12m", sa.Float(), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_customer_values_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customer_values")),
    )
    op.create_index("ix_customer_values_tier", "customer_values", ["tier"])
    op.create_index("ix_customer_values_segment", "customer_values", ["rfm_segment"])
    op.create_table(
        "tier_history",
        sa.Column("quarter", sa.Date(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_tier_history_customer_id_customers")),
        sa.PrimaryKeyConstraint("quarter", "customer_id", name=op.f("pk_tier_history")),
    )
    with op.batch_alter_table("churn_models") as batch:
        batch.add_column(sa.Column("health_calibration", sa.Text(), nullable=True))
    with op.batch_alter_table("interactions") as batch:
        batch.create_index(
            "ix_interactions_occurred_customer_channel", ["occurred_at", "customer_id", "channel"], unique=False
        )
        batch.drop_index("ix_interactions_occurred_at")


def downgrade() -> None:
    with op.batch_alter_table("interactions") as batch:
        batch.create_index("ix_interactions_occurred_at", ["occurred_at"], unique=False)
        batch.drop_index("ix_interactions_occurred_customer_channel")
    with op.batch_alter_table("churn_models") as batch:
        batch.drop_column("health_calibration")
    op.drop_table("tier_history")
    op.drop_table("customer_values")
