"""customer_stats: the index by 12-month revenue carries the customer id next, so the list's default order
(revenue, then id) is read from it in order: page 1,000 of the ascending list at 1,000,000 customers walked and
sorted the 380,000 customers tied at zero (3.9 s)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 17:30:00
"""

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

OLD = ["revenue_12m", "became_customer_date", "last_order_date"]
NEW = ["revenue_12m", "customer_id", "became_customer_date", "last_order_date"]


def upgrade() -> None:
    op.drop_index("ix_customer_stats_revenue_dates", table_name="customer_stats")
    op.create_index("ix_customer_stats_revenue_dates", "customer_stats", NEW)


def downgrade() -> None:
    op.drop_index("ix_customer_stats_revenue_dates", table_name="customer_stats")
    op.create_index("ix_customer_stats_revenue_dates", "customer_stats", OLD)
