"""tracked case work: the state of each tracked child, and room for case phases and refs

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 09:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tracked_cases') as batch:
        batch.add_column(sa.Column('alternative_provision', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column('status', sa.String(length=20), nullable=False, server_default='selected'))
        batch.add_column(sa.Column('practitioner_key', sa.String(length=80), nullable=True))
        batch.add_column(sa.Column('other_practitioner_keys', sa.JSON(), nullable=False, server_default='[]'))
        batch.add_column(sa.Column('settings', sa.JSON(), nullable=False, server_default='[]'))
    with op.batch_alter_table('register_items') as batch:
        batch.alter_column('ref', existing_type=sa.String(length=40), type_=sa.String(length=120))
        batch.alter_column('phase', existing_type=sa.String(length=20), type_=sa.String(length=100))
    with op.batch_alter_table('phase_runs') as batch:
        batch.alter_column('phase', existing_type=sa.String(length=40), type_=sa.String(length=100))


def downgrade() -> None:
    with op.batch_alter_table('phase_runs') as batch:
        batch.alter_column('phase', existing_type=sa.String(length=100), type_=sa.String(length=40))
    with op.batch_alter_table('register_items') as batch:
        batch.alter_column('phase', existing_type=sa.String(length=100), type_=sa.String(length=20))
        batch.alter_column('ref', existing_type=sa.String(length=120), type_=sa.String(length=40))
    with op.batch_alter_table('tracked_cases') as batch:
        for column in ('settings', 'other_practitioner_keys', 'practitioner_key', 'status', 'alternative_provision'):
            batch.drop_column(column)
