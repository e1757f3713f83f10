"""ticket_sla: the index of outcomes by metric and time also carries the ticket id, so agent and team
performance over a year reads the index alone (1.47 -> 0.99 s at 100,000 customers on SQLite)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 15:00:00
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_ticket_sla_metric_known", table_name="ticket_sla")
    op.create_index("ix_ticket_sla_metric_known", "ticket_sla", ["metric", "known_at", "state", "ticket_id"])


def downgrade() -> None:
    op.drop_index("ix_ticket_sla_metric_known", table_name="ticket_sla")
    op.create_index("ix_ticket_sla_metric_known", "ticket_sla", ["metric", "known_at", "state"])
