"""ltv revenue in period facts

The summaries are marked stale, so the app (or `python -m core refresh`) rebuilds them with the new measure.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 16:14:03.200615
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('period_facts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ltv_revenue', sa.Numeric(precision=14, scale=2, asdecimal=False), nullable=False,
                                      server_default=sa.text('0')))
    app_meta = sa.table('app_meta', sa.column('key', sa.String))
    op.execute(app_meta.delete().where(app_meta.c.key == 'summaries_as_of'))


def downgrade() -> None:
    with op.batch_alter_table('period_facts', schema=None) as batch_op:
        batch_op.drop_column('ltv_revenue')
