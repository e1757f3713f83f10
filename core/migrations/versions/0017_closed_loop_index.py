"""closed loop: follow-up tasks by source and creation time (covering), NPS answers by customer and time

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
    op.create_index("ix_nps_responses_customer_responded", "nps_responses", ["customer_id", "responded_at"])


def downgrade() -> None:
    op.drop_index("ix_nps_responses_customer_responded", table_name="nps_responses")
    op.drop_index("ix_tasks_source_created", table_name="tasks")
