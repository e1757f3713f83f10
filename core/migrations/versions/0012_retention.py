"""retention: the warned customers (each once, with their random holdout draw) and the actions taken

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 02:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "retention_cohort",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("warned_on", sa.Date(), nullable=False),
        sa.Column("band", sa.String(length=8), nullable=False),
        sa.Column("risk", sa.Float(), nullable=False),
        sa.Column("held_out", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_retention_cohort_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_retention_cohort")),
    )
    op.create_table(
        "retention_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("outcome", sa.String(length=12), nullable=True),
        sa.Column("steps_done", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_retention_actions_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_retention_actions_owner_id_users")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_retention_actions_created_by_users")),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], name=op.f("fk_retention_actions_task_id_tasks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_actions")),
    )
    op.create_index("ix_retention_actions_customer_status", "retention_actions", ["customer_id", "status"])


def downgrade() -> None:
    op.drop_table("retention_actions")
    op.drop_table("retention_cohort")
