"""tasks, form submissions, and the customer list's columns in customer_stats

customer_stats gains the list columns (code, name, dimensions, latest activity) so the customer list
reads one table. The summaries are marked stale, so the app (or `python -m core refresh`) rebuilds them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 10:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

LIST_COLUMNS = (
    ('code', sa.String(length=32)), ('name', sa.String(length=200)), ('region', sa.String(length=64)),
    ('industry', sa.String(length=64)), ('kind', sa.String(length=8)), ('owner_id', sa.Integer()),
    ('status', sa.String(length=16)), ('became_customer_date', sa.Date()), ('last_contact_at', sa.DateTime()),
    ('latest_nps_score', sa.SmallInteger()), ('latest_nps_at', sa.DateTime()),
)


def upgrade() -> None:
    op.create_table(
        'tasks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=True),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('due_date', sa.Date(), nullable=False),
        sa.Column('interaction_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('done_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_tasks_created_by_users')),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_tasks_customer_id_customers')),
        sa.ForeignKeyConstraint(['interaction_id'], ['interactions.id'],
                                name=op.f('fk_tasks_interaction_id_interactions')),
        sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_tasks_owner_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_tasks')),
    )
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tasks_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_tasks_owner_done_due', ['owner_id', 'done_at', 'due_date'], unique=False)
    op.create_table(
        'form_submissions',
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('form', sa.String(length=32), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=True),
        sa.Column('object', sa.String(length=64), nullable=True),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('token', name=op.f('pk_form_submissions')),
    )
    with op.batch_alter_table('customer_stats', schema=None) as batch_op:
        for name, type_ in LIST_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
        batch_op.add_column(sa.Column('open_tickets', sa.Integer(), nullable=False, server_default=sa.text('0')))
        batch_op.create_index(batch_op.f('ix_customer_stats_code'), ['code'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_stats_last_contact_at'), ['last_contact_at'], unique=False)
        batch_op.create_index('ix_customer_stats_revenue_12m', ['revenue_12m'], unique=False)
        batch_op.create_index('ix_customer_stats_owner_revenue', ['owner_id', 'revenue_12m'], unique=False)
    app_meta = sa.table('app_meta', sa.column('key', sa.String))
    op.execute(app_meta.delete().where(app_meta.c.key == 'summaries_as_of'))


def downgrade() -> None:
    with op.batch_alter_table('customer_stats', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_stats_owner_revenue')
        batch_op.drop_index('ix_customer_stats_revenue_12m')
        batch_op.drop_index(batch_op.f('ix_customer_stats_last_contact_at'))
        batch_op.drop_index(batch_op.f('ix_customer_stats_code'))
        batch_op.drop_column('open_tickets')
        for name, _ in reversed(LIST_COLUMNS):
            batch_op.drop_column(name)
    op.drop_table('form_submissions')
    op.drop_table('tasks')  # its indexes go with it (MariaDB refuses to drop an index a foreign key uses)
