"""tickets: an index by resolution time carrying the re-open count and the assignee, so the Service page's
re-open rate and agent performance read the index alone instead of scanning every ticket

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 17:00:00
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_tickets_resolved_reopened", "tickets", ["resolved_at", "reopened", "assignee_id", "team"])


def downgrade() -> None:
    op.drop_index("ix_tickets_resolved_reopened", table_name="tickets")
