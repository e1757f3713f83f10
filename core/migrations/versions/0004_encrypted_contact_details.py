"""encrypted contact details

phone/email become phone_enc/email_enc (wider) with keyed search hashes. Existing plaintext is kept in
place and encrypted by the app or CLI when they next open the store (they hold the keys; a migration
does not): core.store.protect_plaintext.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.alter_column('phone', new_column_name='phone_enc', existing_type=sa.String(length=64),
                              type_=sa.String(length=300), existing_nullable=True)
        batch_op.alter_column('email', new_column_name='email_enc', existing_type=sa.String(length=200),
                              type_=sa.String(length=400), existing_nullable=True)
        batch_op.add_column(sa.Column('phone_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('email_hash', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_customers_phone_hash'), ['phone_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_email_hash'), ['email_hash'], unique=False)


def downgrade() -> None:
    # the values stay encrypted: downgrading does not give plaintext back
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customers_email_hash'))
        batch_op.drop_index(batch_op.f('ix_customers_phone_hash'))
        batch_op.drop_column('email_hash')
        batch_op.drop_column('phone_hash')
        batch_op.alter_column('email_enc', new_column_name='email', existing_type=sa.String(length=400),
                              type_=sa.String(length=200), existing_nullable=True)
        batch_op.alter_column('phone_enc', new_column_name='phone', existing_type=sa.String(length=300),
                              type_=sa.String(length=64), existing_nullable=True)
