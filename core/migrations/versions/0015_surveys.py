"""periodic surveys: a run over a segment and the customers asked, with their answers

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "survey_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("segment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("closes_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_survey_runs_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_runs")),
    )
    op.create_table(
        "survey_recipients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("score", sa.SmallInteger(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("nps_response_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_survey_recipients_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["nps_response_id"], ["nps_responses.id"], name=op.f("fk_survey_recipients_nps_response_id_nps_responses")
        ),
        sa.ForeignKeyConstraint(["run_id"], ["survey_runs.id"], name=op.f("fk_survey_recipients_run_id_survey_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_recipients")),
    )
    op.create_index("ix_survey_recipients_customer_id", "survey_recipients", ["customer_id"])
    op.create_index("ix_survey_recipients_run_customer", "survey_recipients", ["run_id", "customer_id"])


def downgrade() -> None:
    op.drop_table("survey_recipients")
    op.drop_table("survey_runs")
