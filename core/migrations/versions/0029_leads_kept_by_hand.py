"""leads kept by hand (core/leads.py): a contacted stage and the times of each stage, the campaign, the
contact person (phone and e-mail encrypted, with keyed hashes), why a lead is invalid and whether the
screening rules found it, and the rules themselves (shipped on, with their terms)

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07 21:00:00
"""

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

TEST_WORDS = "test\ntesting\ndummy\nasdf\nxxx\n测试\n演示\n示例"
BLOCKED_DOMAINS = "mailinator.com\nyopmail.com\nguerrillamail.com\n10minutemail.com\ntest.com"


def upgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contacted_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("qualified_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("campaign_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("contact_name", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("phone_enc", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("email_enc", sa.String(length=400), nullable=True))
        batch_op.add_column(sa.Column("phone_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("email_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("email_domain", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("invalid_reason", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("screened", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("duplicate_of_lead_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("duplicate_of_customer_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_leads_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_leads_phone_hash"), ["phone_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_leads_email_hash"), ["email_hash"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_leads_campaign_id_campaigns"), "campaigns", ["campaign_id"], ["id"])
    # a qualified or converted lead of before was contacted and qualified; when is not known
    rules = op.create_table(
        "lead_screen_rules",
        sa.Column("rule", sa.String(length=24), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("rule", name=op.f("pk_lead_screen_rules")),
    )
    now = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    op.bulk_insert(
        rules,
        [
            {"rule": rule, "enabled": True, "terms": terms, "changed_by": "shipped", "changed_at": now}
            for rule, terms in (
                ("missing_contact", ""),
                ("duplicate", ""),
                ("test_data", TEST_WORDS),
                ("blocked_domain", BLOCKED_DOMAINS),
            )
        ],
    )


def downgrade() -> None:
    op.drop_table("lead_screen_rules")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_leads_campaign_id_campaigns"), type_="foreignkey")
        for name in ("campaign_id", "phone_hash", "email_hash"):
            batch_op.drop_index(batch_op.f(f"ix_leads_{name}"))
        for name in (
            "duplicate_of_customer_id",
            "duplicate_of_lead_id",
            "screened",
            "invalid_reason",
            "email_domain",
            "email_hash",
            "phone_hash",
            "email_enc",
            "phone_enc",
            "contact_name",
            "campaign_id",
            "qualified_at",
            "contacted_at",
        ):
            batch_op.drop_column(name)
