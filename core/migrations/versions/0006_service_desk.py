"""service desk: sla policies, calendars, per-ticket results

SLA policies (versioned), business-hours calendars and holidays, per-ticket SLA results and fired
actions; tickets gain a team, a policy, workflow fields and a version for optimistic locking.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 18:41:21.539049
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sla_calendars',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('working_days', sa.String(length=20), nullable=False),
    sa.Column('intervals', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_calendars')),
    sa.UniqueConstraint('name', name=op.f('uq_sla_calendars_name'))
    )
    op.create_table('sla_holidays',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('calendar_id', sa.Integer(), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['calendar_id'], ['sla_calendars.id'], name=op.f('fk_sla_holidays_calendar_id_sla_calendars')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_holidays'))
    )
    with op.batch_alter_table('sla_holidays', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sla_holidays_calendar_id'), ['calendar_id'], unique=False)

    op.create_table('sla_policies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=True),
    sa.Column('priority', sa.String(length=16), nullable=True),
    sa.Column('category', sa.String(length=64), nullable=True),
    sa.Column('channel', sa.String(length=32), nullable=True),
    sa.Column('tier', sa.String(length=16), nullable=True),
    sa.Column('team', sa.String(length=64), nullable=True),
    sa.Column('calendar_id', sa.Integer(), nullable=True),
    sa.Column('first_response_minutes', sa.Float(), nullable=True),
    sa.Column('next_response_minutes', sa.Float(), nullable=True),
    sa.Column('accept_minutes', sa.Float(), nullable=True),
    sa.Column('analyse_minutes', sa.Float(), nullable=True),
    sa.Column('resolution_minutes', sa.Float(), nullable=True),
    sa.Column('feedback_minutes', sa.Float(), nullable=True),
    sa.Column('warn_share', sa.Float(), nullable=False),
    sa.Column('warn_offset_minutes', sa.Float(), nullable=True),
    sa.Column('on_warning', sa.String(length=16), nullable=False),
    sa.Column('on_violation', sa.String(length=16), nullable=False),
    sa.Column('on_success', sa.String(length=16), nullable=False),
    sa.Column('valid_from', sa.DateTime(), nullable=False),
    sa.Column('valid_to', sa.DateTime(), nullable=True),
    sa.Column('replaces_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['calendar_id'], ['sla_calendars.id'], name=op.f('fk_sla_policies_calendar_id_sla_calendars')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_policies'))
    )
    op.create_table('sla_firings',
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('metric', sa.String(length=16), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_sla_firings_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('ticket_id', 'metric', 'action', name=op.f('pk_sla_firings'))
    )
    op.create_table('ticket_sla',
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('metric', sa.String(length=16), nullable=False),
    sa.Column('target_minutes', sa.Float(), nullable=False),
    sa.Column('elapsed_minutes', sa.Float(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=True),
    sa.Column('warn_at', sa.DateTime(), nullable=True),
    sa.Column('completed_at', sa.DateTime(), nullable=True),
    sa.Column('breached_at', sa.DateTime(), nullable=True),
    sa.Column('known_at', sa.DateTime(), nullable=True),
    sa.Column('wait_minutes', sa.Float(), nullable=True),
    sa.Column('agent_minutes', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_sla_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('ticket_id', 'metric', name=op.f('pk_ticket_sla'))
    )
    with op.batch_alter_table('ticket_sla', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_sla_metric_known', ['metric', 'known_at', 'state'], unique=False)
        batch_op.create_index('ix_ticket_sla_metric_completed', ['metric', 'completed_at', 'elapsed_minutes'], unique=False)
        batch_op.create_index('ix_ticket_sla_state_due', ['state', 'due_at'], unique=False)

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ticket_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('source', sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f('ix_tasks_ticket_id'), ['ticket_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_tasks_ticket_id_tickets'), 'tickets', ['ticket_id'], ['id'])

    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('action', sa.String(length=32), nullable=True))

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('team', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('policy_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('findings', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('root_cause', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('feedback_comment', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('reopened', sa.Integer(), nullable=False, server_default=sa.text('0')))
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default=sa.text('0')))
        batch_op.create_index('ix_tickets_status_resolution_due', ['status', 'resolution_due'], unique=False)
        # the cockpit's SLA counts read due time, done time and priority from these indexes alone
        batch_op.drop_index('ix_tickets_kind_first_response_due')
        batch_op.create_index('ix_tickets_kind_first_response_due',
                              ['kind', 'first_response_due', 'first_response_at', 'priority', 'customer_id'], unique=False)
        batch_op.drop_index('ix_tickets_kind_resolution_due')
        batch_op.create_index('ix_tickets_kind_resolution_due',
                              ['kind', 'resolution_due', 'resolved_at', 'priority', 'customer_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_tickets_policy_id_sla_policies'), 'sla_policies', ['policy_id'], ['id'])

    with op.batch_alter_table('customer_stats', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_stats_name'), ['name'], unique=False)
        batch_op.drop_index('ix_customer_stats_revenue_12m')
        batch_op.create_index('ix_customer_stats_revenue_dates', ['revenue_12m', 'became_customer_date', 'last_order_date'],
                              unique=False)
        batch_op.create_index('ix_customer_stats_list_filters', ['tier', 'lifecycle_stage', 'region', 'industry', 'kind',
                                                                 'owner_id', 'latest_nps_score', 'last_contact_at',
                                                                 'revenue_12m', 'became_customer_date', 'last_order_date'],
                              unique=False)
    # events written before this revision: their action follows from the status they moved to
    events = sa.table('ticket_events', sa.column('action', sa.String), sa.column('to_status', sa.String))
    for status, action in (('new', 'created'), ('accepted', 'accept'), ('analysing', 'analyse'),
                           ('resolved', 'resolve'), ('closed', 'close')):
        op.execute(events.update().where(events.c.to_status == status).values(action=action))


def downgrade() -> None:
    with op.batch_alter_table('customer_stats', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_stats_list_filters')
        batch_op.drop_index(batch_op.f('ix_customer_stats_name'))
        batch_op.drop_index('ix_customer_stats_revenue_dates')
        batch_op.create_index('ix_customer_stats_revenue_12m', ['revenue_12m'], unique=False)
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_tickets_policy_id_sla_policies'), type_='foreignkey')
        batch_op.drop_index('ix_tickets_status_resolution_due')
        batch_op.drop_index('ix_tickets_kind_first_response_due')
        batch_op.create_index('ix_tickets_kind_first_response_due', ['kind', 'first_response_due'], unique=False)
        batch_op.drop_index('ix_tickets_kind_resolution_due')
        batch_op.create_index('ix_tickets_kind_resolution_due', ['kind', 'resolution_due'], unique=False)
        batch_op.drop_column('version')
        batch_op.drop_column('reopened')
        batch_op.drop_column('feedback_comment')
        batch_op.drop_column('root_cause')
        batch_op.drop_column('findings')
        batch_op.drop_column('policy_id')
        batch_op.drop_column('team')

    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.drop_column('action')

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_tasks_ticket_id_tickets'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_tasks_ticket_id'))
        batch_op.drop_column('source')
        batch_op.drop_column('ticket_id')

    op.drop_table('ticket_sla')
    op.drop_table('sla_firings')
    op.drop_table('sla_policies')
    op.drop_table('sla_holidays')
    op.drop_table('sla_calendars')
