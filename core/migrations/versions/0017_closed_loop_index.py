"""closed loop: a covering index of follow-up tasks by source and creation time

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 02:00:00
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_tasks_source_created", "tasks", ["source", "created_at", "customer_id", "due_date", "done_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_source_created", table_name="tasks")
