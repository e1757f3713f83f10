"""ticket_steps: each ticket's hours per workflow step, kept with its SLA results (the bottlenecks read it instead
of every event of the period); filled from the events on the next start (core.store)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ticket_steps",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        *(
            sa.Column(step, sa.Float(), nullable=True)
            for step in ("waiting_to_accept", "analysing", "resolving", "waiting_on_customer", "waiting_for_feedback")
        ),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_steps_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_steps")),
    )


def downgrade() -> None:
    op.drop_table("ticket_steps")
