"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 15:46:23.309901
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('app_meta',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_app_meta'))
    )
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('object', sa.String(length=200), nullable=True),
    sa.Column('details', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_username'), ['username'], unique=False)

    op.create_table('period_facts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grain', sa.String(length=1), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('region', sa.String(length=64), nullable=True),
    sa.Column('industry', sa.String(length=64), nullable=True),
    sa.Column('kind', sa.String(length=8), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('active_start', sa.Integer(), nullable=False),
    sa.Column('active_end', sa.Integer(), nullable=False),
    sa.Column('new_customers', sa.Integer(), nullable=False),
    sa.Column('churned_customers', sa.Integer(), nullable=False),
    sa.Column('churned_lifetime_revenue', sa.Numeric(precision=14, scale=2, asdecimal=False), nullable=False),
    sa.Column('revenue', sa.Numeric(precision=14, scale=2, asdecimal=False), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('buyers', sa.Integer(), nullable=False),
    sa.Column('repeat_buyers', sa.Integer(), nullable=False),
    sa.Column('leads_created', sa.Integer(), nullable=False),
    sa.Column('leads_converted', sa.Integer(), nullable=False),
    sa.Column('leads_disqualified', sa.Integer(), nullable=False),
    sa.Column('nps_responses', sa.Integer(), nullable=False),
    sa.Column('nps_promoters', sa.Integer(), nullable=False),
    sa.Column('nps_detractors', sa.Integer(), nullable=False),
    sa.Column('csat_ratings', sa.Integer(), nullable=False),
    sa.Column('csat_satisfied', sa.Integer(), nullable=False),
    sa.Column('complaints_created', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_period_facts'))
    )
    with op.batch_alter_table('period_facts', schema=None) as batch_op:
        batch_op.create_index('ix_period_facts_key', ['grain', 'period_start', 'region', 'industry', 'kind', 'owner_id'], unique=False)

    op.create_table('segment_facts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region', sa.String(length=64), nullable=True),
    sa.Column('industry', sa.String(length=64), nullable=True),
    sa.Column('kind', sa.String(length=8), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('tier', sa.String(length=16), nullable=True),
    sa.Column('lifecycle_stage', sa.String(length=16), nullable=False),
    sa.Column('customers', sa.Integer(), nullable=False),
    sa.Column('revenue_12m', sa.Numeric(precision=14, scale=2, asdecimal=False), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_segment_facts'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=120), nullable=False),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('team', sa.String(length=64), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('customers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('industry', sa.String(length=64), nullable=False),
    sa.Column('company_size', sa.String(length=32), nullable=True),
    sa.Column('region', sa.String(length=64), nullable=False),
    sa.Column('city', sa.String(length=64), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('acquisition_channel', sa.String(length=32), nullable=False),
    sa.Column('first_contact_date', sa.Date(), nullable=False),
    sa.Column('became_customer_date', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('churned_date', sa.Date(), nullable=True),
    sa.Column('phone', sa.String(length=64), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('tags', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_customers_owner_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers')),
    sa.UniqueConstraint('code', name=op.f('uq_customers_code'))
    )
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customers_became_customer_date'), ['became_customer_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_churned_date'), ['churned_date'], unique=False)
        batch_op.create_index('ix_customers_dims', ['region', 'industry', 'kind', 'owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_owner_id'), ['owner_id'], unique=False)

    op.create_table('customer_stats',
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('orders_total', sa.Integer(), nullable=False),
    sa.Column('revenue_total', sa.Numeric(precision=14, scale=2, asdecimal=False), nullable=False),
    sa.Column('first_order_date', sa.Date(), nullable=True),
    sa.Column('last_order_date', sa.Date(), nullable=True),
    sa.Column('orders_12m', sa.Integer(), nullable=False),
    sa.Column('revenue_12m', sa.Numeric(precision=14, scale=2, asdecimal=False), nullable=False),
    sa.Column('revenue_prev_12m', sa.Numeric(precision=14, scale=2, asdecimal=False), nullable=False),
    sa.Column('orders_last_90', sa.Integer(), nullable=False),
    sa.Column('orders_prev_90', sa.Integer(), nullable=False),
    sa.Column('median_gap_days', sa.Float(), nullable=True),
    sa.Column('tier', sa.String(length=16), nullable=True),
    sa.Column('lifecycle_stage', sa.String(length=16), nullable=False),
    sa.Column('churn_reason', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_customer_stats_customer_id_customers')),
    sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_customer_stats'))
    )
    with op.batch_alter_table('customer_stats', schema=None) as batch_op:
        batch_op.create_index('ix_customer_stats_tier_revenue', ['tier', 'revenue_12m'], unique=False)

    op.create_table('interactions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('direction', sa.String(length=16), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('duration_minutes', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_interactions_customer_id_customers')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_interactions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interactions'))
    )
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.create_index('ix_interactions_customer_occurred', ['customer_id', 'occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_interactions_occurred_at'), ['occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_interactions_user_id'), ['user_id'], unique=False)

    op.create_table('leads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_name', sa.String(length=200), nullable=False),
    sa.Column('source_channel', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('industry', sa.String(length=64), nullable=False),
    sa.Column('region', sa.String(length=64), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('converted_customer_id', sa.Integer(), nullable=True),
    sa.Column('converted_at', sa.DateTime(), nullable=True),
    sa.Column('disqualified_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['converted_customer_id'], ['customers.id'], name=op.f('fk_leads_converted_customer_id_customers')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_leads_owner_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_leads'))
    )
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_leads_converted_customer_id'), ['converted_customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_leads_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_leads_owner_id'), ['owner_id'], unique=False)

    op.create_table('nps_responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.SmallInteger(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('responded_at', sa.DateTime(), nullable=False),
    sa.Column('touchpoint', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_nps_responses_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nps_responses'))
    )
    with op.batch_alter_table('nps_responses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_nps_responses_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_nps_responses_responded_at'), ['responded_at'], unique=False)

    op.create_table('orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('order_date', sa.Date(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2, asdecimal=False), nullable=False),
    sa.Column('product_category', sa.String(length=64), nullable=False),
    sa.Column('sales_channel', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_orders_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_customer_date', ['customer_id', 'order_date'], unique=False)
        batch_op.create_index('ix_orders_date_customer_amount', ['order_date', 'customer_id', 'amount'], unique=False)

    op.create_table('tickets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('priority', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('first_response_at', sa.DateTime(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('first_response_due', sa.DateTime(), nullable=False),
    sa.Column('resolution_due', sa.DateTime(), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('csat', sa.SmallInteger(), nullable=True),
    sa.Column('feedback_at', sa.DateTime(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_tickets_assignee_id_users')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_tickets_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tickets'))
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tickets_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_feedback_at'), ['feedback_at'], unique=False)
        batch_op.create_index('ix_tickets_kind_closed_at', ['kind', 'closed_at'], unique=False)
        batch_op.create_index('ix_tickets_kind_first_response_due', ['kind', 'first_response_due'], unique=False)
        batch_op.create_index('ix_tickets_kind_resolution_due', ['kind', 'resolution_due'], unique=False)

    op.create_table('ticket_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_events_ticket_id_tickets')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ticket_events_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_events'))
    )
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_events_at'), ['at'], unique=False)
        batch_op.create_index('ix_ticket_events_ticket_at', ['ticket_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ticket_events_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    # dropping a table drops its indexes (MariaDB refuses to drop a foreign key's index on its own)
    op.drop_table('ticket_events')
    op.drop_table('tickets')
    op.drop_table('orders')
    op.drop_table('nps_responses')
    op.drop_table('leads')
    op.drop_table('interactions')
    op.drop_table('customer_stats')
    op.drop_table('customers')
    op.drop_table('users')
    op.drop_table('segment_facts')
    op.drop_table('period_facts')
    op.drop_table('audit_log')
    op.drop_table('app_meta')
