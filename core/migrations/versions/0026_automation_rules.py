"""automation rules, their firings and the in-app inbox (core/rules.py); the shipped SLA actions and the
closed loop's call-backs become rules 1-5

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 16:00:00
"""

import json
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

# frozen here as they shipped: (shipped key, name, trigger, threshold, actions)
SHIPPED = [
    ("sla_warning", "SLA warning: tell whom the policy names", "ticket_at_risk", None,
     [{"type": "task", "to": ["policy"], "due_days": 0}]),
    ("sla_violation", "SLA breach: tell whom the policy names and the account manager", "ticket_breached", None,
     [{"type": "task", "to": ["policy", "owner"], "due_days": 0}]),
    ("sla_success", "SLA met: tell whom the policy names (nobody by default)", "sla_met", None,
     [{"type": "task", "to": ["policy"], "due_days": 0}]),
    ("detractor", "NPS detractor: the account manager calls back within two days", "nps_detractor", 6.0,
     [{"type": "task", "to": ["owner"], "due_days": 2}]),
    ("low_csat", "Low CSAT: the account manager calls back within two days", "csat_low", 2.0,
     [{"type": "task", "to": ["owner"], "due_days": 2}]),
]


def upgrade() -> None:
    rules = op.create_table(
        "automation_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("conditions", sa.Text(), nullable=False),
        sa.Column("actions", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("shipped", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("valid_to", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_rules")),
        sa.UniqueConstraint("number", "version", name=op.f("uq_automation_rules_number_version")),
    )
    op.create_index("ix_automation_rules_trigger_valid", "automation_rules", ["trigger", "valid_to"])
    op.create_table(
        "rule_firings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("object_kind", sa.String(length=12), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("episode", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("done", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["rule_id"], ["automation_rules.id"], name=op.f("fk_rule_firings_rule_id_automation_rules")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_firings")),
        sa.UniqueConstraint("number", "object_kind", "object_id", "episode", name=op.f("uq_rule_firings_number_object_kind_object_id_episode")),
    )
    op.create_index("ix_rule_firings_number_at", "rule_firings", ["number", "at"])
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("object", sa.String(length=40), nullable=True),
        sa.Column("rule_number", sa.Integer(), nullable=True),
        sa.Column("read_at", sa.DateTime(), nullable=True),
        sa.Column("email_state", sa.String(length=8), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_notifications_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index("ix_notifications_user_read", "notifications", ["user_id", "read_at"])
    op.create_index("ix_notifications_email", "notifications", ["email_state"])
    now = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    op.bulk_insert(
        rules,
        [
            {
                "number": number,
                "version": 1,
                "name": name,
                "trigger": trigger,
                "threshold": threshold,
                "conditions": "{}",
                "actions": json.dumps(actions),
                "enabled": True,
                "shipped": key,
                "created_at": now,
                "created_by": "shipped",
            }
            for number, (key, name, trigger, threshold, actions) in enumerate(SHIPPED, start=1)
        ],
    )


def downgrade() -> None:
    op.drop_table("notifications")
    op.drop_table("rule_firings")
    op.drop_table("automation_rules")
