"""covering per-customer orders index

(customer_id, order_date, amount): per-customer statistics and repeat-buyer counts read only the index.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 16:21:36.112725
"""
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # create before drop: MariaDB keeps a foreign key's index until another one covers customer_id
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_customer_date_amount', ['customer_id', 'order_date', 'amount'], unique=False)
        batch_op.drop_index(batch_op.f('ix_orders_customer_date'))


def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orders_customer_date'), ['customer_id', 'order_date'], unique=False)
        batch_op.drop_index('ix_orders_customer_date_amount')
