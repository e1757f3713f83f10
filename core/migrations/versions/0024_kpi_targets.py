"""kpi_targets: a target per KPI (absolute or a change against a baseline span), per period span and optionally
per region or team, with an owner (core/targets.py); seed 003's targets are added on the next start; when each
period_facts row was made

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kpi_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kpi", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("grain", sa.String(length=1), nullable=True),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("baseline_start", sa.Date(), nullable=True),
        sa.Column("baseline_end", sa.Date(), nullable=True),
        sa.Column("baseline_value", sa.Float(), nullable=True),
        sa.Column("baseline_periods", sa.String(length=200), nullable=True),
        sa.Column("baseline_at", sa.DateTime(), nullable=True),
        sa.Column("region", sa.String(length=64), nullable=True),
        sa.Column("team", sa.String(length=64), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_kpi_targets_owner_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_targets")),
    )
    op.create_index("ix_kpi_targets_kpi", "kpi_targets", ["kpi"])
    # each cockpit card says when its summary rows were made (NULL: before this column, until the next rebuild)
    op.add_column("period_facts", sa.Column("refreshed_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("period_facts") as batch:
        batch.drop_column("refreshed_at")
    op.drop_table("kpi_targets")
