"""loyalty programme: its versions, the members and the append-only points ledger (core/loyalty.py)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 13:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "loyalty_programmes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("points_per_yuan", sa.Float(), nullable=False),
        sa.Column("action_points", sa.Text(), nullable=False),
        sa.Column("levels", sa.Text(), nullable=False),
        sa.Column("expiry_months", sa.Integer(), nullable=True),
        sa.Column("yuan_per_point", sa.Float(), nullable=False),
        sa.Column("valid_from", sa.DateTime(), nullable=False),
        sa.Column("valid_to", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_programmes")),
        sa.UniqueConstraint("version", name=op.f("uq_loyalty_programmes_version")),
    )
    op.create_table(
        "loyalty_members",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("joined_at", sa.DateTime(), nullable=False),
        sa.Column("joined_on", sa.Date(), nullable=False),
        sa.Column("enrolled_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_loyalty_members_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_loyalty_members")),
    )
    op.create_table(
        "loyalty_ledger",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("programme_version", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_loyalty_ledger_customer_id_customers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_ledger")),
        sa.UniqueConstraint("order_id", name=op.f("uq_loyalty_ledger_order_id")),
    )
    op.create_index("ix_loyalty_ledger_customer_at", "loyalty_ledger", ["customer_id", "at"])
    op.create_index("ix_loyalty_ledger_at", "loyalty_ledger", ["at"])


def downgrade() -> None:
    op.drop_table("loyalty_ledger")
    op.drop_table("loyalty_members")
    op.drop_table("loyalty_programmes")
